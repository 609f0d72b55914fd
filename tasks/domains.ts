// What the pipeline needs to know of each domain: how an expert trajectory splits into candidate turns, and
// how a state is shown to the policy. Adding a domain adds a case here (the compiler lists what is missing).
import type { Domain, HeldoutTask, Step, Trajectory, Turn } from '../core/schemas';
import { renderTerminalPrompt, terminalTurns } from './terminal/render';
import { renderSwePrompt, sweTurns } from './swe/render';
import { renderToolPrompt, toolTurns } from './tool/render';

/** Every assistant action of the trajectory is a candidate state s_t paired with the expert action a*_t. */
export function turnsOf(traj: Trajectory): Turn[] {
  switch (traj.domain) {
    case 'terminal':
      return terminalTurns(traj);
    case 'swe':
      return sweTurns(traj);
    case 'tool':
      return toolTurns(traj);
  }
}

/** The policy's prompt at a state: the task and the steps taken so far. */
export function promptOf(ref: HeldoutTask, history: Step[]): string {
  switch (ref.domain) {
    case 'terminal':
      return renderTerminalPrompt(ref.task.goal, history);
    case 'swe':
      return renderSwePrompt(ref.task.goal, history);
    case 'tool':
      return renderToolPrompt(ref.task.goal, history);
  }
}

/**
 * The generation limit of each domain's actions: its longest expert action plus the stop string, in characters
 * (= tokens). The beginning-of-sequence token, a domain's longest prompt (terminal and SWE 200, tool 152) and this
 * fit pi0's 256-token context, so no prompt loses its start. A limit below a turn's every valid action makes that
 * turn impossible to get right (test/unit/action-budget.test.ts checks both).
 */
export const ACTION_TOKENS: Record<Domain, number> = { terminal: 55, swe: 55, tool: 103 };
