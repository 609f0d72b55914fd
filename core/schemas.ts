// Records that cross a file, store or activity boundary. Types come from these schemas only.
import { z } from 'zod';

/** OpenAI-style chat messages, the usual SFT trajectory format. */
export const ToolCall = z.object({
  id: z.string(),
  type: z.literal('function').default('function'),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});
export type ToolCall = z.infer<typeof ToolCall>;

export const ChatMessage = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.string() }),
  z.object({ role: z.literal('user'), content: z.string() }),
  z.object({
    role: z.literal('assistant'),
    content: z.string().nullable().default(null),
    tool_calls: z.array(ToolCall).optional(),
  }),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: z.string() }),
]);
export type ChatMessage = z.infer<typeof ChatMessage>;

export const Domain = z.enum(['terminal']);
export type Domain = z.infer<typeof Domain>;

/** A file of a task's initial workspace (paths relative to the workspace root). */
const WorkspacePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'must be a relative path inside the workspace');

export const TaskFile = z.object({
  path: WorkspacePath,
  content: z.string(),
  mode: z.number().int().min(0).max(0o777).default(0o644),
});
export type TaskFile = z.infer<typeof TaskFile>;

/** A terminal task: an initial workspace, a goal, and a final check (a shell script, exit 0 = success). */
export const TerminalTask = z.object({
  id: z.string().min(1),
  template: z.string().min(1),
  goal: z.string().min(1),
  files: z.array(TaskFile),
  dirs: z.array(WorkspacePath).default([]),
  check: z.string().min(1),
  maxTurns: z.number().int().positive().default(8),
});
export type TerminalTask = z.infer<typeof TerminalTask>;

/** One expert trajectory: the task it solves and the chat transcript (assistant turns call the `bash` tool). */
export const Trajectory = z.object({
  id: z.string().min(1),
  domain: Domain,
  task: TerminalTask,
  messages: z.array(ChatMessage).min(2),
});
export type Trajectory = z.infer<typeof Trajectory>;

/** A step of an episode: the action taken and what it printed. */
export const Step = z.object({ action: z.string(), output: z.string() });
export type Step = z.infer<typeof Step>;

/** A candidate state s_t with its expert action a*_t. `history` holds the expert's earlier steps. */
export const Turn = z.object({
  id: z.string(),
  trajectoryId: z.string(),
  index: z.number().int().nonnegative(),
  domain: Domain,
  task: TerminalTask,
  history: z.array(Step),
  expert: z.string(),
});
export type Turn = z.infer<typeof Turn>;

/** An out-of-domain (non-agentic) item scored by exact match. */
export const OodItem = z.object({ id: z.string(), kind: z.string(), prompt: z.string(), answer: z.string() });
export type OodItem = z.infer<typeof OodItem>;

/** A policy sample for one turn. */
export const Sample = z.object({
  turnId: z.string(),
  index: z.number().int().nonnegative(),
  /** The action text, without the stop string. */
  text: z.string(),
  /** The stop string that ended generation, or null when the token limit did. */
  stop: z.string().nullable().optional(),
  /** log pi(token | prefix) of every generated token (text, then stop) under the sampling policy, for the PPO ratio. */
  logprobs: z.array(z.number()),
});
export type Sample = z.infer<typeof Sample>;

export const VerdictReason = z.enum([
  'equivalent',
  'exact_match',
  'different_files',
  'missing_output',
  'nonzero_exit',
  'exit_status_differs',
  'timeout',
  'resource_limit',
  'not_exact',
  'empty_action',
  'infrastructure',
]);
export type VerdictReason = z.infer<typeof VerdictReason>;

/** A verifier's verdict. `reward` is null when infrastructure failed twice: the sample is masked, never scored 0. */
export const Verdict = z.object({
  turnId: z.string(),
  index: z.number().int().nonnegative(),
  reward: z.union([z.literal(0), z.literal(1), z.null()]),
  reason: VerdictReason,
  detail: z.string().default(''),
});
export type Verdict = z.infer<typeof Verdict>;

export const VerifierKind = z.enum(['functional', 'strict']);
export type VerifierKind = z.infer<typeof VerifierKind>;
