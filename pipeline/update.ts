// The update stages: one optimiser step that writes exactly one checkpoint, GRPO on a verified pivot batch
// (PivotRL, the random-turns ablation), GRPO over every turn of scored episodes (end-to-end RL), or SFT on expert
// actions. The checkpoint key is fixed per step, so a retried step finds or reproduces the same checkpoint.
// Knows nothing of Temporal.
import { throwIfAborted } from '../core/abort';
import { checkpointHash } from '../policy/checkpoint';
import type { GrpoHyper, GrpoItem, PolicyEngine, SftHyper, TrainMetrics } from '../policy/engine';
import type { SamplerConfig } from '../policy/schemas';
import type { ArtefactStore } from '../store';
import { episodeGrpoItems, sftExamples } from './baselines';
import { cachedStage } from './cached';
import { buildGrpoItems } from './grpo-batch';

export interface UpdateOptions {
  step: number;
  checkpoint: string;
  reference?: string;
  batch: { turns: string; samples: string; verdicts: string };
  hp: GrpoHyper;
  leaveOneOut: boolean;
  /** The step's checkpoint key: fixed per step, so a retried step finds or reproduces the same checkpoint. */
  out: string;
  /** The campaign's sampler: a served one (no weights here) cannot be trained. */
  sampler?: SamplerConfig;
}

export interface EpisodeUpdateOptions extends Omit<UpdateOptions, 'batch'> {
  batch: { rounds: { prompts: string; samples: string }[]; rewards: string };
}

export interface SftUpdateOptions {
  step: number;
  checkpoint: string;
  turns: string;
  hp: SftHyper;
  out: string;
}

export interface UpdateSummary {
  step: number;
  checkpoint: string;
  hash: string;
  items: number;
  metrics: TrainMetrics;
}

/** Why a campaign whose policy is served cannot run an update step (null: it can). */
export function untrainable(sampler: SamplerConfig | undefined): string | null {
  if (!sampler || sampler.kind === 'local') return null;
  return (
    `update: the campaign's policy is served (policy.sampler.kind '${sampler.kind}'); it has no weights to train: ` +
    'set train.steps to 0 (profile only), or sample from the local engine'
  );
}

const updateSummaryOf = (out: string) => `${out}/update.json`;

// Each update honours `signal` (the activity's cancellation): the step stops at its next micro-batch and no checkpoint
// or summary is written after the abort.

/** PivotRL: one GRPO step on a verified pivot batch (one group per pivot state). */
export function grpoUpdateOnPivots(
  store: ArtefactStore,
  engine: PolicyEngine,
  input: UpdateOptions,
  signal?: AbortSignal,
): Promise<UpdateSummary> {
  return cachedStage(store, updateSummaryOf(input.out), async () =>
    grpoStep(store, engine, input, await buildGrpoItems(store, input.batch, input.leaveOneOut), signal),
  );
}

/** End-to-end RL: one GRPO step over every turn of a batch of scored episodes (one group per task). */
export function grpoUpdateOnEpisodes(
  store: ArtefactStore,
  engine: PolicyEngine,
  input: EpisodeUpdateOptions,
  signal?: AbortSignal,
): Promise<UpdateSummary> {
  return cachedStage(store, updateSummaryOf(input.out), async () =>
    grpoStep(store, engine, input, await episodeGrpoItems(store, input.batch, input.leaveOneOut), signal),
  );
}

/** SFT: one step on the expert actions of a batch of turns. */
export function sftUpdateOnTurns(
  store: ArtefactStore,
  engine: PolicyEngine,
  input: SftUpdateOptions,
  signal?: AbortSignal,
): Promise<UpdateSummary> {
  return cachedStage(store, updateSummaryOf(input.out), async () => {
    const examples = await sftExamples(store, input.turns);
    return trainedStep(store, input.step, input.out, examples.length, signal, () =>
      engine.trainSft({ checkpoint: input.checkpoint, out: input.out, examples, hp: input.hp }, { signal }),
    );
  });
}

/** One GRPO optimiser step on `items` from `input.checkpoint` into `input.out`. */
function grpoStep(
  store: ArtefactStore,
  engine: PolicyEngine,
  input: Omit<UpdateOptions, 'batch'>,
  items: GrpoItem[],
  signal: AbortSignal | undefined,
): Promise<UpdateSummary> {
  return trainedStep(store, input.step, input.out, items.length, signal, () =>
    engine.trainGrpo({ checkpoint: input.checkpoint, out: input.out, reference: input.reference, items, hp: input.hp }, { signal }),
  );
}

/** Runs `train` (one optimiser step that writes checkpoint `out`) and describes the checkpoint it wrote. */
async function trainedStep(
  store: ArtefactStore,
  step: number,
  out: string,
  items: number,
  signal: AbortSignal | undefined,
  train: () => Promise<TrainMetrics>,
): Promise<UpdateSummary> {
  throwIfAborted(signal);
  const metrics = await train();
  throwIfAborted(signal); // a cancelled attempt writes no summary
  return { step, checkpoint: out, hash: await checkpointHash(store, out), items, metrics };
}
