// The baselines' activities: training turns without profiling (random-turns ablation, SFT), SFT's validation split,
// update and validation loss, and end-to-end RL's training episodes, their final-check rewards and the GRPO update
// over their turns.
import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { openStore } from '../store';
import { cachedStage, summaryOf } from '../pipeline/cached';
import { campaignKeys } from '../pipeline/keys';
import { scoreRollouts, selectAllTurns, startTrainingEpisodes } from '../pipeline/baselines';
import type { EpisodeRunner } from '../tasks/episode-runner';
import type { EngineFor } from '../pipeline/generate';
import { grpoUpdateOnEpisodes, sftUpdateOnTurns, type EpisodeUpdateOptions, type SftUpdateOptions } from '../pipeline/update';
import type { StageInput } from './types';
import type { UpdateResult } from './update';
import { nonRetryableOnBadInput, withHeartbeats } from './heartbeat';
import { GrpoHyper, SftHyper, SftTrainConfig } from '../core/hyper';
import { EpisodeConcurrency, TrainingEpisodeCounts, assertSettings } from './settings';
import { splitByTrajectory, validationLoss, type SftSplit, type ValidationLoss } from '../pipeline/sft';

const shardTurnKeys = (campaignId: string, shards: number) =>
  Array.from({ length: shards }, (_, i) => campaignKeys(campaignId).shardTurns(i));

export interface SelectTurnsInput extends StageInput {
  shards: number;
  out: string;
}

export interface StartTrainingEpisodesInput extends StageInput {
  shards: number;
  tasks: number;
  group: number;
  seed: number;
  out: { episodes: string; prompts: string };
}

export interface ScoreRolloutsInput extends StageInput {
  episodes: string;
  concurrency: number;
  out: string;
}

export interface SftUpdateInput extends StageInput, SftUpdateOptions {}

export interface SplitSftTurnsInput extends StageInput {
  turns: string;
  valFraction: number;
  seed: number;
  out: { train: string; val: string };
}

export interface SftValLossInput extends StageInput {
  checkpoint: string;
  /** The validation turns. */
  turns: string;
  out: string;
}

export interface EpisodeUpdateInput extends StageInput, EpisodeUpdateOptions {}

export function createBaselineCpuActivities(runner: EpisodeRunner) {
  return {
    async selectTurns(input: SelectTurnsInput) {
      const store = openStore(input.store);
      return cachedStage(store, summaryOf(input.out), () =>
        selectAllTurns(store, shardTurnKeys(input.campaignId, input.shards), input.out),
      );
    },
    /** SFT: the training turns split by trajectory into training and validation turns. */
    async splitSftTurns(input: SplitSftTurnsInput): Promise<SftSplit> {
      assertSettings('splitSftTurns input', z.object({ valFraction: SftTrainConfig.shape.valFraction }), input);
      const store = openStore(input.store);
      return cachedStage(store, summaryOf(input.out.val), () =>
        splitByTrajectory(store, input.turns, { valFraction: input.valFraction, seed: input.seed }, input.out),
      );
    },
    async startTrainingEpisodes(input: StartTrainingEpisodesInput) {
      assertSettings('startTrainingEpisodes input', TrainingEpisodeCounts, input);
      const store = openStore(input.store);
      return nonRetryableOnBadInput(() =>
        cachedStage(store, summaryOf(input.out.episodes), () =>
          startTrainingEpisodes(store, shardTurnKeys(input.campaignId, input.shards), input, input.out),
        ),
      );
    },
    async scoreRollouts(input: ScoreRolloutsInput) {
      assertSettings('scoreRollouts input', EpisodeConcurrency, input);
      const store = openStore(input.store);
      return cachedStage(store, summaryOf(input.out), () => withHeartbeats(() => scoreRollouts(store, runner, input)));
    },
  };
}

export function createBaselineGpuActivities(engineFor: EngineFor) {
  return {
    /** GPU: one SFT step on the expert actions of a batch of turns; writes exactly one checkpoint. */
    async sftUpdate(input: SftUpdateInput): Promise<UpdateResult> {
      assertSettings('sftUpdate input: hp', SftHyper, input.hp);
      const store = openStore(input.store);
      const engine = engineFor(input.store);
      return withHeartbeats(() => sftUpdateOnTurns(store, engine, input, Context.current().cancellationSignal));
    },
    /** GPU: SFT's validation loss of a checkpoint (mean per-token NLL of the validation turns' expert actions). */
    async sftValLoss(input: SftValLossInput): Promise<ValidationLoss> {
      const store = openStore(input.store);
      const engine = engineFor(input.store);
      return cachedStage(store, input.out, () => withHeartbeats(() => validationLoss(store, engine, input)));
    },
    /** GPU: one GRPO step over every turn of a batch of scored episodes; writes exactly one checkpoint. */
    async episodeUpdate(input: EpisodeUpdateInput): Promise<UpdateResult> {
      assertSettings('episodeUpdate input: hp', GrpoHyper, input.hp);
      const store = openStore(input.store);
      const engine = engineFor(input.store);
      return withHeartbeats(() => grpoUpdateOnEpisodes(store, engine, input, Context.current().cancellationSignal));
    },
  };
}
