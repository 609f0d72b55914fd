// Plain OpenAI chat JSONL (one conversation per line: `messages` with tool calls, and `tools`), without PivotRL's
// `{ domain, task }` block -> candidate turns. Every assistant message is a decision point, cut as NeMo-Gym cuts chat
// data into pivot rows (the messages before it as Responses input, its tool calls or its reply as the expected action),
// and each becomes a turn as such a row would (formats/nemo-gym-import.ts).
import { z } from 'zod';
import { ToolDefinition, ToolName } from '../core/domains/tool';
import { ImportFields } from './import-fields';
import { ArgumentsInput, ContentPart, textOf, type ExpectedAction, type FunctionTool, type InputItem } from './nemo-gym';
import { importRow, type ImportContext, type ImportedTurn } from './nemo-gym-import';

const Content = z.union([z.string(), z.array(ContentPart)]).nullish();

const ChatToolCall = z.object({
  id: z.string().min(1),
  type: z.literal('function').default('function'),
  function: z.object({
    name: ToolName,
    arguments: ArgumentsInput.refine((a) => {
      try {
        const v = JSON.parse(a) as unknown;
        return v !== null && typeof v === 'object' && !Array.isArray(v);
      } catch {
        return true; // not JSON at all: ArgumentsInput says so
      }
    }, 'must be a JSON object'),
  }),
});

const PlainMessage = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: Content }),
  z.object({ role: z.literal('developer'), content: Content }),
  z.object({ role: z.literal('user'), content: Content }),
  z.object({ role: z.literal('assistant'), content: Content, tool_calls: z.array(ChatToolCall).nullish() }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string().min(1), content: Content }),
]);
type PlainMessage = z.infer<typeof PlainMessage>;

const text = (content: z.infer<typeof Content>): string => (content == null ? '' : textOf(content));

/** An assistant message that is an action: it calls tools or says something. */
const isAction = (m: PlainMessage): m is Extract<PlainMessage, { role: 'assistant' }> =>
  m.role === 'assistant' && (!!m.tool_calls?.length || text(m.content).trim() !== '');

/** One plain chat conversation, as OpenAI's chat format (and its fine-tuning files) write it. */
export const PlainChatRecord = ImportFields.extend({
  id: z.union([z.string().min(1), z.number()]).optional(),
  messages: z.array(PlainMessage).min(2),
  /** OpenAI chat tools ({ type: 'function', function: { name, description, parameters } }). */
  tools: z.array(ToolDefinition).nullish(),
}).superRefine((record, ctx) => {
  const callIds = new Set<string>();
  let asked = false;
  let acted = false;
  record.messages.forEach((m, i) => {
    if (m.role === 'user' && text(m.content).trim()) asked = true;
    if (m.role === 'assistant') m.tool_calls?.forEach((c) => callIds.add(c.id));
    if (m.role === 'tool' && !callIds.has(m.tool_call_id))
      ctx.addIssue({ code: 'custom', path: ['messages', i, 'tool_call_id'], message: `no earlier tool call has id '${m.tool_call_id}'` });
    if (isAction(m) && !acted) {
      acted = true;
      if (!asked)
        ctx.addIssue({
          code: 'custom',
          path: ['messages', i],
          message: "no user message before the first action: the task's goal is missing",
        });
    }
  });
  if (!acted)
    ctx.addIssue({ code: 'custom', path: ['messages'], message: 'no assistant message with tool calls or text: no action to learn' });
});
export type PlainChatRecord = z.infer<typeof PlainChatRecord>;

/** The Responses input items of a chat message (reasoning is not kept: it is not part of any state here). */
function itemsOf(m: PlainMessage): InputItem[] {
  switch (m.role) {
    case 'system':
    case 'developer':
    case 'user':
      return [{ type: 'message', role: m.role, content: text(m.content) }];
    case 'assistant': {
      // Calls take precedence over text, as in the action: narration beside calls is not a step of its own.
      if (m.tool_calls?.length)
        return m.tool_calls.map((c) => ({ type: 'function_call', call_id: c.id, name: c.function.name, arguments: c.function.arguments }));
      const said = text(m.content).trim();
      return said ? [{ type: 'message', role: 'assistant', content: said }] : [];
    }
    case 'tool':
      return [{ type: 'function_call_output', call_id: m.tool_call_id, output: text(m.content) }];
  }
}

/** An assistant message as NeMo-Gym's expected action: its calls (several: one batch), else its reply. */
function actionOf(m: Extract<PlainMessage, { role: 'assistant' }>): ExpectedAction {
  const calls = (m.tool_calls ?? []).map((c) => ({
    type: 'function_call' as const,
    name: c.function.name,
    arguments: c.function.arguments,
  }));
  if (calls.length === 0) return { type: 'message', content: text(m.content).trim() };
  return calls.length === 1 ? calls[0] : { type: 'function_call_batch', calls };
}

/** The candidate turns of a plain chat record: one per assistant action, in order. */
export function importChat(record: PlainChatRecord, ctx: ImportContext): ImportedTurn[] {
  const trajectoryId = record.id === undefined ? ctx.fallbackId : String(record.id);
  const tools: FunctionTool[] = (record.tools ?? []).map((t) => ({
    type: 'function',
    name: t.function.name,
    description: t.function.description,
    parameters: t.function.parameters,
    strict: false,
  }));
  // Every turn of the conversation is offered the same tools: the listed ones and any other it calls (no schema).
  for (const m of record.messages)
    if (m.role === 'assistant')
      for (const c of m.tool_calls ?? [])
        if (!tools.some((t) => t.name === c.function.name))
          tools.push({ type: 'function', name: c.function.name, parameters: { type: 'object' }, strict: false });
  const input: InputItem[] = [];
  const turns: ImportedTurn[] = [];
  for (const m of record.messages) {
    if (isAction(m)) {
      const index = turns.length;
      const row = { responses_create_params: { input: [...input], tools }, expected_action: actionOf(m) };
      turns.push(importRow(row, record, ctx, { id: `${trajectoryId}#${index}`, trajectoryId, index }));
    }
    input.push(...itemsOf(m));
  }
  return turns;
}
