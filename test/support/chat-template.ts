// Our model's "chat template" and "tool-call parser", for the test server (openai-server.ts): a conversation the
// sampler sends in its chat format (core/chat-prompt.ts) rendered back into the prompt the local policy reads, and
// the policy's action text written as the reply a tool-calling server returns (a `bash` call, tool calls, or content).
// Like a real template it knows a conversation by its system prompt; one it does not know is refused.
import type { ChatMessage, Domain, Step } from '../../core/schemas';
import { DONE_ACTION } from '../../tasks/actions';
import { renderSwePrompt } from '../../tasks/swe/render';
import { SWE_SYSTEM_PROMPT } from '../../tasks/swe/suite';
import { expertSteps, renderTerminalPrompt } from '../../tasks/terminal/render';
import { TERMINAL_SYSTEM_PROMPT } from '../../tasks/terminal/suite';
import { parseAction } from '../../tasks/tool/action';
import { renderToolPrompt, toolExpertSteps } from '../../tasks/tool/render';
import { TOOL_SYSTEM_PROMPT } from '../../tasks/tool/suite';

const DOMAIN_OF_SYSTEM = new Map<string, Domain>([
  [TERMINAL_SYSTEM_PROMPT, 'terminal'],
  [SWE_SYSTEM_PROMPT, 'swe'],
  [TOOL_SYSTEM_PROMPT, 'tool'],
]);

/** The rendered prompt of a conversation (system, user goal, earlier turns), or why it cannot be rendered. */
export function promptOfConversation(messages: ChatMessage[]): { prompt: string; domain: Domain } | { error: string } {
  const [system, user] = messages;
  const domain = system?.role === 'system' ? DOMAIN_OF_SYSTEM.get(system.content) : undefined;
  if (!domain || user?.role !== 'user') return { error: 'a conversation starts with one of our system prompts, then the user goal' };
  const goal = user.content;
  const steps: Step[] =
    domain === 'tool' ? toolExpertSteps({ messages } as Parameters<typeof toolExpertSteps>[0]) : expertSteps({ messages });
  const render = { terminal: renderTerminalPrompt, swe: renderSwePrompt, tool: renderToolPrompt }[domain];
  return { prompt: render(goal, steps), domain };
}

/** The assistant message a tool-calling server returns for the policy's action text. */
export function replyOfAction(text: string, domain: Domain): { role: 'assistant'; content: string | null; tool_calls?: object[] } {
  const call = (k: number, name: string, args: string) => ({ id: `call_${k}`, type: 'function', function: { name, arguments: args } });
  if (domain !== 'tool') {
    if (text === DONE_ACTION) return { role: 'assistant', content: text };
    return { role: 'assistant', content: null, tool_calls: [call(0, 'bash', JSON.stringify({ command: text }))] };
  }
  const parsed = parseAction(text);
  if (parsed.ok && parsed.action.kind === 'calls')
    return { role: 'assistant', content: null, tool_calls: parsed.action.calls.map((c, k) => call(k, c.name, c.json)) };
  // A reply, or text the parser does not read as calls (a real parser hands it back as content too).
  return { role: 'assistant', content: parsed.ok && parsed.action.kind === 'say' ? parsed.action.text : text };
}
