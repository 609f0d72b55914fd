// A state as a served chat model sees it: the conversation so far in the OpenAI chat shape, the tools it may call,
// and how its reply reads back as an action (policy/chat-reply.ts). The local policy reads the rendered text instead.
import { z } from 'zod';
import { ToolDefinition } from './domains/tool';
import { ChatMessage } from './schemas';

/**
 * How a reply becomes the action the local policy would write:
 * - 'command' (terminal, SWE): the `command` of one call to the `bash` tool; a reply "done" without a call ends the episode;
 * - 'action' (tool use): the tool calls as `call NAME {json}` joined by " ; ", or a message to the user as `say TEXT`.
 */
export const ReplyKind = z.enum(['command', 'action']);
export type ReplyKind = z.infer<typeof ReplyKind>;

export const ChatPrompt = z.object({
  /** System (the domain's instructions), user (the task's goal), then per earlier step the assistant's turn and its results. */
  messages: z.array(ChatMessage).min(1),
  /** The function tools offered (OpenAI `tools`); none for a conversation without tools. */
  tools: z.array(ToolDefinition),
  reply: ReplyKind,
});
export type ChatPrompt = z.infer<typeof ChatPrompt>;
