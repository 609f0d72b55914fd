// The one-line text form of a tool-use action, as the policy writes it (generation stops at "\n"):
//   call get_order {"order_id":"O123"}                                      one tool call, arguments as JSON
//   call get_order {"order_id":"O1"} ; call get_order {"order_id":"O2"}     parallel calls, joined by " ; "
//   say Your order O123 is cancelled.                                       a message to the user
// and its conversion to and from the OpenAI chat shape (assistant tool_calls / content).
import type { ChatMessage, ToolCall } from '../../core/schemas';

export interface Call {
  name: string;
  /** The parsed arguments (a JSON object). */
  args: Record<string, unknown>;
  /** The arguments as written (compact JSON, key order kept). */
  json: string;
}

export type ToolAction = { kind: 'calls'; calls: Call[] } | { kind: 'say'; text: string };

export type Parsed = { ok: true; action: ToolAction } | { ok: false; error: string };

/** A tool name (core/domains/tool.ts ToolName). */
const NAME = /^[A-Za-z0-9_-]{1,64}/;

/** The end index (exclusive) of the JSON object starting at text[start] === '{', or -1 when it never closes. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** Parses an action's text form; whitespace around the parts is free. */
export function parseAction(text: string): Parsed {
  const line = text.trim();
  if (line === '') return { ok: false, error: 'empty action' };
  if (line.includes('\n')) return { ok: false, error: 'an action is one line' };
  if (line === 'say' || line.startsWith('say ')) {
    const said = line.slice(3).trim();
    return said ? { ok: true, action: { kind: 'say', text: said } } : { ok: false, error: 'say needs a message' };
  }
  const calls: Call[] = [];
  let i = 0;
  for (;;) {
    const rest = line.slice(i);
    if (!rest.startsWith('call ')) return { ok: false, error: `expected "call NAME {json}" or "say TEXT" at: ${rest.slice(0, 30)}` };
    i += 5;
    while (line[i] === ' ') i++;
    const name = NAME.exec(line.slice(i))?.[0];
    if (!name) return { ok: false, error: `expected a tool name at: ${line.slice(i, i + 30)}` };
    i += name.length;
    while (line[i] === ' ') i++;
    if (line[i] !== '{') return { ok: false, error: `expected a JSON object of arguments after ${name}` };
    const end = objectEnd(line, i);
    if (end < 0) return { ok: false, error: `unclosed arguments of ${name}` };
    let args: unknown;
    try {
      args = JSON.parse(line.slice(i, end));
    } catch (err) {
      return { ok: false, error: `arguments of ${name}: ${(err as Error).message}` };
    }
    if (args === null || typeof args !== 'object' || Array.isArray(args))
      return { ok: false, error: `arguments of ${name}: not an object` };
    calls.push({ name, args: args as Record<string, unknown>, json: JSON.stringify(args) });
    i = end;
    while (line[i] === ' ') i++;
    if (i >= line.length) return { ok: true, action: { kind: 'calls', calls } };
    if (line[i] !== ';') return { ok: false, error: `expected " ; " between calls at: ${line.slice(i, i + 30)}` };
    i++;
    while (line[i] === ' ') i++;
  }
}

/** One line of text: newlines and runs of spaces become one space. */
const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** The canonical text form (compact JSON, key order as given). */
export function renderToolAction(action: ToolAction): string {
  if (action.kind === 'say') return `say ${oneLine(action.text)}`;
  return action.calls.map((c) => `call ${c.name} ${c.json}`).join(' ; ');
}

/** A call built in code (arguments serialised compactly, in the key order given). */
export function callOf(name: string, args: Record<string, unknown>): Call {
  return { name, args, json: JSON.stringify(args) };
}

/** The text form of an OpenAI assistant message: its tool calls if it has any, else its content as a reply. */
export function actionOfMessage(message: Extract<ChatMessage, { role: 'assistant' }>): ToolAction {
  if (message.tool_calls?.length) {
    return {
      kind: 'calls',
      calls: message.tool_calls.map((tc) => {
        const args = JSON.parse(tc.function.arguments) as unknown;
        if (args === null || typeof args !== 'object' || Array.isArray(args)) {
          throw new Error(`tool call ${tc.id}: arguments are not a JSON object`);
        }
        return callOf(tc.function.name, args as Record<string, unknown>);
      }),
    };
  }
  return { kind: 'say', text: oneLine(message.content ?? '') };
}

/** The OpenAI assistant message of an action; call ids are `${idPrefix}_${k}`. */
export function messageOfAction(action: ToolAction, idPrefix: string): Extract<ChatMessage, { role: 'assistant' }> {
  if (action.kind === 'say') return { role: 'assistant', content: action.text };
  const tool_calls: ToolCall[] = action.calls.map((c, k) => ({
    id: `${idPrefix}_${k}`,
    type: 'function',
    function: { name: c.name, arguments: c.json },
  }));
  return { role: 'assistant', content: null, tool_calls };
}
