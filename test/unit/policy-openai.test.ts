// The served-model sampler's response handling (policy/openai.ts), with a scripted fetch. The real HTTP round trip
// against our own model is test/integration/openai-sampler.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SamplerRequestError, completionOf, openaiSampler } from '../../policy/openai';
import { SamplerConfig } from '../../policy/schemas';

const config = SamplerConfig.parse({ kind: 'openai', baseUrl: 'https://llm.test/v1/', model: 'm', maxAttempts: 3 }) as Extract<
  SamplerConfig,
  { kind: 'openai' }
>;
const OPTS = { n: 1, temperature: 1, maxTokens: 8, stop: ['\n'], seed: 1 };
const ok = (content: string) =>
  new Response(JSON.stringify({ choices: [{ index: 0, message: { content }, finish_reason: 'stop', logprobs: null }] }), { status: 200 });

/** A fetch that answers from a script, recording the requests. */
function scripted(answers: (() => Response | Promise<Response>)[]) {
  const calls: { url: string; body: Record<string, unknown> }[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, body: JSON.parse(init.body as string) });
    const next = answers.shift();
    if (!next) throw new Error('no more scripted answers');
    return next();
  }) as unknown as typeof globalThis.fetch;
  return { calls, fetch };
}

test('the stop that ended a choice is read from its logprob tokens; none without finish_reason stop', () => {
  const lp = (tokens: string[]) => ({ content: tokens.map((token) => ({ token, logprob: -1 })) });
  const stops = ['\n', ';;'];
  assert.deepEqual(completionOf({ index: 0, message: { content: 'ls' }, finish_reason: 'stop', logprobs: lp(['l', 's', ';;']) }, stops), {
    text: 'ls',
    stop: ';;',
    logprobs: [-1, -1, -1],
  });
  assert.equal(
    completionOf({ index: 0, message: { content: 'ls -a' }, finish_reason: 'length', logprobs: lp(['ls', ' -a']) }, stops).stop,
    null,
  );
  assert.deepEqual(completionOf({ index: 0, message: { content: 'pwd' }, finish_reason: 'stop', logprobs: null }, ['\n']), {
    text: 'pwd',
    stop: '\n',
    logprobs: [],
    logprobsMissing: true,
  });
});

test('the request carries the OpenAI fields, one per prompt with its prompt seed', async () => {
  const { calls, fetch } = scripted([() => ok('a'), () => ok('b')]);
  const out = await openaiSampler(config, { fetch }).sample('pi0', ['p0', 'p1'], { ...OPTS, topP: 0.9 });
  assert.deepEqual(
    out.map((g) => g[0].text),
    ['a', 'b'],
  );
  assert.equal(calls[0].url, 'https://llm.test/v1/chat/completions');
  const { seed, ...rest } = calls[0].body;
  assert.deepEqual(rest, {
    model: 'm',
    messages: [{ role: 'user', content: 'p0' }],
    n: 1,
    temperature: 1,
    top_p: 0.9,
    max_tokens: 8,
    stop: ['\n'],
    logprobs: true,
  });
  assert.notEqual(seed, calls[1].body.seed);
});

test('429 waits for Retry-After; a response that is not JSON, or lacks choices, fails without retry', async () => {
  const waits: number[] = [];
  const sleep = async (ms: number) => void waits.push(ms);
  const busy = () => new Response('{"error":{"message":"slow down"}}', { status: 429, headers: { 'retry-after': '2' } });
  const a = scripted([busy, () => ok('x')]);
  await openaiSampler(config, { fetch: a.fetch, sleep }).sample('pi0', ['p'], OPTS);
  assert.deepEqual(waits, [2000]);

  const b = scripted([() => new Response('<html>proxy</html>', { status: 200 })]);
  await assert.rejects(
    openaiSampler(config, { fetch: b.fetch, sleep }).sample('pi0', ['p'], OPTS),
    (e: Error) => e instanceof SamplerRequestError && !e.retryable && /not JSON: <html>/.test(e.message),
  );
  const c = scripted([() => new Response('{"choices":[]}', { status: 200 })]);
  await assert.rejects(openaiSampler(config, { fetch: c.fetch, sleep }).sample('pi0', ['p'], OPTS), /unexpected response: choices/);
  assert.equal(b.calls.length + c.calls.length, 2);
});

test('connection errors are retried, then reported with the URL and the cause', async () => {
  const refused = () =>
    Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: new Error('connect ECONNREFUSED 10.0.0.1:80') }));
  const { calls, fetch } = scripted([refused, refused, refused]);
  await assert.rejects(
    openaiSampler(config, { fetch, sleep: async () => {} }).sample('pi0', ['p'], OPTS),
    (e: Error) =>
      e instanceof SamplerRequestError &&
      e.retryable &&
      e.message === 'POST https://llm.test/v1/chat/completions: fetch failed (connect ECONNREFUSED 10.0.0.1:80) (gave up after 3 attempts)',
  );
  assert.equal(calls.length, 3);
});
