// An action's effect for unit tests of the effect comparisons: a clean, successful run unless overridden.
import type { Effect } from '../../sandboxes/terminal';

export function effect(p: Partial<Effect> = {}): Effect {
  return {
    exitCode: 0,
    output: '',
    outputTruncated: false,
    timedOut: false,
    oomKilled: false,
    pidsLimitHit: false,
    fileSizeLimitHit: false,
    leftoverProcesses: 0,
    changes: [],
    durationMs: 3,
    ...p,
  };
}
