// The NeMo-Gym pivot row: one candidate state and its expert action, as NeMo-Gym's single-step verifiers and
// NeMo-RL's NeMo-Gym datasets read it (JSON Lines, one row per line).
//
// Based on (NVIDIA-NeMo/Gym, snapshot 07d6b0d of 2026-08-22):
// - .agents/skills/nemo-gym-pivot-datasets/references/row-contract.md: required top-level fields
//   `responses_create_params`, `expected_action`, `agent_ref` ({ type: 'responses_api_agents', name }); other
//   fields are optional provenance; `input` is the model-call prefix before the pivot action, `tools` the full
//   tool list at that state, `tool_choice` 'auto', null optional fields omitted; `expected_action` is ONE
//   `function_call` (name + JSON-string arguments) or `message` (content), and its tool must be among `tools`.
// - .agents/skills/nemo-gym-pivot-datasets/scripts/validate_pivot_dataset.py: the same checks as code (input a
//   non-empty list, tools a list, metadata omitted or non-null, arguments decode as JSON).
// - resources_servers/single_step_tool_use_with_argument_comparison/common/verification_utils.py: ExpectedAction
//   = MessageAction | FunctionCallAction | FunctionCallBatchAction (`function_call_batch`, `calls`). The batch came
//   with "PivotRL parallel tool calls" (#2463, 2026-08-11), after the skill's validator, which still rejects it; a
//   Gym config reading batch rows sets tool_call_comparator_config.parallel_tool_call_rewarding: true.
// - nemo_gym/openai_utils.py: NeMoGymResponseCreateParamsNonStreaming and its input items (EasyInputMessage with
//   `type` defaulting to 'message'; function_call { call_id, name, arguments, id?, status? };
//   function_call_output { call_id, output, id?, status? }; reasoning { id, summary }); its `tools` are openai-python's
//   responses FunctionToolParam ({ type: 'function', name, parameters, strict, description? }).
// - docs.nvidia.com/nemo/gym "Data": each JSONL line needs `responses_create_params` (the OpenAI Responses API
//   request); `agent_ref` is stamped by data preparation — so rows read here may lack it, rows written must not.
import { z } from 'zod';
import { Domain } from '../core/schemas';
import { Reward } from '../pivotrl/pivots';

const Status = z.enum(['in_progress', 'completed', 'incomplete']);

/** A JSON string (tool arguments are JSON text in the Responses API). */
const JsonText = z.string().refine((s) => {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}, 'must be a string of valid JSON');

/** Tool arguments as import reads them: JSON text, or the object itself (some writers store it parsed). */
export const ArgumentsInput = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? JSON.stringify(v) : v),
  JsonText,
);

/** A content part of a message: input_text, output_text, refusal, images... Only the text is used here. */
export const ContentPart = z.object({ type: z.string().min(1), text: z.string().optional() });

export const MessageItem = z.object({
  type: z.literal('message'),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(ContentPart)]),
  id: z.string().nullish(),
  status: Status.nullish(),
});

export const FunctionCallItem = z.object({
  type: z.literal('function_call'),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: JsonText,
  id: z.string().nullish(),
  status: Status.nullish(),
});

export const FunctionCallOutputItem = z.object({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(ContentPart)]),
  id: z.string().nullish(),
  status: Status.nullish(),
});

export const ReasoningItem = z.object({
  type: z.literal('reasoning'),
  id: z.string().nullish(),
  summary: z.array(z.object({ text: z.string(), type: z.string().optional() })).default([]),
  encrypted_content: z.string().nullish(),
});

/** A message may omit `type` (it defaults to 'message'). */
const defaultMessageType = (v: unknown) => (v && typeof v === 'object' && !('type' in v) && 'role' in v ? { ...v, type: 'message' } : v);

/** An item of `responses_create_params.input`. */
export const InputItem = z.preprocess(
  defaultMessageType,
  z.discriminatedUnion('type', [MessageItem, FunctionCallItem, FunctionCallOutputItem, ReasoningItem]),
);
export type InputItem = z.infer<typeof InputItem>;
/** What import accepts of an input item: a function call's arguments may be an object. */
const InputItemInput = z.preprocess(
  defaultMessageType,
  z.discriminatedUnion('type', [
    MessageItem,
    FunctionCallItem.extend({ arguments: ArgumentsInput }),
    FunctionCallOutputItem,
    ReasoningItem,
  ]),
);

/** A function tool (openai-python responses FunctionToolParam: `parameters` and `strict` required, may be null). */
export const FunctionTool = z.object({
  type: z.literal('function'),
  name: z.string().min(1),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullable(),
  strict: z.boolean().nullable(),
});
export type FunctionTool = z.infer<typeof FunctionTool>;
/** What import accepts of a tool: `parameters` and `strict` may be left out. */
const FunctionToolInput = FunctionTool.extend({
  parameters: FunctionTool.shape.parameters.optional(),
  strict: FunctionTool.shape.strict.optional(),
});

