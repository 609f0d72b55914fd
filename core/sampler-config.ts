// Where policy samples come from (the config's `policy.sampler`). policy/ implements both kinds.
import { z } from 'zod';
import { isHttpsOrLoopback } from './loopback';

/** The only environment variables a sampler may name as its key: a config cannot send the worker's other secrets. */
export const SAMPLER_KEY_ENV_PREFIX = 'PIVOTRL_SAMPLER_';
/** Longest request timeout (setTimeout's own limit is 2^31 ms). */
export const MAX_REQUEST_TIMEOUT_MS = 10 * 60_000;

/**
 * Where samples come from: the local engine (our checkpoints), or any OpenAI-compatible chat-completions endpoint
 * (a served model; sampling only, it cannot be trained). The API key is read from the environment variable named by
 * `apiKeyEnv` on the worker (PIVOTRL_SAMPLER_*), never written in the config; it goes only over https, or plain http
 * to a loopback host.
 */
export const SamplerConfig = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local') }).strict(),
  z
    .object({
      kind: z.literal('openai'),
      /** e.g. https://llm.example.com/v1 or http://127.0.0.1:8000/v1 (the client POSTs `${baseUrl}/chat/completions`). */
      baseUrl: z
        .url({ protocol: /^https?$/ })
        .refine(isHttpsOrLoopback, 'must be https unless its host is loopback (127.0.0.0/8, localhost, ::1)'),
      model: z.string().min(1),
      apiKeyEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the NAME of an environment variable holding the key, not the key')
        .refine(
          (name) => name.startsWith(SAMPLER_KEY_ENV_PREFIX) && name.length > SAMPLER_KEY_ENV_PREFIX.length,
          `must start with ${SAMPLER_KEY_ENV_PREFIX} (the only variables a sampler may read its key from)`,
        )
        .optional(),
      /** Requests in flight at once (one request per prompt, n samples each). */
      maxConcurrency: z.number().int().positive().max(256).default(4),
      /** Per request, retries included separately. */
      timeoutMs: z.number().int().positive().max(MAX_REQUEST_TIMEOUT_MS).default(60_000),
      /** Attempts per request on 429, 5xx, timeouts and connection errors. */
      maxAttempts: z.number().int().positive().max(20).default(5),
      /**
       * 'chat': each state as a chat conversation (system, user, assistant tool calls, tool results) with the task's
       * tools, the reply read from `tool_calls` or `content` (policy/openai.ts); 'text': the local policy's rendered
       * prompt as one user message, the reply's text taken as it is (a prompt-completion model served as chat).
       */
      promptFormat: z.enum(['chat', 'text']).default('chat'),
    })
    .strict(),
]);
export type SamplerConfig = z.infer<typeof SamplerConfig>;
export type SamplerConfigInput = z.input<typeof SamplerConfig>;
