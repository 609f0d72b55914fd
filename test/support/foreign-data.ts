// Data as other tools write it, built by the tests themselves: NeMo-Gym pivot rows in NeMo-Gym's published shape
// (Responses API `input` items, flat `tools`, `expected_action`, null request options, `agent_ref`) and plain OpenAI
// chat conversations (`messages` with `tool_calls`, `tools`), none with PivotRL's `{ domain, task }` block.

export const BASH_TOOL = {
  type: 'function',
  name: 'bash',
  description: 'Run a shell command and return what it printed.',
  parameters: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'], additionalProperties: false },
  strict: true,
};

/** A flat Responses API function tool. */
export const flatTool = (name: string, properties: Record<string, unknown>, strict = false) => ({
  type: 'function',
  name,
  description: `The ${name} tool.`,
  parameters: { type: 'object', properties, required: Object.keys(properties) },
  strict,
});

/** Request options NeMo-Gym writes as null beside the input (import ignores them). */
const NULL_OPTIONS = {
  background: null,
  include: null,
  instructions: null,
  max_output_tokens: null,
  metadata: null,
  model: null,
  reasoning: null,
  temperature: null,
  top_p: null,
  user: '',
};

// Responses API input items. A message may leave out `type`; content is a string or a list of parts.
export const system = (text: string) => ({ role: 'system', content: text });
export const user = (text: string) => ({ role: 'user', content: text });
export const userParts = (text: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });
export const assistantSays = (id: string, text: string) => ({
  id,
  type: 'message',
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text, annotations: [] }],
});
export const reasoning = (id: string, text: string) => ({ id, type: 'reasoning', summary: [{ type: 'summary_text', text }] });
/** A function call; `args` as an object is written as JSON text, as the Responses API does (a string is kept as is). */
export const call = (callId: string, name: string, args: object | string) => ({
  type: 'function_call',
  id: `fc_${callId}`,
  call_id: callId,
  name,
  arguments: typeof args === 'string' ? args : JSON.stringify(args),
  status: 'completed',
});
export const output = (callId: string, text: string) => ({ type: 'function_call_output', call_id: callId, output: text });

/** One NeMo-Gym pivot row; `extra` adds top-level provenance fields (uuid, trajectory_id, patch...). */
export function nemoGymRow(input: unknown[], tools: unknown[], expected: unknown, extra: Record<string, unknown> = {}) {
  return {
    ...extra,
    responses_create_params: { ...NULL_OPTIONS, input, tools, parallel_tool_calls: false, tool_choice: 'auto' },
    expected_action: expected,
    agent_ref: { type: 'responses_api_agents', name: 'single_step_tool_use_with_argument_comparison_agent' },
  };
}

// Plain OpenAI chat.
export const chatTool = (name: string, properties: Record<string, unknown>) => ({
  type: 'function',
  function: { name, description: `The ${name} tool.`, parameters: { type: 'object', properties, required: Object.keys(properties) } },
});
export const CHAT_BASH_TOOL = chatTool('bash', { command: { type: 'string' } });
export const toolCall = (id: string, name: string, args: object) => ({
  id,
  type: 'function',
  function: { name, arguments: JSON.stringify(args) },
});

/** A plain chat terminal conversation: the goal, one bash call and its output per step, then the final reply. */
export function shellConversation(
  goal: string,
  steps: { command: string; output: string }[],
  reply: string,
  extra: Record<string, unknown> = {},
) {
  return {
    ...extra,
    messages: [
      { role: 'system', content: 'You are an agent with a shell.' },
      { role: 'user', content: goal },
      ...steps.flatMap((s, t) => [
        { role: 'assistant', content: null, tool_calls: [toolCall(`call_${t}`, 'bash', { command: s.command })] },
        { role: 'tool', tool_call_id: `call_${t}`, content: s.output },
      ]),
      { role: 'assistant', content: reply },
    ],
    tools: [CHAT_BASH_TOOL],
  };
}

export const jsonl = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)) + '\n').join('');
