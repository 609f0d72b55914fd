// The OOD drift activity (GPU): pipeline/ood-drift.ts on the local engine, which holds the checkpoint's weights.
import { openStore } from '../store';
import type { EngineFor } from '../pipeline/generate';
import { measureOodDrift, type OodDrift, type OodDriftOptions } from '../pipeline/ood-drift';
import type { StageInput } from './types';
import { withHeartbeats } from './heartbeat';

export interface OodDriftInput extends StageInput, OodDriftOptions {}

export function createOodDriftActivities(engineFor: EngineFor) {
  return {
    /** GPU: the NLL of every OOD item's reference answer under a checkpoint (no training); stored, then summarised. */
    async measureOodDrift(input: OodDriftInput): Promise<OodDrift> {
      return withHeartbeats(() => measureOodDrift(openStore(input.store), engineFor(input.store), input));
    },
  };
}
