// The update activity: pipeline/update.ts's GRPO step on pivots, refused for good when the policy is served.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { openStore } from '../store';
import type { EngineFor } from '../pipeline/generate';
import { grpoUpdateOnPivots, untrainable, type UpdateOptions, type UpdateSummary } from '../pipeline/update';
import type { StageInput } from './types';
import { withHeartbeats } from './heartbeat';
import { GrpoHyper } from '../core/hyper';
import { assertSettings } from './settings';

export interface UpdateInput extends StageInput, UpdateOptions {}
export type UpdateResult = UpdateSummary;

export function createUpdateActivities(engineFor: EngineFor) {
  return {
    /** GPU: one GRPO optimiser step on a verified pivot batch; writes exactly one checkpoint, none once cancelled. */
    async update(input: UpdateInput): Promise<UpdateResult> {
      assertSettings('update input: hp', GrpoHyper, input.hp);
      const refusal = untrainable(input.sampler);
      if (refusal) throw ApplicationFailure.nonRetryable(refusal, 'ServedPolicyNotTrainable');
      const store = openStore(input.store);
      const engine = engineFor(input.store);
      return withHeartbeats(() => grpoUpdateOnPivots(store, engine, input, Context.current().cancellationSignal));
    },
  };
}
