// How an SWE state is shown to the policy (a sibling of renderTerminalPrompt: same "G: goal / $ command / output"
// transcript ending in "$ ", same 200-character budget), and how SWE trajectories split into candidate turns.
// SWE observations are longer (test runs, listings of source files), so they are condensed rather than dropped:
//   - a test run shows its FAIL lines and its count line (the PASS lines are implied by the count);
//   - numbered listings (cat -n, nl -ba) lose the padding before the line number;
//   - the newest step is always shown, its output cut to what fits; older steps are shown while they fit.
import type { Step, Trajectory, Turn } from '../../core/schemas';
import { expertSteps } from '../terminal/render';
import { parseTestOutput } from './runner';
import { turnsFromSteps } from '../transcript';

type SweTrajectory = Extract<Trajectory, { domain: 'swe' }>;
type SweTurn = Extract<Turn, { domain: 'swe' }>;

const MAX_OUTPUT_LINES = 6;
const MAX_LINE_CHARS = 48;
export const MAX_SWE_PROMPT_CHARS = 200;

/** The lines of an output as the prompt shows them (condensed, clipped). */
export function condenseOutput(output: string): string[] {
  let lines = output.split('\n').filter((l) => l.trim().length > 0);
  if (parseTestOutput(output).size > 0) lines = lines.filter((l) => !l.startsWith('PASS '));
  lines = lines.map((l) =>
    l
      .replace(/^\s+(\d+)\t/, '$1 ')
      .replace(/\t/g, ' ')
      .trimEnd(),
  );
  const shown = lines.slice(0, MAX_OUTPUT_LINES).map((l) => l.slice(0, MAX_LINE_CHARS));
  if (lines.length > MAX_OUTPUT_LINES) shown.push('...');
  return shown;
}

/**
 * The prompt for the next action: "G: <goal>", then the newest steps that fit ("$ command" and condensed output),
 * ending in "$ ". At most MAX_SWE_PROMPT_CHARS characters (the goal is clipped if it alone is too long).
 */
export function renderSwePrompt(goal: string, history: Step[]): string {
  const head = `G: ${goal}`.slice(0, MAX_SWE_PROMPT_CHARS - 3) + '\n';
  const tail = '$ ';
  let budget = MAX_SWE_PROMPT_CHARS - head.length - tail.length;
  const blocks: string[] = [];
  for (let i = history.length - 1; i >= 0; i--) {
    const command = `$ ${history[i].action}\n`;
    const lines = condenseOutput(history[i].output).map((l) => `${l}\n`);
    const full = command + lines.join('');
    if (full.length <= budget) {
      blocks.unshift(full);
      budget -= full.length;
      continue;
    }
    // The newest step is shown even when it does not fit whole: its command and the output lines that fit.
    if (i === history.length - 1 && command.length <= budget) {
      let block = command;
      for (const l of lines) {
        if (block.length + l.length + 4 > budget) break;
        block += l;
      }
      if (block.length + 4 <= budget && block !== full) block += '...\n';
      blocks.unshift(block);
    }
    break;
  }
  return head + blocks.join('') + tail;
}

/** Every assistant tool-call turn is a candidate state s_t paired with the expert action a*_t. */
export function sweTurns(traj: SweTrajectory): SweTurn[] {
  return turnsFromSteps(traj, expertSteps(traj));
}
