import { ApplicationFailure } from '@temporalio/activity';
import { openStore } from '../store';
import { cachedStage } from '../pipeline/cached';
import { buildGrpoItems } from '../pipeline/grpo-batch';
import { checkpointHash } from '../policy/checkpoint';
import type { GrpoHyper, TrainMetrics } from '../policy/engine';
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
  seed: number;
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
          const metrics = await engine.trainGrpo({
            checkpoint: input.checkpoint,
            out: input.out,
            reference: input.reference,
            items,
            hp: input.hp,
            seed: input.seed,
          });
          return { step: input.step, checkpoint: input.out, hash: await checkpointHash(store, input.out), items: items.length, metrics };
        }),
      );
    },
  };
}
