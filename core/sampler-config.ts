// Where policy samples come from (the config's `policy.sampler`). policy/ implements both kinds.
import { z } from 'zod';

/**
 * Where samples come from: the local engine (our checkpoints), or any OpenAI-compatible chat-completions endpoint
 * (a served model; sampling only, it cannot be trained). The API key is read from the environment variable named by
 * `apiKeyEnv` on the worker, never written in the config.
 */
export const SamplerConfig = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local') }).strict(),
  z
    .object({
      kind: z.literal('openai'),
      /** e.g. http://127.0.0.1:8000/v1 (the client POSTs `${baseUrl}/chat/completions`). */
      baseUrl: z.url({ protocol: /^https?$/ }),
      model: z.string().min(1),
      apiKeyEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the NAME of an environment variable holding the key, not the key')
        .optional(),
      /** Requests in flight at once (one request per prompt, n samples each). */
      maxConcurrency: z.number().int().positive().max(256).default(4),
      /** Per request, retries included separately. */
      timeoutMs: z.number().int().positive().default(60_000),
      /** Attempts per request on 429, 5xx, timeouts and connection errors. */
      maxAttempts: z.number().int().positive().max(20).default(5),
    })
    .strict(),
]);
export type SamplerConfig = z.infer<typeof SamplerConfig>;
export type SamplerConfigInput = z.input<typeof SamplerConfig>;
