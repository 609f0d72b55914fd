// What the pipeline needs to know of each domain: how an expert trajectory splits into candidate turns, and
// how a state is shown to the policy. Adding a domain adds a case here (the compiler lists what is missing).
import type { HeldoutTask, Step, Trajectory, Turn } from '../core/schemas';
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
