// A sampler over any OpenAI-compatible chat-completions endpoint (a served model): the same `sample` call as the
// policy engine, for profiling pivots with a team's real model. Sampling only: a served model has no weights here.
//
// One request per prompt (n samples each), at most `maxConcurrency` in flight. 429, 5xx, timeouts and connection
// errors are retried with exponential backoff (Retry-After honoured); any other 4xx fails at once, naming the URL,
// the status and the server's message. The prompt's seed is promptSeed(seed, i), as in the local engine, so a server
// that honours `seed` the way ours does (test/support/openai-server.ts) returns what the local engine would.
import { z } from 'zod';
import { mapLimit } from '../core/concurrency';
import { firstIssue } from '../core/zod-errors';
import { promptSeed } from './rng';
import { Completion, SampleOptions, type SamplerConfig } from './schemas';
import type { PolicyEngine } from './engine';

/** What generation needs of a policy: the engine, or a served model. */
export type Sampler = Pick<PolicyEngine, 'sample' | 'backend'>;
export type OpenAISamplerConfig = Extract<SamplerConfig, { kind: 'openai' }>;

/** An OpenAI chat message as the endpoint takes it. */
export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * Our prompts are rendered states (the goal, then the transcript so far, ending where the action goes), so the chat
 * form is that text as the user's message; the assistant's reply is the action.
 */
export function chatMessagesOf(prompt: string): ChatTurn[] {
  return [{ role: 'user', content: prompt }];
}

/** The response fields we read (others are ignored). */
export const ChatCompletionResponse = z.object({
  choices: z
    .array(
      z.object({
        index: z.number().int().nonnegative(),
        message: z.object({ content: z.string().nullable().optional() }),
        finish_reason: z.string().nullable().optional(),
        logprobs: z
          .object({
            content: z
              .array(z.object({ token: z.string(), logprob: z.number() }))
              .nullable()
              .optional(),
          })
          .nullable()
          .optional(),
      }),
    )
    .min(1),
});
export type ChatCompletionResponse = z.infer<typeof ChatCompletionResponse>;

export class SamplerRequestError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'SamplerRequestError';
  }
}

export interface OpenAISamplerDeps {
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** First backoff delay; doubles per attempt (capped at 10 s). */
  backoffMs?: number;
  log?: (msg: string) => void;
}

export function openaiSampler(config: OpenAISamplerConfig, deps: OpenAISamplerDeps = {}): Sampler {
  const url = `${config.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const env = deps.env ?? process.env;
  const doFetch = deps.fetch ?? fetch;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const backoffMs = deps.backoffMs ?? 500;
  const log = deps.log ?? (() => {});

  const headers = (): Record<string, string> => {
    const h: Record<string, string> = { 'content-type': 'application/json' };
    if (!config.apiKeyEnv) return h;
    const key = env[config.apiKeyEnv];
    if (!key)
      throw new SamplerRequestError(`policy.sampler.apiKeyEnv: environment variable ${config.apiKeyEnv} is not set on this worker`, false);
    return { ...h, authorization: `Bearer ${key}` };
  };

  /** POSTs one request, retrying transient failures; returns the parsed response. */
  const post = async (body: object): Promise<ChatCompletionResponse> => {
    const init = { method: 'POST', headers: headers(), body: JSON.stringify(body) };
    let last = '';
    for (let attempt = 1; attempt <= config.maxAttempts; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const res = await doFetch(url, { ...init, signal: AbortSignal.timeout(config.timeoutMs) });
        const text = await res.text();
        if (res.ok) return parseResponse(url, text);
        last = `HTTP ${res.status}: ${serverMessage(text)}`;
        if (res.status !== 429 && res.status < 500) throw new SamplerRequestError(`POST ${url}: ${last}`, false);
        const after = Number(res.headers.get('retry-after'));
        if (Number.isFinite(after) && after > 0) retryAfterMs = Math.min(after * 1000, 60_000);
      } catch (err) {
        if (err instanceof SamplerRequestError) throw err;
        const e = err as Error & { cause?: Error };
        last =
          e.name === 'TimeoutError' ? `no response within ${config.timeoutMs} ms` : `${e.message}${e.cause ? ` (${e.cause.message})` : ''}`;
      }
      if (attempt < config.maxAttempts) {
        const wait = retryAfterMs ?? Math.min(backoffMs * 2 ** (attempt - 1), 10_000);
        log(`POST ${url}: ${last}; retry ${attempt}/${config.maxAttempts - 1} in ${wait} ms`);
        await sleep(wait);
      }
    }
    throw new SamplerRequestError(`POST ${url}: ${last} (gave up after ${config.maxAttempts} attempts)`, true);
  };

  return {
    backend: async () => `openai:${config.model}@${config.baseUrl}`,
    // The served model IS the policy: the checkpoint key names what the campaign calls pi0, not weights to load.
    sample: async (_checkpoint, prompts, options) => {
      const o = SampleOptions.parse(options);
      return mapLimit(prompts, config.maxConcurrency, async (prompt, i) => {
        const res = await post({
          model: config.model,
          messages: chatMessagesOf(prompt),
          n: o.n,
          temperature: o.temperature,
          top_p: o.topP,
          max_tokens: o.maxTokens,
          ...(o.stop.length ? { stop: o.stop } : {}),
          seed: o.promptSeeds?.[i] ?? promptSeed(o.seed, i),
          logprobs: true,
        });
        const choices = [...res.choices].sort((a, b) => a.index - b.index);
        if (choices.length !== o.n) throw new SamplerRequestError(`POST ${url}: asked for n=${o.n} choices, got ${choices.length}`, false);
        return choices.map((c) => completionOf(c, o.stop));
      });
    },
  };
}

function parseResponse(url: string, text: string): ChatCompletionResponse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SamplerRequestError(`POST ${url}: the response is not JSON: ${text.slice(0, 200)}`, false);
  }
  const parsed = ChatCompletionResponse.safeParse(json);
  if (!parsed.success) throw new SamplerRequestError(`POST ${url}: unexpected response: ${firstIssue(parsed.error)}`, false);
  return parsed.data;
}

/** The `error.message` of an OpenAI-style error body, or the body itself (shortened). */
function serverMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON: show the text
  }
  return text.slice(0, 500) || '(empty body)';
}

/**
 * A choice as a Completion. The endpoint drops the stop string from the content; which stop ended it is read from
 * the logprob tokens when they carry it (ours do: one entry per generated token, the stop's included), else it is
 * the only stop asked for. Without logprobs the completion says so (`logprobsMissing`).
 */
export function completionOf(choice: ChatCompletionResponse['choices'][number], stops: string[]): Completion {
  const text = choice.message.content ?? '';
  const tokens = choice.logprobs?.content ?? null;
  let stop: string | null = null;
  if (choice.finish_reason === 'stop') {
    const tail = tokens ? tokens.map((t) => t.token).join('') : '';
    const rest = tail.startsWith(text) ? tail.slice(text.length) : '';
    stop = stops.find((s) => s === rest) ?? (stops.length === 1 ? stops[0] : null);
  }
  if (!tokens || tokens.length === 0) return { text, stop, logprobs: [], logprobsMissing: true };
  return { text, stop, logprobs: tokens.map((t) => t.logprob) };
}
