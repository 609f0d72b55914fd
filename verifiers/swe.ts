// Functional verifier of the SWE domain: each sampled action is executed at the true state of its turn (the
// repository with the expert prefix replayed, in a sandbox of the swe image) and compared with the expert's
// action there (verifiers/swe-effects.ts): edits by the per-test outcomes they leave, test runs by what they
// report, other read-only actions as terminal actions. The tests run only where the comparison needs them: after
// the expert's action when it edits, and after a sample that changed the same files to a different content.
import { SWE_IMAGE, openSweTurnState, type SweEffect } from '../sandboxes/swe';
import { ExecutingVerifier, type ExecutionDomain } from './executing';
import { compareSweEffects, identicalChanges, isEdit, sameFilesChanged } from './swe-effects';
import type { VerifierDeps } from './verifier';

export const sweExecution: ExecutionDomain<SweEffect> = {
  async open(turn, sandbox, { actionTimeoutMs }) {
    if (turn.domain !== 'swe') throw new Error(`the SWE verifier got a ${turn.domain} turn (${turn.id})`);
    const ts = await openSweTurnState(
      turn.task,
      turn.history.map((h) => h.action),
      { sandbox, actionTimeoutMs },
    );
    return {
      async expert(action) {
        const effect: SweEffect = await ts.runAction(action);
        if (isEdit(effect)) effect.tests = await ts.runTests();
        return effect;
      },
      async sample(action, expert) {
        const effect: SweEffect = await ts.runAction(action);
        if (isEdit(expert) && sameFilesChanged(expert, effect) && !identicalChanges(expert, effect)) effect.tests = await ts.runTests();
        return effect;
      },
    };
  },
  compare: compareSweEffects,
};

export class SweVerifier extends ExecutingVerifier<SweEffect> {
  constructor(deps: VerifierDeps = {}) {
    super(sweExecution, deps.sweImage ?? SWE_IMAGE, deps);
  }
}
