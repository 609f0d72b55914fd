// How a terminal state is shown to the policy, and how trajectories split into candidate turns.
import type { ChatMessage, Step, Trajectory, Turn } from '../../core/schemas';
import { ACTION_STOP } from '../actions';
import { turnsFromSteps } from '../transcript';

type TerminalTrajectory = Extract<Trajectory, { domain: 'terminal' }>;
type TerminalTurn = Extract<Turn, { domain: 'terminal' }>;

/** Observations are clipped so that prompts stay within the model's context. */
const MAX_OUTPUT_LINES = 6;
const MAX_LINE_CHARS = 60;
const MAX_PROMPT_CHARS = 200;

function clipOutput(output: string): string {
  const lines = output.split('\n').filter((l) => l.length > 0);
  const shown = lines.slice(0, MAX_OUTPUT_LINES).map((l) => l.slice(0, MAX_LINE_CHARS));
  if (lines.length > MAX_OUTPUT_LINES) shown.push('...');
  return shown.map((l) => l + '\n').join('');
}

/**
 * The prompt for the next action: the goal, then the transcript ("$ command" and its output), ending in "$ ".
 * When too long, the oldest steps are dropped but the goal is kept.
 */
export function renderTerminalPrompt(goal: string, history: Step[]): string {
  const head = `G: ${goal}\n`;
  const steps = history.map((s) => `$ ${s.action}\n${clipOutput(s.output)}`);
  let body = steps.join('') + '$ ';
  while (steps.length > 0 && head.length + body.length > MAX_PROMPT_CHARS) {
    steps.shift();
    body = steps.join('') + '$ ';
  }
  return head + body;
}

/** The completion the policy should produce for an action (the stop string ends it). */
export function renderAction(action: string): string {
  return action + ACTION_STOP;
}

/** The bash command of an assistant message, or null when it is a plain reply. */
function commandOf(message: ChatMessage): string | null {
  if (message.role !== 'assistant' || !message.tool_calls?.length) return null;
  const call = message.tool_calls[0];
  const args = JSON.parse(call.function.arguments) as { command?: unknown };
  if (call.function.name !== 'bash' || typeof args.command !== 'string') {
    throw new Error(`tool call ${call.id}: expected bash({ command: string })`);
  }
  return args.command;
}

/** The expert's steps (action and observed output), in order, of any trajectory whose actions are bash tool calls. */
export function expertSteps(traj: { messages: ChatMessage[] }): Step[] {
  const steps: Step[] = [];
  traj.messages.forEach((m, i) => {
    const command = commandOf(m);
    if (command === null) return;
    const next = traj.messages[i + 1];
    steps.push({ action: command, output: next?.role === 'tool' ? next.content : '' });
  });
  return steps;
}

/** Every assistant tool-call turn is a candidate state s_t paired with the expert action a*_t. */
export function terminalTurns(traj: TerminalTrajectory): TerminalTurn[] {
  return turnsFromSteps(traj, expertSteps(traj));
}
