// Records that cross a file, store or activity boundary. Types come from these schemas only.
import { z } from 'zod';
import { TerminalTask, TerminalTurnTask } from './domains/terminal';
import { SweTask } from './domains/swe';
import { ToolTask } from './domains/tool';

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

/**
 * The task domains. Each has its task schema under core/domains/, its suite and prompt under tasks/<domain>/,
 * its verifier under verifiers/ and, where actions execute, its sandbox under sandboxes/.
 */
export const Domain = z.enum(['terminal', 'swe', 'tool']);
export type Domain = z.infer<typeof Domain>;

export { TaskFile } from './domains/common';
export { TerminalTask };
export { SandboxImage, TerminalReplayTask, TerminalTurnTask } from './domains/terminal';
export { SweTask, SweTests } from './domains/swe';
export { ToolTask, ToolDefinition, ShopState } from './domains/tool';

/** A step of an episode: the action taken (as the policy writes it) and what it printed. */
export const Step = z.object({ action: z.string(), output: z.string() });
export type Step = z.infer<typeof Step>;

// Records that hold a task carry its domain beside it; one union member per domain (add a domain here).

const trajectoryOf = <D extends Domain, T extends z.ZodTypeAny>(domain: D, task: T) =>
  z.object({ id: z.string().min(1), domain: z.literal(domain), task, messages: z.array(ChatMessage).min(2) });

/** One expert trajectory: the task it solves and the chat transcript in the OpenAI format. */
export const Trajectory = z.discriminatedUnion('domain', [
  trajectoryOf('terminal', TerminalTask),
  trajectoryOf('swe', SweTask),
  trajectoryOf('tool', ToolTask),
]);
export type Trajectory = z.infer<typeof Trajectory>;
export type Task = Trajectory['task'];

const turnOf = <D extends Domain, T extends z.ZodTypeAny>(domain: D, task: T) =>
  z.object({
    id: z.string(),
    trajectoryId: z.string(),
    index: z.number().int().nonnegative(),
    domain: z.literal(domain),
    task,
    /** The expert's earlier steps: the state s_t is the task plus this history. */
    history: z.array(Step),
    /** The expert action a*_t, as the policy would write it. */
    expert: z.string(),
  });

/**
 * A candidate state s_t with its expert action a*_t. A terminal turn's state is rebuilt from its task's workspace or,
 * for a trajectory imported without its task, by replaying the expert's commands in a sandbox image.
 */
export const Turn = z.discriminatedUnion('domain', [
  turnOf('terminal', TerminalTurnTask),
  turnOf('swe', SweTask),
  turnOf('tool', ToolTask),
]);
export type Turn = z.infer<typeof Turn>;

const taskRefOf = <D extends Domain, T extends z.ZodTypeAny>(domain: D, task: T) =>
  z.object({
    domain: z.literal(domain),
    task,
    /** The expert's transcript, as in a training trajectory: its turns are the held-out expert states (pipeline/turn-eval.ts). */
    messages: z.array(ChatMessage).min(2).optional(),
  });

/** A held-out task for evaluation episodes, with its domain (and, when the suite wrote it, its expert transcript). */
export const HeldoutTask = z.discriminatedUnion('domain', [
  taskRefOf('terminal', TerminalTask),
  taskRefOf('swe', SweTask),
  taskRefOf('tool', ToolTask),
]);
export type HeldoutTask = z.infer<typeof HeldoutTask>;

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
  /** Set when the sampler (a served model) returned no logprobs: `logprobs` is empty and the sample cannot train. */
  logprobsMissing: z.literal(true).optional(),
  /** Set when a served chat model's reply was no action of the domain: why. `text` is empty; the verdict is 0, `unparseable`. */
  invalid: z.string().optional(),
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
  /** SWE: after the edit, some test's pass/fail outcome differs from its outcome after the expert's edit. */
  'tests_differ',
  /**
   * Tool use: the action text is neither `call NAME {json}` (joined by ` ; `) nor `say TEXT`. Any domain: a served chat
   * model's reply that is no action of the domain (the sample's `invalid` says why).
   */
  'unparseable',
  /** Tool use: a call to another tool than the expert's. */
  'wrong_tool',
  /** Tool use: the right tool with arguments that differ (keys, types, values) from the expert's. */
  'wrong_arguments',
  /** Tool use: fewer calls than the expert's parallel batch (the ones made match). */
  'partial_calls',
  /** Tool use: more calls than the expert's parallel batch (the expert's all match). */
  'extra_calls',
  /** Tool use: the arguments pass, but the simulated backend ends in another state (or the call fails). */
  'backend_state_differs',
  /** Tool use: a message to the user where the expert called a tool. */
  'message_instead_of_call',
  /** Tool use: a tool call where the expert replied to the user. */
  'call_instead_of_message',
  /** Tool use: a reply to the user whose words or facts differ from the expert's reply. */
  'message_differs',
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
