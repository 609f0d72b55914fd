// NeMo-Gym rows without PivotRL's `{ domain, task }` block, as NeMo-Gym and other tools write them -> candidate
// turns. Without the task, the state is rebuilt where it can be:
// - a terminal row (every earlier call and the expected action are shell commands) becomes a terminal turn replayed
//   from a sandbox image (the record's `sandbox_image`, else the config's, else the worker's terminal image): the
//   functional verifier executes the earlier commands there as the expert did, then compares effects;
// - every other row becomes a tool-use turn without a backend: calls are compared by name and arguments (NeMo-Gym's
//   argument comparison), a message by the message rule. A terminal or SWE row among them is a turn whose state could
//   not be rebuilt, and says why (UnrebuiltReason).
import { JsonSchema, ToolDefinition, ToolName } from '../core/domains/tool';
import { Turn, type Step } from '../core/schemas';
import type { UnrebuiltReason } from '../core/turn-verification';
import { describeZodError } from '../core/zod-errors';
import { isSweRecord, type ImportFields } from './import-fields';
import { textOf, type ExpectedAction, type InputItem, type NemoGymPivotRowInput } from './nemo-gym';
import { bashHistory } from './nemo-gym-bash';
import { toolExpert, toolHistory } from './nemo-gym-tool';
import { RecordError } from './record-error';
import { shellCommandOf } from './shell';

/** A candidate turn read from a record, and why its state could not be rebuilt when that is so. */
export interface ImportedTurn {
  turn: Turn;
  unrebuilt?: UnrebuiltReason;
}

export interface ImportContext {
  /** Names the turn when the record has no id of its own (e.g. "file.jsonl:12"). */
  fallbackId: string;
  /** The config's sandbox image for terminal trajectories that name none. */
  image?: string;
}

/** Where a turn sits: given for turns cut from a whole trajectory (plain chat), else read from the row. */
export interface TurnPosition {
  id: string;
  trajectoryId: string;
  index: number;
}

type Row = Pick<NemoGymPivotRowInput, 'uuid' | 'responses_create_params' | 'expected_action'>;

const INPUT = 'responses_create_params.input';
const TOOLS = 'responses_create_params.tools';

const callsOf = (a: ExpectedAction) => (a.type === 'function_call' ? [a] : a.type === 'function_call_batch' ? a.calls : []);

/** The user's request: the text of the user messages before the first action. */
function goalOf(input: InputItem[]): string {
  const parts: string[] = [];
  for (const item of input) {
    if (item.type === 'function_call' || (item.type === 'message' && item.role === 'assistant')) break;
    if (item.type === 'message' && item.role === 'user') parts.push(textOf(item.content).trim());
  }
  const goal = parts.filter(Boolean).join('\n');
  if (!goal) throw new RecordError(INPUT, "no user message before the first action: the task's goal is missing");
  return goal;
}

/** The tools offered, as tool definitions, and any tool the calls use that the row does not list (no schema). */
function toolsOf(row: Row): ToolDefinition[] {
  const tools = row.responses_create_params.tools.map((t, k) => {
    const parsed = ToolDefinition.safeParse({
      type: 'function',
      function: { name: t.name, description: t.description ?? '', parameters: t.parameters ?? { type: 'object' } },
    });
    if (!parsed.success) {
      const { field, reason } = describeZodError(parsed.error);
      throw new RecordError(`${TOOLS}.${k}.${field.replace(/^function\./, '')}`, reason);
    }
    return parsed.data;
  });
  const listed = new Set(tools.map((t) => t.function.name));
  const called = [
    ...row.responses_create_params.input.flatMap((item) => (item.type === 'function_call' ? [item.name] : [])),
    ...callsOf(row.expected_action).map((c) => c.name),
  ];
  for (const name of called) {
    if (listed.has(name)) continue;
    listed.add(name);
    tools.push(ToolDefinition.parse({ function: { name, parameters: JsonSchema.parse({ type: 'object' }) } }));
  }
  return tools;
}

/** Every called tool has a name the action text can carry (`call NAME {json}`). */
function checkCallNames(row: Row): void {
  const bad = (name: string) => !ToolName.safeParse(name).success;
  row.responses_create_params.input.forEach((item, i) => {
    if (item.type === 'function_call' && bad(item.name)) throw new RecordError(`${INPUT}.${i}.name`, `'${item.name}' is not a tool name`);
  });
  const a = row.expected_action;
  callsOf(a).forEach((c, k) => {
    if (bad(c.name))
      throw new RecordError(
        a.type === 'function_call_batch' ? `expected_action.calls.${k}.name` : 'expected_action.name',
        `'${c.name}' is not a tool name`,
      );
  });
}

function parsedTurn(turn: unknown): Turn {
  const parsed = Turn.safeParse(turn);
  if (!parsed.success) {
    const { field, reason } = describeZodError(parsed.error);
    throw new RecordError(field, reason);
  }
  return parsed.data;
}

/** The candidate turn of a row without PivotRL's block, and why its state could not be rebuilt when that is so. */
export function importRow(row: Row, fields: ImportFields, ctx: ImportContext, at?: TurnPosition): ImportedTurn {
  const input = row.responses_create_params.input;
  const action = row.expected_action;
  const calls = input.filter((item) => item.type === 'function_call');
  const expertCommand = action.type === 'function_call' ? shellCommandOf(action) : null;
  const earlierShell = calls.every((c) => shellCommandOf(c) !== null);
  const terminal = expertCommand !== null || calls.some((c) => shellCommandOf(c) !== null);
  const swe = isSweRecord(fields);
  const goal = goalOf(input);
  const id = at?.id ?? row.uuid ?? ctx.fallbackId;
  const trajectoryId = at?.trajectoryId ?? (fields.trajectory_id === undefined ? id : String(fields.trajectory_id));

  if (!swe && expertCommand !== null && earlierShell) {
    const history: Step[] = bashHistory(input, (name, args) => shellCommandOf({ name, arguments: args })!);
    const image = fields.sandbox_image ?? ctx.image;
    const task = { kind: 'replay', id: trajectoryId, template: 'imported-terminal', goal, ...(image && { image }) };
    return {
      turn: parsedTurn({ id, trajectoryId, index: at?.index ?? history.length, domain: 'terminal', task, history, expert: expertCommand }),
    };
  }

  checkCallNames(row);
  const history = toolHistory(input);
  const expert = toolExpert(action);
  const template = swe ? 'imported-swe' : terminal ? 'imported-terminal' : 'imported-tool';
  const task = { id: trajectoryId, template, goal, tools: toolsOf(row), backend: null };
  const turn = parsedTurn({ id, trajectoryId, index: at?.index ?? history.length, domain: 'tool', task, history, expert });
  // A reply to the user is judged by the message rule wherever it comes from: no state to rebuild for it.
  if (action.type === 'message') return { turn };
  if (swe) return { turn, unrebuilt: 'swe_repository' };
  if (!terminal) return { turn };
  return { turn, unrebuilt: expertCommand === null ? 'action_not_shell' : 'earlier_step_not_shell' };
}
