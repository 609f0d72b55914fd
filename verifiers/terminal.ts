// Functional verifier of the terminal domain: each sampled action is executed at the true state of its turn (task
// files + expert prefix, in a sandbox of the terminal image; a replayed trajectory has no files, and its own image
// when it names one) and its effect (exit status, file changes, output) is compared with the expert action's effect
// there (verifiers/effects.ts). The batch loop, sandbox pool, retries and masking are the shared ExecutingVerifier's
// (verifiers/executing.ts).
import { workspaceOf } from '../core/domains/terminal';
import { DEFAULT_IMAGE } from '../sandboxes/sandbox';
import { openTurnState, type Effect } from '../sandboxes/terminal';
import { compareEffects } from './effects';
import { ExecutingVerifier, type ExecutingVerifierStats, type ExecutionDomain } from './executing';
import type { VerifierDeps } from './verifier';

export type TerminalVerifierStats = ExecutingVerifierStats;

/** Terminal turns: the state is the workspace with the expert prefix replayed; an effect is one action's run. */
export const terminalExecution: ExecutionDomain<Effect> = {
  async open(turn, sandbox, { actionTimeoutMs }) {
    if (turn.domain !== 'terminal') throw new Error(`the terminal verifier got a ${turn.domain} turn (${turn.id})`);
    const ts = await openTurnState(
      workspaceOf(turn.task),
      turn.history.map((h) => h.action),
      { sandbox, actionTimeoutMs },
    );
    return { expert: (action) => ts.runAction(action), sample: (action) => ts.runAction(action) };
  },
  compare: compareEffects,
};

export class TerminalVerifier extends ExecutingVerifier<Effect> {
  constructor(deps: VerifierDeps = {}) {
    super(terminalExecution, deps.image ?? DEFAULT_IMAGE, deps);
  }
}
