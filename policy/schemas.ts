// Records that cross the policy engine boundary (activities <-> engine thread). No tensor code here,
// so the main thread can import it without loading TensorFlow.js.
import { z } from 'zod';
import { GrpoHyper, SftHyper } from '../core/hyper';

export { GrpoHyper, SftHyper } from '../core/hyper';
export { SamplerConfig, type SamplerConfigInput } from '../core/sampler-config';

export const ModelConfig = z
  .object({
    vocab: z.number().int().positive(),
    ctx: z.number().int().min(8),
    layers: z.number().int().positive(),
    width: z.number().int().positive(),
    heads: z.number().int().positive(),
  })
  .refine((c) => c.width % c.heads === 0, { message: 'width must be divisible by heads', path: ['heads'] });
export type ModelConfig = z.infer<typeof ModelConfig>;

/** Default size: fast on the single-threaded wasm backend (see policy/README.md for the measurements). */
export const DEFAULT_MODEL: ModelConfig = { vocab: 101, ctx: 256, layers: 2, width: 128, heads: 4 };

export const SampleOptions = z.object({
  /** Samples per prompt. */
  n: z.number().int().positive(),
  /** 0 = greedy. */
  temperature: z.number().min(0),
  topP: z.number().gt(0).max(1).default(1),
  maxTokens: z.number().int().positive(),
  /** Generation ends when the text ends with one of these (the stop is not part of `text`). */
  stop: z.array(z.string().min(1)).default([]),
  seed: z.number().int(),
  /**
   * One seed per prompt, instead of promptSeed(seed, i): a caller that samples prompts one at a time (the
   * OpenAI-compatible server) draws what one batched call would.
   */
  promptSeeds: z.array(z.number().int()).optional(),
  /**
   * Pads the prompts' shared prefix pass to at least this many positions. The engine's threads sample shares of one
   * batch with the whole batch's padding, so every row computes exactly what the whole batch would.
   */
  prefixPad: z.number().int().nonnegative().optional(),
});
export type SampleOptions = z.input<typeof SampleOptions>;

export const Completion = z.object({
  /** Generated text without the stop string. */
  text: z.string(),
  /** The stop string that ended generation, or null if it hit maxTokens. */
  stop: z.string().nullable(),
  /**
   * log pi(token | prefix) of every generated token (the text's tokens, then the stop's tokens) under the
   * model's logits at temperature 1, whatever temperature/top-p drew the token: what the PPO ratio needs.
   */
  logprobs: z.array(z.number()),
  /** Set when the sampler returned no logprobs (a served model may not): `logprobs` is then empty; it cannot train. */
  logprobsMissing: z.literal(true).optional(),
  /** Set when a served chat model's reply is no action of its domain: why (policy/chat-reply.ts); `text` is then empty. */
  invalid: z.string().optional(),
});
export type Completion = z.infer<typeof Completion>;

/** The exact generated string a training item must use with `logprobs`: text plus the stop. */
export function generatedText(c: Pick<Completion, 'text' | 'stop'>): string {
  return c.text + (c.stop ?? '');
}

export const SftExample = z.object({
  prompt: z.string(),
  /** The target action INCLUDING its stop string (e.g. "ls -a\n"), so the policy learns to stop. */
  completion: z.string().min(1),
});
export type SftExample = z.infer<typeof SftExample>;

export const GrpoItem = z.object({
  prompt: z.string(),
  /** generatedText(sample): the sampled text plus its stop string. */
  completion: z.string().min(1),
  /** From pivotrl/grpo.ts groupAdvantages (drop masked samples; do not send them). */
  advantage: z.number().finite(),
  /** The sample's logprobs (one per completion token) from the policy that drew it. */
  oldLogprobs: z.array(z.number()),
});
export type GrpoItem = z.infer<typeof GrpoItem>;

export const NllRequest = z.object({
  checkpoint: z.string().min(1),
  /** Teacher-forced sequences: the completion's tokens are scored given the prompt. */
  sequences: z.array(SftExample),
});
export type NllRequest = z.input<typeof NllRequest>;

/** A sequence's negative log-likelihood: summed over its completion tokens (nll / tokens is the per-token mean). */
export const SequenceNll = z.object({ nll: z.number(), tokens: z.number().int().positive() });
export type SequenceNll = z.infer<typeof SequenceNll>;

export const TrainMetrics = z.object({
  /** Total loss (policy loss + beta * KL to the reference). */
  loss: z.number(),
  policy_loss: z.number(),
  /** Mean over action tokens of (ratio - 1) - log ratio (old vs new policy). 0 for SFT. */
  approx_kl: z.number(),
  /** Fraction of action tokens whose ratio left [1 - eps, 1 + eps]. 0 for SFT. */
  clipfrac: z.number(),
  /** Mean per-token entropy of the current policy on the action tokens. */
  entropy: z.number(),
  /** Mean k3 KL to the reference policy (0 when no reference). */
  kl_ref: z.number(),
  /** Global gradient norm before clipping. */
  grad_norm: z.number(),
  lr: z.number(),
  /** Action (completion) tokens in the batch. */
  tokens: z.number().int(),
  sequences: z.number().int(),
  /** Prompts that were left-truncated to fit the context. */
  truncated: z.number().int(),
  /** Optimiser steps of this lineage after this step. */
  step: z.number().int(),
  seconds: z.number(),
});
export type TrainMetrics = z.infer<typeof TrainMetrics>;

export const InitRequest = z.object({
  out: z.string().min(1),
  config: ModelConfig.default(DEFAULT_MODEL),
  seed: z.number().int(),
});
export type InitRequest = z.input<typeof InitRequest>;

export const SampleRequest = z.object({
  checkpoint: z.string().min(1),
  prompts: z.array(z.string()),
  opts: SampleOptions,
});

export const SftRequest = z.object({
  checkpoint: z.string().min(1),
  out: z.string().min(1),
  examples: z.array(SftExample).min(1),
  hp: SftHyper,
});
export type SftRequest = z.input<typeof SftRequest>;

export const GrpoRequest = z.object({
  checkpoint: z.string().min(1),
  out: z.string().min(1),
  /** Reference policy for the KL penalty (used when hp.beta > 0). */
  reference: z.string().min(1).optional(),
  items: z.array(GrpoItem).min(1),
  hp: GrpoHyper,
});
export type GrpoRequest = z.input<typeof GrpoRequest>;
