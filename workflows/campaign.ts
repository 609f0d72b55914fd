// The PivotRL campaign, read top to bottom: ingest, evaluate pi0, profile every turn, keep the pivots,
// run GRPO on them, evaluate the result. Deterministic workflow code: it holds keys and counts, never data.
import {
  ApplicationFailure,
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { CpuActivities, GpuActivities } from '../activities';
import type { CampaignConfig } from '../core/config';
import type { VerifyResult } from '../activities/types';
import type { UpdateResult } from '../activities/update';
import type { PivotSelection } from '../pipeline/profile';
import type { EpisodeScore, OodScore } from '../pipeline/episodes';
import { campaignKeys } from '../pipeline/keys';
import { seedOf } from '../core/rng';
import { renderDetails } from './details';
import { PivotCampaign, PivotInDomainAcc, PivotIteration, PivotOodAcc, PivotRate, PivotRewardPct, PivotStage } from './search-attributes';

export interface CampaignInput {
  campaignId: string;
  config: CampaignConfig;
}

export type Stage = 'ingest' | 'evaluate-base' | 'profile' | 'update' | 'evaluate-final' | 'done' | 'stopped';

export interface Evaluation {
  checkpoint: string;
  inDomain: EpisodeScore;
  ood: OodScore;
}

export interface StepRecord {
  step: number;
  batchReward: number;
  zeroVarianceGroups: number;
  masked: number;
  update: UpdateResult['metrics'];
  checkpoint: string;
  hash: string;
}

export interface CampaignProgress {
  campaignId: string;
  stage: Stage;
  step: number;
  steps: number;
  paused: boolean;
  candidates: number;
  badRecords: number;
  pivots: PivotSelection | null;
  rolloutTurns: { profiling: number; training: number; evaluation: number };
  history: StepRecord[];
  before: Evaluation | null;
  after: Evaluation | null;
  hyper: Hyper;
  finalCheckpoint: string | null;
  finalHash: string | null;
  backend: string | null;
}

export type CampaignResult = CampaignProgress;

/** Hyper-parameters that may change mid-run (validated Update). */
export interface Hyper {
  lr: number;
  clipEps: number;
  klBeta: number;
  temperature: number;
}

export const progressQuery = defineQuery<CampaignProgress>('progress');
export const pauseUpdate = defineUpdate<boolean, [boolean]>('setPaused');
export const stopUpdate = defineUpdate<void, []>('stop');
export const hyperUpdate = defineUpdate<Hyper, [Partial<Hyper>]>('setHyperparameters');

export function validateHyper(change: Partial<Hyper>): void {
  const bad = (field: string, why: string) => {
    throw new Error(`setHyperparameters: ${field} ${why}`);
  };
  for (const key of Object.keys(change))
    if (!['lr', 'clipEps', 'klBeta', 'temperature'].includes(key)) bad(key, 'is not a hyper-parameter that may change mid-run');
  if (change.lr !== undefined && !(change.lr > 0 && change.lr <= 1)) bad('lr', 'must be in (0, 1]');
  if (change.clipEps !== undefined && !(change.clipEps > 0 && change.clipEps <= 1)) bad('clipEps', 'must be in (0, 1]');
  if (change.klBeta !== undefined && !(change.klBeta >= 0)) bad('klBeta', 'must be >= 0');
  if (change.temperature !== undefined && !(change.temperature > 0 && change.temperature <= 5)) bad('temperature', 'must be in (0, 5]');
}

const NON_RETRYABLE = ['BadInput'];

export async function pivotCampaign({ campaignId, config }: CampaignInput): Promise<CampaignResult> {
  const keys = campaignKeys(campaignId);
  const cpu = proxyActivities<CpuActivities>({
    taskQueue: config.temporal.cpuQueue,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE },
  });
  const gpu = proxyActivities<GpuActivities>({
    taskQueue: config.temporal.gpuQueue,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE },
  });
  const stage = { store: config.store, campaignId };
  const sampling = (n: number, seed: number, temperature: number) => ({
    n,
    temperature,
    topP: config.policy.topP,
    maxTokens: config.policy.maxActionTokens,
    seed,
  });

  const progress: CampaignProgress = {
    campaignId,
    stage: 'ingest',
    step: 0,
    steps: config.train.steps,
    paused: false,
    candidates: 0,
    badRecords: 0,
    pivots: null,
    rolloutTurns: { profiling: 0, training: 0, evaluation: 0 },
    history: [],
    before: null,
    after: null,
    hyper: { lr: config.train.lr, clipEps: config.train.clipEps, klBeta: config.train.klBeta, temperature: config.policy.temperature },
    finalCheckpoint: null,
    finalHash: null,
    backend: null,
  };
  let stopRequested = false;
  setHandler(progressQuery, () => progress);
  setHandler(pauseUpdate, (paused) => (progress.paused = paused));
  setHandler(stopUpdate, () => void (stopRequested = true));
  setHandler(
    hyperUpdate,
    (change) => {
      progress.hyper = { ...progress.hyper, ...change };
      return progress.hyper;
    },
    { validator: validateHyper },
  );

  const enter = (stageName: Stage) => {
    progress.stage = stageName;
    report();
  };
  const report = () => {
    upsertSearchAttributes([
      { key: PivotCampaign, value: campaignId },
      { key: PivotStage, value: progress.stage },
      { key: PivotIteration, value: progress.step },
      ...(progress.pivots ? [{ key: PivotRate, value: progress.pivots.summary.pivotRate }] : []),
      ...(progress.history.length
        ? [{ key: PivotRewardPct, value: Math.round(100 * progress.history[progress.history.length - 1].batchReward) }]
        : []),
      ...((progress.after ?? progress.before)
        ? [
            { key: PivotInDomainAcc, value: (progress.after ?? progress.before)!.inDomain.successRate },
            { key: PivotOodAcc, value: (progress.after ?? progress.before)!.ood.accuracy },
          ]
        : []),
    ]);
    setCurrentDetails(renderDetails(progress));
  };

  /** In-domain episodes on held-out tasks (policy acting in the sandbox) and the out-of-domain suite. */
  const evaluate = async (
    label: string,
    checkpoint: string,
    heldout: string,
    ood: { items: string; prompts: string },
  ): Promise<Evaluation> => {
    const k = keys.evaluation(label);
    let round = await cpu.startEpisodes({
      ...stage,
      heldout,
      limit: config.evaluate.heldoutTasks,
      out: { episodes: k.episodes(0), prompts: k.prompts(0) },
    });
    for (let t = 0; round.active > 0 && t < 32; t++) {
      const gen = await gpu.generate({
        ...stage,
        checkpoint,
        prompts: round.prompts,
        out: k.samples(t),
        sampling: sampling(1, seedOf(config.seed, label, t), 0),
      });
      progress.rolloutTurns.evaluation += gen.samples;
      round = await cpu.stepEpisodes({
        ...stage,
        episodes: round.episodes,
        samples: gen.out,
        concurrency: config.verify.concurrency,
        out: { episodes: k.episodes(t + 1), prompts: k.prompts(t + 1) },
      });
    }
    const inDomain = await cpu.scoreEpisodes({ ...stage, episodes: round.episodes, concurrency: config.verify.concurrency });
    const oodGen = await gpu.generate({
      ...stage,
      checkpoint,
      prompts: ood.prompts,
      out: k.oodSamples,
      sampling: sampling(1, seedOf(config.seed, label, 'ood'), 0),
    });
    const oodScore = await cpu.scoreOod({ ...stage, items: ood.items, samples: oodGen.out });
    return { checkpoint, inDomain, ood: oodScore };
  };

  const verifyInput = (turns: string, samples: string, out: string) => ({
    ...stage,
    turns,
    samples,
    out,
    verifier: config.verifier,
    concurrency: config.verify.concurrency,
    actionTimeoutMs: config.verify.actionTimeoutMs,
  });

  // 1. Ingest: trajectories -> candidate turns in shards; pi0 imported as checkpoint 0.
  enter('ingest');
  const ingest = await cpu.ingest({
    ...stage,
    trajectories: config.data.trajectories,
    heldoutTasks: config.data.heldoutTasks,
    ood: config.data.ood,
    shardSize: config.data.shardSize,
    heldoutLimit: config.evaluate.heldoutTasks,
    oodLimit: config.evaluate.oodItems,
    baseCheckpoint: config.policy.base,
  });
  progress.candidates = ingest.turns;
  progress.badRecords = ingest.badRecords;
  const oodRefs = { items: ingest.ood, prompts: ingest.oodPrompts };

  // 2. The base model's accuracy, for the before/after comparison.
  enter('evaluate-base');
  progress.before = await evaluate('base', ingest.baseCheckpoint, ingest.heldout, oodRefs);

  // 3. Offline profiling: K samples per candidate from the frozen pi0, verified; keep the pivots.
  enter('profile');
  const profiled = [];
  for (const [i, shard] of ingest.shards.entries()) {
    const gen = await gpu.generate({
      ...stage,
      checkpoint: ingest.baseCheckpoint,
      prompts: shard.prompts,
      out: keys.profileSamples(i),
      sampling: sampling(config.profile.k, seedOf(config.seed, 'profile', i), progress.hyper.temperature),
    });
    progress.backend = gen.backend;
    progress.rolloutTurns.profiling += gen.samples;
    await cpu.verify(verifyInput(shard.turns, gen.out, keys.profileVerdicts(i)));
    profiled.push({ turns: shard.turns, verdicts: keys.profileVerdicts(i) });
    report();
  }
  progress.pivots = await cpu.selectPivots({
    ...stage,
    shards: profiled,
    lambdaDiff: config.profile.lambdaDiff,
    out: { profiles: keys.profiles, pivots: keys.pivots },
  });
  report();

  // 4. GRPO on pivots only: B states, G single-turn samples each, verify, one optimiser step.
  enter('update');
  let checkpoint = ingest.baseCheckpoint;
  if (progress.pivots.summary.pivots === 0 && config.train.steps > 0) {
    throw ApplicationFailure.nonRetryable('profiling found no pivots: every candidate was all-0 or all-1; nothing to train on');
  }
  for (let step = 1; step <= config.train.steps && !stopRequested; step++) {
    await condition(() => !progress.paused || stopRequested);
    if (stopRequested) break;
    const k = keys.step(step);
    const batch = await cpu.drawBatch({
      ...stage,
      pivots: keys.pivots,
      count: config.train.batchPivots,
      seed: seedOf(config.seed, 'batch', step),
      out: { turns: k.turns, prompts: k.prompts },
    });
    const gen = await gpu.generate({
      ...stage,
      checkpoint,
      prompts: batch.prompts,
      out: k.samples,
      sampling: sampling(config.train.groupSize, seedOf(config.seed, 'rollout', step), progress.hyper.temperature),
    });
    progress.rolloutTurns.training += gen.samples;
    const verdicts: VerifyResult = await cpu.verify(verifyInput(k.turns, k.samples, k.verdicts));
    const update = await gpu.update({
      ...stage,
      step,
      checkpoint,
      reference: progress.hyper.klBeta > 0 ? ingest.baseCheckpoint : undefined,
      batch: { turns: k.turns, samples: k.samples, verdicts: k.verdicts },
      hp: {
        lr: progress.hyper.lr,
        clipEps: progress.hyper.clipEps,
        beta: progress.hyper.klBeta,
        gradClip: config.train.maxGradNorm,
        weightDecay: config.train.weightDecay,
      },
      leaveOneOut: config.train.leaveOneOut,
      seed: seedOf(config.seed, 'update', step),
      out: keys.checkpoint(step),
    });
    checkpoint = update.checkpoint;
    progress.step = step;
    progress.history.push({
      step,
      batchReward: verdicts.meanReward,
      zeroVarianceGroups: verdicts.zeroVarianceGroups,
      masked: verdicts.masked,
      update: update.metrics,
      checkpoint: update.checkpoint,
      hash: update.hash,
    });
    progress.finalHash = update.hash;
    report();
  }
  progress.finalCheckpoint = checkpoint;

  // 5. The trained policy against the base model, in-domain and out-of-domain.
  enter('evaluate-final');
  progress.after = await evaluate(`step-${progress.step}`, checkpoint, ingest.heldout, oodRefs);
  enter(stopRequested ? 'stopped' : 'done');
  return progress;
}