/** The Responses API request for the model call at the pivot state (the fields a pivot row uses). */
export const ResponsesCreateParams = z.object({
  input: z.array(InputItem).min(1),
  tools: z.array(FunctionTool),
  parallel_tool_calls: z.boolean().optional(),
  tool_choice: z.literal('auto').optional(),
});

export const FunctionCallAction = z.object({ type: z.literal('function_call'), name: z.string().min(1), arguments: JsonText });
export const MessageAction = z.object({ type: z.literal('message'), content: z.string() });
export const FunctionCallBatchAction = z.object({ type: z.literal('function_call_batch'), calls: z.array(FunctionCallAction).min(1) });
export const ExpectedAction = z.discriminatedUnion('type', [FunctionCallAction, MessageAction, FunctionCallBatchAction]);
export type ExpectedAction = z.infer<typeof ExpectedAction>;
/** What import accepts of the expected action: `arguments` as JSON text or as an object. */
const FunctionCallActionInput = FunctionCallAction.extend({ arguments: ArgumentsInput });
const ExpectedActionInput = z.discriminatedUnion('type', [
  FunctionCallActionInput,
  MessageAction,
  FunctionCallBatchAction.extend({ calls: z.array(FunctionCallActionInput).min(1) }),
]);

/** What a domain contributes to a row: the model-call prefix, the tools offered, the expected action. */
export interface RowParts {
  input: InputItem[];
  tools: FunctionTool[];
  action: ExpectedAction;
}

export const AgentRef = z.object({ type: z.literal('responses_api_agents'), name: z.string().min(1) });

/** K verified samples of pi0 at this state: the rewards (null = masked), mean mu and variance var over the kept ones. */
export const PivotProfileStats = z.object({
  k: z.number().int().nonnegative(),
  rewards: z.array(Reward),
  n: z.number().int().nonnegative(),
  masked: z.number().int().nonnegative(),
  mu: z.number().min(0).max(1),
  var: z.number().min(0),
});

/**
 * Our provenance object (the contract leaves other top-level fields to the dataset). `domain` and `task` let
 * PivotRL rebuild the state (e.g. a terminal task's files and final check); the profile is the offline statistics.
 */
export const PivotrlProvenance = z.object({
  domain: Domain,
  task: z.unknown(),
  turn_id: z.string().min(1).optional(),
  trajectory_id: z.string().min(1).optional(),
  index: z.number().int().nonnegative().optional(),
  profile: PivotProfileStats.optional(),
});

const toolNames = (tools: { name: string }[]) => new Set(tools.map((t) => t.name));
const expectedCalls = (a: ExpectedAction) => (a.type === 'function_call' ? [a] : a.type === 'function_call_batch' ? a.calls : []);

const rowShape = {
  uuid: z.string().min(1).optional(),
  responses_create_params: ResponsesCreateParams,
  expected_action: ExpectedAction,
  agent_ref: AgentRef,
  pivotrl: PivotrlProvenance.optional(),
};

type RowLike = { responses_create_params: { tools: { name: string }[] }; expected_action: ExpectedAction };

/** Every expected tool is offered in `tools` (the contract's check; skipped when a row offers no tools at all). */
function checkToolNames(row: RowLike, ctx: z.RefinementCtx, allowNoTools: boolean) {
  const offered = toolNames(row.responses_create_params.tools);
  if (allowNoTools && offered.size === 0) return;
  const a = row.expected_action;
  expectedCalls(a).forEach((call, i) => {
    if (!offered.has(call.name)) {
      ctx.addIssue({
        code: 'custom',
        path: a.type === 'function_call_batch' ? ['expected_action', 'calls', i, 'name'] : ['expected_action', 'name'],
        message: `tool '${call.name}' is not among responses_create_params.tools`,
      });
    }
  });
}

/** The row contract, as written: every row PivotRL exports parses with this. */
export const NemoGymPivotRow = z.object(rowShape).superRefine((row, ctx) => checkToolNames(row, ctx, false));
export type NemoGymPivotRow = z.infer<typeof NemoGymPivotRow>;

/**
 * What import accepts: the contract, but `agent_ref` may be missing (rows before data preparation) and `tools` too
 * (some pivot datasets omit it), tool arguments may be objects rather than JSON text; unknown fields, including
 * null-valued Responses API options, are ignored.
 */
export const NemoGymPivotRowInput = z
  .object({
    ...rowShape,
    agent_ref: AgentRef.optional(),
    expected_action: ExpectedActionInput,
    responses_create_params: ResponsesCreateParams.extend({
      input: z.array(InputItemInput).min(1),
      tools: z.array(FunctionToolInput).default([]),
      parallel_tool_calls: z.boolean().nullish(),
      tool_choice: z.literal('auto').nullish(),
    }),
  })
  .superRefine((row, ctx) => checkToolNames(row, ctx, true));
export type NemoGymPivotRowInput = z.infer<typeof NemoGymPivotRowInput>;

/** The text of a message's or tool output's content (text parts joined). */
export const textOf = (content: string | { text?: string }[]): string =>
  typeof content === 'string' ? content : content.map((p) => p.text ?? '').join('');
