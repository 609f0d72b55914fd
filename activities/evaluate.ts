import { openStore } from '../store';
import { Context } from '@temporalio/activity';
import { cachedStage, summaryOf } from '../pipeline/cached';
import { scoreEpisodes, scoreOod, startEpisodes, stepEpisodes } from '../pipeline/episodes';
import { scoreHeldoutStates, selectHeldoutStates } from '../pipeline/turn-eval';
import { CampaignConfig } from '../core/config';
import type { EpisodeRunner } from '../tasks/episode-runner';
import type { StageInput } from './types';
import { nonRetryableOnBadInput, withHeartbeats } from './heartbeat';
import { EpisodeConcurrency, assertSettings } from './settings';

export interface StartEpisodesInput extends StageInput {
  heldout: string;
  limit: number;
  out: { episodes: string; prompts: string };
}

export interface StepEpisodesInput extends StageInput {
  episodes: string;
  samples: string;
  concurrency: number;
  out: { episodes: string; prompts: string };
}

export interface ScoreEpisodesInput extends StageInput {
  episodes: string;
  concurrency: number;
}

export interface ScoreOodInput extends StageInput {
  items: string;
  samples: string;
  /** Where the per-item rows go (absent in campaigns recorded before they were kept). */
  out?: string;
}

export interface SelectHeldoutStatesInput extends StageInput {
  heldout: string;
  heldoutTurns: number;
  out: { turns: string; prompts: string };
}

export interface ScoreHeldoutStatesInput extends StageInput {
  turns: string;
  greedy: string;
  sampled: string;
  turnSamples: number;
  out: string;
}

const HeldoutTurnsSetting = CampaignConfig.shape.evaluate.pick({ heldoutTurns: true });
const TurnSamplesSetting = CampaignConfig.shape.evaluate.pick({ turnSamples: true });

export function createEvaluateActivities(runner: EpisodeRunner) {
  return {
    async startEpisodes(input: StartEpisodesInput) {
      const store = openStore(input.store);
      return cachedStage(store, summaryOf(input.out.episodes), () => startEpisodes(store, input.heldout, input.limit, input.out));
    },
    async stepEpisodes(input: StepEpisodesInput) {
      assertSettings('stepEpisodes input', EpisodeConcurrency, input);
      const store = openStore(input.store);
      return cachedStage(store, summaryOf(input.out.episodes), () =>
        withHeartbeats((progress) =>
          stepEpisodes(store, runner, input, input.out, (done) => progress({ executed: done }), Context.current().cancellationSignal),
        ),
      );
    },
    async scoreEpisodes(input: ScoreEpisodesInput) {
      assertSettings('scoreEpisodes input', EpisodeConcurrency, input);
      const store = openStore(input.store);
      return cachedStage(store, summaryOf(`${input.episodes}.score`), () =>
        withHeartbeats(() => scoreEpisodes(store, runner, input.episodes, input.concurrency, Context.current().cancellationSignal)),
      );
    },
    async selectHeldoutStates(input: SelectHeldoutStatesInput) {
      assertSettings('selectHeldoutStates input', HeldoutTurnsSetting, input);
      const store = openStore(input.store);
      return nonRetryableOnBadInput(() =>
        cachedStage(store, summaryOf(input.out.turns), () => selectHeldoutStates(store, input.heldout, input.heldoutTurns, input.out)),
      );
    },
    async scoreHeldoutStates(input: ScoreHeldoutStatesInput) {
      assertSettings('scoreHeldoutStates input', TurnSamplesSetting, input);
      const store = openStore(input.store);
      return cachedStage(store, summaryOf(input.out), () => scoreHeldoutStates(store, { ...input, k: input.turnSamples }));
    },
    async scoreOod(input: ScoreOodInput) {
      return scoreOod(openStore(input.store), input.items, input.samples, input.out);
    },
  };
}
