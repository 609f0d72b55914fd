// A sampler over any OpenAI-compatible chat-completions endpoint (a served model): the same `sample` call as the
// policy engine, for profiling pivots with a team's real model. Sampling only: a served model has no weights here.
//
// promptFormat 'chat' (default) sends each state as a chat conversation with its tools (core/chat-prompt.ts) and reads
// the reply's tool calls or content back as an action (policy/chat-reply.ts); 'text' sends the local policy's
// rendered prompt as one user message and takes the reply's text as the action (a prompt-completion model).
//
// One request per prompt (n samples each), at most `maxConcurrency` in flight. 429, 5xx, timeouts and connection
// errors are retried with exponential backoff (Retry-After honoured); any other 4xx fails at once, naming the URL,
// the status and the server's message. The prompt's seed is promptSeed(seed, i), as in the local engine, so a server
// that honours `seed` the way ours does (test/support/openai-server.ts) returns what the local engine would.
import { z } from 'zod';
import type { ChatPrompt } from '../core/chat-prompt';
import { mapLimit } from '../core/concurrency';
import { firstIssue } from '../core/zod-errors';
import { actionOfReply, ReplyMessage } from './chat-reply';
import { promptSeed } from './rng';
import { Completion, SampleOptions, type SamplerConfig } from './schemas';

/**
 * What generation needs of a policy: the engine, or a served model. `chats[i]`, where given, is prompt i's state as a
 * chat conversation: a served chat model reads it, the local engine reads the rendered text.
 */
export interface Sampler {
  backend(): Promise<string>;
  sample(checkpoint: string, prompts: string[], opts: SampleOptions, chats?: readonly (ChatPrompt | undefined)[]): Promise<Completion[][]>;
}
export type OpenAISamplerConfig = Extract<SamplerConfig, { kind: 'openai' }>;

/** The fields of a request that carry the prompt: the conversation and its tools, or the rendered text as one user message. */
export function promptFieldsOf(prompt: string, chat: ChatPrompt | undefined, stop: string[]): Record<string, unknown> {
  if (!chat) return { messages: [{ role: 'user', content: prompt }], ...(stop.length ? { stop } : {}) };
  // No stop strings: a chat model ends its turn itself, and a tool call's markup may hold newlines.
  if (chat.tools.length === 0) return { messages: chat.messages };
  const oneCall = chat.reply === 'command' ? { parallel_tool_calls: false } : {};
  return { messages: chat.messages, tools: chat.tools, tool_choice: 'auto', ...oneCall };
}

/** The response fields we read (others are ignored). */
export const ChatCompletionResponse = z.object({
  choices: z
    .array(
      z.object({
        index: z.number().int().nonnegative(),
        message: ReplyMessage,
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
    sample: async (_checkpoint, prompts, options, chats) => {
      const o = SampleOptions.parse(options);
      return mapLimit(prompts, config.maxConcurrency, async (prompt, i) => {
        const chat = config.promptFormat === 'chat' ? chats?.[i] : undefined;
        const res = await post({
          model: config.model,
          ...promptFieldsOf(prompt, chat, o.stop),
          n: o.n,
          temperature: o.temperature,
          top_p: o.topP,
          max_tokens: o.maxTokens,
          seed: o.promptSeeds?.[i] ?? promptSeed(o.seed, i),
          logprobs: true,
        });
        const choices = [...res.choices].sort((a, b) => a.index - b.index);
        if (choices.length !== o.n) throw new SamplerRequestError(`POST ${url}: asked for n=${o.n} choices, got ${choices.length}`, false);
        return choices.map((c) => (chat ? chatCompletionOf(c, chat, o.stop) : completionOf(c, o.stop)));
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
 * A chat choice as a Completion: its action (policy/chat-reply.ts), ended by the action's stop unless the model was
 * cut off. The logprobs are those of the reply's own tokens (tool-call markup included), as the server reports them.
 */
export function chatCompletionOf(choice: ChatCompletionResponse['choices'][number], chat: ChatPrompt, stops: string[]): Completion {
  const action = actionOfReply(choice.message, choice.finish_reason, chat.reply);
  const stop = choice.finish_reason === 'length' ? null : (stops[0] ?? null);
  const tokens = choice.logprobs?.content ?? [];
  const logprobs = tokens.length ? { logprobs: tokens.map((t) => t.logprob) } : { logprobs: [], logprobsMissing: true as const };
  return { text: action.text, stop, ...logprobs, ...(action.invalid !== undefined && { invalid: action.invalid }) };
}

/**
 * A text choice as a Completion. The endpoint drops the stop string from the content; which stop ended it is read from
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
