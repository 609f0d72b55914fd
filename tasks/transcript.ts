// Pieces every domain's suite shares: the expert transcript of bash tool calls, and the split of a trajectory's
// steps into candidate turns.
import type { ChatMessage, Step } from '../core/schemas';
import type { ToolDefinition } from '../core/domains/tool';
import { DONE_ACTION } from './actions';

/** The one tool of the terminal and SWE domains, in the OpenAI `tools` shape. */
export const BASH_TOOL: ToolDefinition = {
  type: 'function',
  function: {
    name: 'bash',
    description: 'Run one shell command in the task workspace and return what it printed.',
    parameters: {
      type: 'object',
      properties: { command: { type: 'string', description: 'The command line to run.' } },
      required: ['command'],
      additionalProperties: false,
    },
  },
};

/** An OpenAI chat conversation: system, user goal, then one `bash` tool call and its output per step. */
export function bashConversation(systemPrompt: string, goal: string, steps: Step[]): ChatMessage[] {
  const messages: ChatMessage[] = [
    { role: 'system', content: systemPrompt },
    { role: 'user', content: goal },
  ];
  steps.forEach((step, t) => {
    const id = `call_${t}`;
    messages.push({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id, type: 'function', function: { name: BASH_TOOL.function.name, arguments: JSON.stringify({ command: step.action }) } },
      ],
    });
    messages.push({ role: 'tool', tool_call_id: id, content: step.output });
  });
  return messages;
}

/** An expert's whole transcript: the conversation of its steps, then "done". */
export function bashTranscript(systemPrompt: string, goal: string, steps: Step[]): ChatMessage[] {
  return [...bashConversation(systemPrompt, goal, steps), { role: 'assistant', content: DONE_ACTION }];
}

/** Candidate turn t: the task with the expert's steps before t as history, and step t's action as a*_t. */
export function turnsFromSteps<T extends { id: string; domain: string; task: unknown }>(traj: T, steps: Step[]) {
  return steps.map((step, t) => ({
    id: `${traj.id}#${t}`,
    trajectoryId: traj.id,
    index: t,
    domain: traj.domain as T['domain'],
    task: traj.task as T['task'],
    history: steps.slice(0, t),
    expert: step.action,
  }));
}
