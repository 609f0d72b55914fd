// The config-derived settings the generate and verify stages receive, with the config's own bounds (core/config.ts
// builds its fields from these): the activities re-check them, so a workflow input that skipped the config schema
// cannot ask a worker for unbounded work, a timer past setTimeout's limit or a sampler the schema refuses.
import { z } from 'zod';
import { LIMITS, MAX_TEMPERATURE } from './hyper';
import { SamplerConfig } from './sampler-config';
import { VerifierKind } from './schemas';

const positiveInt = z.number().int().positive();

/** Longest a sandbox may run one action (setTimeout's own limit is 2^31 ms). */
export const MAX_ACTION_TIMEOUT_MS = 10 * 60_000;

/** How a generate stage samples. */
export const SamplingSettings = z.object({
  n: positiveInt.max(LIMITS.samplesPerPrompt),
  /** 0: greedy (evaluation). */
  temperature: z.number().min(0).max(MAX_TEMPERATURE),
  topP: z.number().gt(0).max(1),
  /** Generation limit; absent: each prompt row's own (its domain's), or DEFAULT_MAX_TOKENS. */
  maxTokens: positiveInt.max(256).optional(),
  seed: z.number().int(),
  /** Where the samples come from (absent: the local engine). */
  sampler: SamplerConfig.optional(),
});
export type SamplingSettings = z.infer<typeof SamplingSettings>;

/** How a verify stage runs its verifier. */
export const VerifySettings = z.object({
  verifier: VerifierKind,
  /** Sandboxes at once. */
  concurrency: positiveInt.max(64),
  actionTimeoutMs: positiveInt.max(MAX_ACTION_TIMEOUT_MS),
  /** Tool-use verifier: word overlap at or above which two longer strings or two messages agree (absent in inputs
   * recorded before it existed: the verifier's default applies). */
  wordOverlap: z.number().gt(0).max(1).optional(),
});
export type VerifySettings = z.infer<typeof VerifySettings>;
