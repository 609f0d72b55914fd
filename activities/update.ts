import { openStore } from '../store';
import { cachedStage } from '../pipeline/cached';
import { buildGrpoItems } from '../pipeline/grpo-batch';
import { checkpointHash } from '../policy/checkpoint';
import type { GrpoHyper, TrainMetrics } from '../policy/engine';
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
