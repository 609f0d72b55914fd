// Terminal and SWE turns as NeMo-Gym rows: both act through one `bash` tool. The state's history is the Responses
// `input` after the system and user messages: each expert step a `function_call` to `bash` with {"command": ...} and
// its `function_call_output`; the expert action is the `expected_action` bash call. Reasoning items and assistant
// text are not actions: skipped.
import type { Step, Turn } from '../core/schemas';
import { SWE_SYSTEM_PROMPT } from '../tasks/swe/suite';
import { TERMINAL_SYSTEM_PROMPT } from '../tasks/terminal/suite';
import { BASH_TOOL as CHAT_BASH_TOOL } from '../tasks/transcript';
import { textOf, type ExpectedAction, type FunctionTool, type InputItem, type RowParts } from './nemo-gym';
import { RecordError } from './record-error';

type BashTurn = Extract<Turn, { domain: 'terminal' | 'swe' }>;

const SYSTEM_PROMPT: Record<BashTurn['domain'], string> = { terminal: TERMINAL_SYSTEM_PROMPT, swe: SWE_SYSTEM_PROMPT };

/** The bash tool (tasks/transcript.ts) in the Responses API's flat shape. */
export const BASH_TOOL: FunctionTool = { type: 'function', ...CHAT_BASH_TOOL.function, strict: true };

function bashCommand(name: string, args: string, at: string): string {
  if (name !== 'bash') throw new RecordError(`${at}.name`, `terminal and SWE actions are calls to 'bash', not '${name}'`);
  const parsed = JSON.parse(args) as { command?: unknown } | null;
  if (typeof parsed?.command !== 'string') throw new RecordError(`${at}.arguments`, 'expected {"command": string}');
  return parsed.command;
}

/** The expert's steps of a row's input; `commandOf` reads a call's command (default: a call to `bash`). */
export function bashHistory(input: InputItem[], commandOf: (name: string, args: string, at: string) => string = bashCommand): Step[] {
  const steps: Step[] = [];
  const open = new Map<string, number>(); // call_id -> its step
  input.forEach((item, i) => {
    const at = `responses_create_params.input.${i}`;
    if (item.type === 'function_call') {
      open.set(item.call_id, steps.length);
      steps.push({ action: commandOf(item.name, item.arguments, at), output: '' });
    } else if (item.type === 'function_call_output') {
      const step = open.get(item.call_id);
      if (step === undefined) throw new RecordError(`${at}.call_id`, `no earlier function_call has call_id '${item.call_id}'`);
      steps[step].output = textOf(item.output);
    }
  });
  return steps;
}

export function bashExpert(action: ExpectedAction): string {
  if (action.type !== 'function_call') {
    throw new RecordError('expected_action.type', `a terminal or SWE pivot's action is one bash call, not '${action.type}'`);
  }
  return bashCommand(action.name, action.arguments, 'expected_action');
}

export function bashRow(turn: BashTurn): RowParts {
  const input: InputItem[] = [
    { type: 'message', role: 'system', content: SYSTEM_PROMPT[turn.domain] },
    { type: 'message', role: 'user', content: turn.task.goal },
  ];
  turn.history.forEach((step, t) => {
    const call_id = `call_${t}`;
    input.push({ type: 'function_call', call_id, name: 'bash', arguments: JSON.stringify({ command: step.action }), status: 'completed' });
    input.push({ type: 'function_call_output', call_id, output: step.output });
  });
  return {
    input,
    tools: [BASH_TOOL],
    action: { type: 'function_call', name: 'bash', arguments: JSON.stringify({ command: turn.expert }) },
  };
}
