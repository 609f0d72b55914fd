// The three agentic suites by name, for the tools that treat them alike (pretraining pi0, profiling pi0 on each
// suite): a suite's training trajectories from a seed, and the valid actions its templates know per turn.
import { Rng, seedOf } from '../core/rng';
import type { Trajectory } from '../core/schemas';
import { generateTerminalSuite } from './terminal/suite';
import { TEMPLATES } from './terminal/templates';
import { generateSweSuite } from './swe/suite';
import { SWE_TEMPLATES } from './swe/templates';
import { generateToolSuite } from './tool/suite';

export const SUITES = ['terminal', 'swe', 'tool'] as const;
export type SuiteName = (typeof SUITES)[number];

/** The training trajectories of a suite (held-out tasks are not drawn). */
export function trainTrajectories(suite: SuiteName, seed: number, tasks: number): Trajectory[] {
  const opts = { seed, trainTasks: tasks, heldoutTasks: 0 };
  switch (suite) {
    case 'terminal':
      return generateTerminalSuite(opts).train;
    case 'swe':
      return generateSweSuite(opts).train;
    case 'tool':
      return generateToolSuite(opts).train;
  }
}

/**
 * Per expert turn of training trajectory i, the valid actions its template lists (re-drawn the way the suite
 * draws the task): a lower bound of what the functional verifier accepts. Null for the tool suite, whose
 * verifier is pure and cheap enough to call instead (verifyToolTurn).
 */
export function templateVariants(suite: SuiteName, seed: number, i: number): string[][] | null {
  switch (suite) {
    case 'terminal':
      return TEMPLATES[i % TEMPLATES.length].draw(new Rng(seedOf(seed, 'train', i))).steps.map((s) => s.map((v) => v.action));
    case 'swe':
      return SWE_TEMPLATES[i % SWE_TEMPLATES.length]
        .draw(new Rng(seedOf(seed, 'swe', 'train', i)))
        .steps.map((s) => s.variants.map((v) => v.action));
    case 'tool':
      return null;
  }
}
