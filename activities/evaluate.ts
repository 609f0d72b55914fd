import { openStore } from '../store';
import { cachedStage, summaryOf } from '../pipeline/cached';
import { scoreEpisodes, scoreOod, startEpisodes, stepEpisodes } from '../pipeline/episodes';
import type { EpisodeRunner } from '../tasks/episode-runner';
import type { StageInput } from './types';
import { withHeartbeats } from './heartbeat';
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
}

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
        withHeartbeats((progress) => stepEpisodes(store, runner, input, input.out, (done) => progress({ executed: done }))),
      );
    },
    async scoreEpisodes(input: ScoreEpisodesInput) {
      assertSettings('scoreEpisodes input', EpisodeConcurrency, input);
      const store = openStore(input.store);
      return cachedStage(store, summaryOf(`${input.episodes}.score`), () =>
        withHeartbeats(() => scoreEpisodes(store, runner, input.episodes, input.concurrency)),
      );
    },
    async scoreOod(input: ScoreOodInput) {
      return scoreOod(openStore(input.store), input.items, input.samples);
    },
  };
}
