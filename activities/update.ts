import { ApplicationFailure } from '@temporalio/activity';
import { openStore } from '../store';
import { cachedStage } from '../pipeline/cached';
import { buildGrpoItems } from '../pipeline/grpo-batch';
import { checkpointHash } from '../policy/checkpoint';
import type { GrpoHyper, GrpoItem, PolicyEngine, TrainMetrics } from '../policy/engine';
import type { ArtefactStore } from '../store/store';
import type { SamplerConfig } from '../policy/schemas';
import type { StageInput } from './types';
import type { EngineFor } from './generate';
import { withHeartbeats } from './heartbeat';

export interface UpdateInput extends StageInput {
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

export interface UpdateResult {
  step: number;
  checkpoint: string;
  hash: string;
  items: number;
  metrics: TrainMetrics;
}

export function createUpdateActivities(engineFor: EngineFor) {
  return {
    /** GPU: one GRPO optimiser step on a verified pivot batch; writes exactly one checkpoint. */
    async update(input: UpdateInput): Promise<UpdateResult> {
      if (input.sampler && input.sampler.kind !== 'local') {
        throw ApplicationFailure.nonRetryable(
          `update: the campaign's policy is served (policy.sampler.kind '${input.sampler.kind}'); it has no weights to train: ` +
            'set train.steps to 0 (profile only), or sample from the local engine',
          'ServedPolicyNotTrainable',
        );
      }
      const store = openStore(input.store);
      const engine = engineFor(input.store);
      return cachedStage(store, `${input.out}/update.json`, () =>
        withHeartbeats(async () => {
          const items = await buildGrpoItems(store, input.batch, input.leaveOneOut);
          return grpoStep(store, engine, input, items);
        }),
      );
    },
  };
}

/** Runs `train` (one optimiser step that writes checkpoint `out`) and describes the checkpoint it wrote. */
export async function trainedStep(
  store: ArtefactStore,
  step: number,
  out: string,
  items: number,
  train: () => Promise<TrainMetrics>,
): Promise<UpdateResult> {
  const metrics = await train();
  return { step, checkpoint: out, hash: await checkpointHash(store, out), items, metrics };
}

/** One GRPO optimiser step on `items` from `input.checkpoint` into `input.out`. */
export function grpoStep(
  store: ArtefactStore,
  engine: PolicyEngine,
  input: Omit<UpdateInput, 'batch'>,
  items: GrpoItem[],
): Promise<UpdateResult> {
  return trainedStep(store, input.step, input.out, items.length, () =>
    engine.trainGrpo({
      checkpoint: input.checkpoint,
      out: input.out,
      reference: input.reference,
      items,
      hp: input.hp,
    }),
  );
}
