// How a tool-use state is shown to the policy, and how trajectories split into candidate turns. Every assistant
// message is a turn: tool calls and the final reply to the user alike (the reply carries the answer).
import type { ChatMessage, Step, Trajectory, Turn } from '../../core/schemas';
import { actionOfMessage, messageOfAction, parseAction, renderToolAction } from './action';
import { turnsFromSteps } from '../transcript';

type ToolTrajectory = Extract<Trajectory, { domain: 'tool' }>;
type ToolTurn = Extract<Turn, { domain: 'tool' }>;

/**
 * Prompt budget: the model's context is 256 characters and a tool action takes up to 103 with its stop (a call
 * with a nested address; ACTION_TOKENS in tasks/domains.ts), so prompts stay within 152. What the next action needs most is the newest step's tool outputs (the
 * ids and facts to use): they get room first, then that step's action (clipped if need be), then older steps.
 */
export const TOOL_MAX_PROMPT_CHARS = 152;
const NEWEST_OUTPUT_CHARS = 88;
const OLDER_OUTPUT_CHARS = 40;
const MIN_OUTPUT_CHARS = 12;
const MIN_ACTION_CHARS = 12;

/** Tool outputs without the quotes of keys and plain strings: {"id":"O1"} -> {id:O1}. */
export function compactJson(text: string): string {
  return text.replace(/"((?:[^"\\]|\\.)*)"/g, (_, inner: string) => (/^[^,:{}[\]]*$/.test(inner) ? inner : `"${inner}"`));
}

const clip = (text: string, n: number): string => (text.length <= n ? text : text.slice(0, Math.max(0, n - 3)) + '...');

const outputLines = (step: Step): string[] =>
  step.output
    .split('\n')
    .filter((l) => l.length > 0)
    .map(compactJson);

const renderStep = (action: string, lines: string[], outputChars: number): string =>
  `> ${action}\n${lines.map((l) => `< ${clip(l, outputChars)}\n`).join('')}`;

/**
 * The prompt for the next action: the goal, then the steps ("> action", "< output" per tool output), ending in
 * "> ". The goal and the newest step are always shown; older steps while they fit.
 */
export function renderToolPrompt(goal: string, history: Step[]): string {
  const head = `G: ${goal}\n`;
  const tail = '> ';
  let budget = TOOL_MAX_PROMPT_CHARS - head.length - tail.length;
  const shown: string[] = [];
  if (history.length > 0) {
    const newest = history[history.length - 1];
    const lines = outputLines(newest);
    // Outputs first: each line up to NEWEST_OUTPUT_CHARS, shrunk evenly to leave the action MIN_ACTION_CHARS.
    const room = budget - Math.min(newest.action.length, MIN_ACTION_CHARS) - 3;
    const perLine = lines.length ? Math.floor(room / lines.length) - 3 : 0;
    const width = Math.max(MIN_OUTPUT_CHARS, Math.min(NEWEST_OUTPUT_CHARS, perLine));
    const outputs = lines.map((l) => clip(l, width));
    const used = outputs.reduce((a, l) => a + l.length + 3, 0);
    const text = renderStep(clip(newest.action, Math.max(MIN_ACTION_CHARS, budget - used - 3)), outputs, width);
    shown.push(text);
    budget -= text.length;
  }
  for (let t = history.length - 2; t >= 0; t--) {
    const text = renderStep(history[t].action, outputLines(history[t]), OLDER_OUTPUT_CHARS);
    if (text.length > budget) break;
    shown.unshift(text);
    budget -= text.length;
  }
  return head + shown.join('') + tail;
}

/**
 * The same state as an OpenAI chat conversation (for a served chat model): system, the user's goal, then per step the
 * assistant's tool calls and one tool message per call (its output line), or the assistant's reply to the user and
 * what the user said next. An action an episode could not parse is shown as the assistant's text, its error as the
 * user's answer.
 */
export function toolConversation(systemPrompt: string, goal: string, history: Step[]): ChatMessage[] {
  const messages: ChatMessage[] = [
    { role: 'system', content: systemPrompt },
    { role: 'user', content: goal },
  ];
  history.forEach((step, t) => {
    const parsed = parseAction(step.action);
    if (parsed.ok && parsed.action.kind === 'calls') {
      const message = messageOfAction(parsed.action, `call_${t}`);
      const outputs = step.output.split('\n');
      messages.push(
        message,
        ...(message.tool_calls ?? []).map((c, k): ChatMessage => ({ role: 'tool', tool_call_id: c.id, content: outputs[k] ?? '' })),
      );
      return;
    }
    messages.push({ role: 'assistant', content: parsed.ok && parsed.action.kind === 'say' ? parsed.action.text : step.action });
    for (const line of step.output.split('\n').filter(Boolean))
      messages.push({ role: 'user', content: line.startsWith(USER_SAID) ? line.slice(USER_SAID.length) : line });
  });
  return messages;
}

/** How a step's output records what the user said after the assistant's reply (formats/nemo-gym-tool.ts writes it). */
const USER_SAID = 'user: ';

/** The expert's steps: each assistant message as an action, with its tool outputs (one line each, call order). */
export function toolExpertSteps(traj: ToolTrajectory): Step[] {
  const outputs = new Map<string, string>();
  for (const m of traj.messages) if (m.role === 'tool') outputs.set(m.tool_call_id, m.content.replace(/\s*\n\s*/g, ' '));
  const steps: Step[] = [];
  for (const m of traj.messages) {
    if (m.role !== 'assistant') continue;
    const action = actionOfMessage(m);
    if (action.kind === 'say' && action.text === '') continue;
    const output = (m.tool_calls ?? []).map((tc) => outputs.get(tc.id) ?? '').join('\n');
    steps.push({ action: renderToolAction(action), output });
  }
  return steps;
}

/** Every assistant message is a candidate state s_t paired with the expert action a*_t. */
export function toolTurns(traj: ToolTrajectory): ToolTurn[] {
  return turnsFromSteps(traj, toolExpertSteps(traj));
}
