// A served chat model's reply read back as the action the local policy writes: a `bash` call as its command, tool
// calls as `call NAME {json}` (tasks/tool/action.ts), a message as `say TEXT` or "done". A reply that is no action of
// its domain (arguments that are not a JSON object, a call of another tool, a reply cut at the token limit) becomes
// an invalid action: empty text and the reason, judged reward 0 with that reason (pipeline/verify.ts), not an error.
import { z } from 'zod';
import type { ReplyKind } from '../core/chat-prompt';
import { ToolName } from '../core/domains/tool';
import { firstIssue } from '../core/zod-errors';
import { DONE_ACTION } from '../tasks/actions';
import { callOf, renderToolAction, type Call } from '../tasks/tool/action';
import { BASH_TOOL } from '../tasks/transcript';

/** A tool call as servers return it: `arguments` a JSON string (the API's shape) or an object (some servers). */
const ReplyToolCall = z.object({
  function: z.object({
    name: ToolName,
    arguments: z.union([z.string(), z.record(z.string(), z.unknown())]),
  }),
});

/** The assistant message of a choice, as far as it is read; each tool call is checked on its own (a bad one is an invalid action). */
export const ReplyMessage = z.object({
  content: z.string().nullable().optional(),
  tool_calls: z.array(z.unknown()).nullable().optional(),
});
export type ReplyMessage = z.infer<typeof ReplyMessage>;

/** The action text, or why the reply is none (the text is then empty). */
export type ReplyAction = { text: string; invalid?: undefined } | Invalid;
type Invalid = { text: ''; invalid: string };

const invalid = (reason: string): Invalid => ({ text: '', invalid: reason });
const clip = (text: string, n = 80) => (text.length <= n ? text : `${text.slice(0, n - 3)}...`);

/** The action of a reply; `finishReason` 'length' means the model was cut off at max_tokens. */
export function actionOfReply(message: ReplyMessage, finishReason: string | null | undefined, kind: ReplyKind): ReplyAction {
  const raw = message.tool_calls ?? [];
  if (raw.length === 0) {
    const content = (message.content ?? '').trim();
    if (finishReason === 'length')
      return invalid(`cut off at the token limit before a complete action (raise sampling maxTokens): "${clip(content)}"`);
    if (content === '') return { text: '' };
    if (kind === 'action') return { text: renderToolAction({ kind: 'say', text: content }) };
    return /^done[.!]?$/i.test(content)
      ? { text: DONE_ACTION }
      : invalid(`no ${BASH_TOOL.function.name} call, and a reply without one must be "${DONE_ACTION}": "${clip(content)}"`);
  }
  const calls: Call[] = [];
  for (const [k, item] of raw.entries()) {
    const call = callOfReply(item, k);
    if ('invalid' in call) return call;
    calls.push(call);
  }
  if (kind === 'action') return { text: renderToolAction({ kind: 'calls', calls }) };
  return commandOf(calls);
}

/** Tool call k of a reply, its arguments parsed. */
function callOfReply(item: unknown, k: number): Call | Invalid {
  const parsed = ReplyToolCall.safeParse(item);
  if (!parsed.success) return invalid(`tool call ${k}: ${firstIssue(parsed.error)}`);
  const { name, arguments: args } = parsed.data.function;
  let value: unknown = args;
  if (typeof args === 'string') {
    try {
      value = JSON.parse(args);
    } catch (err) {
      return invalid(`tool call ${k} (${name}): arguments are not JSON (${(err as Error).message}): ${clip(args)}`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return invalid(`tool call ${k} (${name}): arguments are not a JSON object: ${clip(JSON.stringify(value))}`);
  return callOf(name, value as Record<string, unknown>);
}

/** The command of a terminal or SWE reply: exactly one call of the bash tool, with a string `command`. */
function commandOf(calls: Call[]): ReplyAction {
  const bash = BASH_TOOL.function.name;
  if (calls.length > 1) return invalid(`${calls.length} tool calls in one turn; the task takes one ${bash} command per turn`);
  const [call] = calls;
  if (call.name !== bash) return invalid(`tool call 0: '${call.name}' is not a tool of this task (its one tool is ${bash})`);
  const command = call.args.command;
  if (typeof command !== 'string') return invalid(`tool call 0 (${bash}): arguments need a string "command": ${clip(call.json)}`);
  return { text: command };
}
