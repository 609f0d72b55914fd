// Tool-use turns as NeMo-Gym rows. Our action text (tasks/tool/action.ts) maps one to one on the row contract:
// `call NAME {json}` = a `function_call`, parallel calls joined by " ; " = a `function_call_batch`, `say TEXT` = a
// `message`. In the history, consecutive `function_call` items are one step (parallel calls) whose output is the
// calls' outputs, one line each; an assistant message is a `say` step, and a user message after it (a conversation
// going on) that step's output, as a line `user: TEXT`.
import type { Step, Turn } from '../core/schemas';
import { callOf, parseAction, renderToolAction, type Call, type ToolAction } from '../tasks/tool/action';
import { TOOL_SYSTEM_PROMPT } from '../tasks/tool/suite';
import { textOf, type ExpectedAction, type FunctionTool, type InputItem, type RowParts } from './nemo-gym';
import { RecordError } from './record-error';

type ToolTurn = Extract<Turn, { domain: 'tool' }>;

/** A tool output as one line (as the tool suite records them). */
const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ');

function callOfItem(name: string, args: string, at: string): Call {
  const parsed = JSON.parse(args) as unknown;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new RecordError(`${at}.arguments`, 'must be a JSON object');
  return callOf(name, parsed as Record<string, unknown>);
}

export function toolHistory(input: InputItem[]): Step[] {
  const steps: { action: ToolAction; outputs: string[] }[] = [];
  const callAt = new Map<string, [step: number, k: number]>();
  let batch: { action: { kind: 'calls'; calls: Call[] }; outputs: string[] } | null = null;
  input.forEach((item, i) => {
    const at = `responses_create_params.input.${i}`;
    if (item.type === 'function_call') {
      if (!batch) steps.push((batch = { action: { kind: 'calls', calls: [] }, outputs: [] }));
      callAt.set(item.call_id, [steps.length - 1, batch.action.calls.length]);
      batch.action.calls.push(callOfItem(item.name, item.arguments, at));
      batch.outputs.push('');
      return;
    }
    batch = null;
    if (item.type === 'function_call_output') {
      const ref = callAt.get(item.call_id);
      if (!ref) throw new RecordError(`${at}.call_id`, `no earlier function_call has call_id '${item.call_id}'`);
      steps[ref[0]].outputs[ref[1]] = oneLine(textOf(item.output));
    } else if (item.type === 'message' && item.role === 'assistant') {
      const text = textOf(item.content).trim();
      if (text) steps.push({ action: { kind: 'say', text }, outputs: [] });
    } else if (item.type === 'message' && item.role === 'user' && steps.length > 0) {
      // The user's answer is what the previous step (a reply to the user, usually) observed.
      const text = oneLine(textOf(item.content).trim());
      if (text) steps[steps.length - 1].outputs.push(`user: ${text}`);
    }
  });
  return steps.map((s) => ({ action: renderToolAction(s.action), output: s.outputs.join('\n') }));
}

export function toolExpert(action: ExpectedAction): string {
  switch (action.type) {
    case 'message':
      if (!action.content.trim()) throw new RecordError('expected_action.content', 'an empty reply is not an action');
      return renderToolAction({ kind: 'say', text: action.content });
    case 'function_call':
      return renderToolAction({ kind: 'calls', calls: [callOfItem(action.name, action.arguments, 'expected_action')] });
    case 'function_call_batch':
      return renderToolAction({
        kind: 'calls',
        calls: action.calls.map((c, k) => callOfItem(c.name, c.arguments, `expected_action.calls.${k}`)),
      });
  }
}

function parsed(text: string, where: string): ToolAction {
  const p = parseAction(text);
  if (!p.ok) throw new Error(`${where}: ${p.error}: ${text}`);
  return p.action;
}

export function toolRow(turn: ToolTurn): RowParts {
  const input: InputItem[] = [
    { type: 'message', role: 'system', content: TOOL_SYSTEM_PROMPT },
    { type: 'message', role: 'user', content: turn.task.goal },
  ];
  turn.history.forEach((step, t) => {
    const action = parsed(step.action, `${turn.id} step ${t}`);
    if (action.kind === 'say') {
      input.push({ type: 'message', role: 'assistant', content: action.text });
      for (const line of step.output.split('\n'))
        if (line.startsWith('user: ')) input.push({ type: 'message', role: 'user', content: line.slice('user: '.length) });
      return;
    }
    const outputs = step.output.split('\n');
    const ids = action.calls.map((_, k) => `call_${t}_${k}`);
    action.calls.forEach((c, k) =>
      input.push({ type: 'function_call', call_id: ids[k], name: c.name, arguments: c.json, status: 'completed' }),
    );
    ids.forEach((call_id, k) => input.push({ type: 'function_call_output', call_id, output: outputs[k] ?? '' }));
  });
  const expert = parsed(turn.expert, `${turn.id} expert`);
  const calls =
    expert.kind === 'calls' ? expert.calls.map((c) => ({ type: 'function_call' as const, name: c.name, arguments: c.json })) : [];
  const action: ExpectedAction =
    expert.kind === 'say'
      ? { type: 'message', content: expert.text }
      : calls.length === 1
        ? calls[0]
        : { type: 'function_call_batch', calls };
  // Not `strict`: strict mode wants every property required and no others allowed, which these schemas need not say.
  const tools: FunctionTool[] = turn.task.tools.map((t) => ({
    type: 'function',
    name: t.function.name,
    description: t.function.description,
    parameters: t.function.parameters,
    strict: false,
  }));
  return { input, tools, action };
}
