// Pieces every domain's suite shares: the expert transcript of bash tool calls, and the split of a trajectory's
// steps into candidate turns.
import type { ChatMessage, Step } from '../core/schemas';

/** An OpenAI chat transcript: system, user goal, one `bash` tool call and its output per step, then "done". */
export function bashTranscript(systemPrompt: string, goal: string, steps: Step[]): ChatMessage[] {
  const messages: ChatMessage[] = [
    { role: 'system', content: systemPrompt },
    { role: 'user', content: goal },
  ];
  steps.forEach((step, t) => {
    const id = `call_${t}`;
    messages.push({
      role: 'assistant',
      content: null,
      tool_calls: [{ id, type: 'function', function: { name: 'bash', arguments: JSON.stringify({ command: step.action }) } }],
    });
    messages.push({ role: 'tool', tool_call_id: id, content: step.output });
  });
  messages.push({ role: 'assistant', content: 'done' });
  return messages;
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
