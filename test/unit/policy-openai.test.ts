// The served-model sampler (policy/openai.ts) against scripted fetches: the request fields, retries, and the chat
// format against a server that checks the request shape as a chat template does and answers in both reply shapes
// (tool_calls and content). The real HTTP round trip against our own model is test/integration/openai-sampler.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { z } from 'zod';
import { Verdict, type Turn } from '../../core/schemas';
import { firstIssue } from '../../core/zod-errors';
import { SamplerRequestError, completionOf, openaiSampler, type OpenAISamplerConfig } from '../../policy/openai';
import { SamplerConfig } from '../../policy/schemas';
import { generateSamples } from '../../pipeline/generate';
import { putTurnsWithPrompts } from '../../pipeline/records';
import { verifySamples } from '../../pipeline/verify';
import { LocalStore, getJsonl } from '../../store';
import { DONE_ACTION } from '../../tasks/actions';
import { chatPromptOf, promptOf, turnsOf } from '../../tasks/domains';
import { generateSweSuite } from '../../tasks/swe/suite';
import { TERMINAL_SYSTEM_PROMPT, generateTerminalSuite } from '../../tasks/terminal/suite';
import { terminalTurns } from '../../tasks/terminal/render';
import { generateToolSuite } from '../../tasks/tool/suite';
import { toolTurns } from '../../tasks/tool/render';
import { ToolVerifier, verifyToolTurn } from '../../verifiers/tool';
import { promptOfConversation } from '../support/chat-template';
import { tempDir } from '../../harness/temp-dir';

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

// ---- chat format: the state as a conversation with its tools, the reply read from tool_calls or content

/** The request shape a chat-completions server with a tool-calling template takes (vLLM, SGLang, OpenAI). */
const ChatRequest = z
  .object({
    model: z.string(),
    messages: z
      .array(
        z.discriminatedUnion('role', [
          z.object({ role: z.literal('system'), content: z.string().min(1) }).strict(),
          z.object({ role: z.literal('user'), content: z.string() }).strict(),
          z
            .object({
              role: z.literal('assistant'),
              content: z.string().nullable(),
              tool_calls: z
                .array(
                  z
                    .object({
                      id: z.string().min(1),
                      type: z.literal('function'),
                      function: z.object({ name: z.string().min(1), arguments: z.string() }).strict(),
                    })
                    .strict(),
                )
                .min(1)
                .optional(),
            })
            .strict(),
          z.object({ role: z.literal('tool'), tool_call_id: z.string().min(1), content: z.string() }).strict(),
        ]),
      )
      .min(1),
    tools: z
      .array(
        z
          .object({
            type: z.literal('function'),
            function: z
              .object({ name: z.string(), description: z.string(), parameters: z.looseObject({ type: z.literal('object') }) })
              .strict(),
          })
          .strict(),
      )
      .min(1)
      .optional(),
    tool_choice: z.literal('auto').optional(),
    parallel_tool_calls: z.boolean().optional(),
    stop: z.array(z.string()).optional(),
    n: z.number().int().positive(),
    temperature: z.number(),
    top_p: z.number(),
    max_tokens: z.number().int().positive(),
    seed: z.number().int(),
    logprobs: z.boolean(),
  })
  .strict()
  .superRefine((r, ctx) => {
    // What chat templates require: system first, then the user's turn; each tool result answers an earlier call.
    if (r.messages[0].role !== 'system' || r.messages[1]?.role !== 'user') ctx.addIssue({ code: 'custom', message: 'system, then user' });
    const called = new Set<string>();
    for (const m of r.messages) {
      if (m.role === 'assistant') for (const c of m.tool_calls ?? []) called.add(c.id);
      if (m.role === 'tool' && !called.has(m.tool_call_id))
        ctx.addIssue({ code: 'custom', message: `tool result ${m.tool_call_id} answers no call` });
    }
    if (r.tools && r.tool_choice !== 'auto') ctx.addIssue({ code: 'custom', message: 'tools without tool_choice auto' });
    if (r.stop) ctx.addIssue({ code: 'custom', message: 'no stop strings for a chat model' });
  });
type ChatRequest = z.infer<typeof ChatRequest>;

/** A reply: tool calls (arguments as the API's JSON string, or as an object as some servers send them), or content. */
type Reply = { calls: { name: string; arguments: string | object }[] } | { content: string; finish?: string };

/** A server that refuses (400) a request of another shape and answers each with `reply(request)`, n times. */
function chatServer(reply: (r: ChatRequest) => Reply) {
  const requests: ChatRequest[] = [];
  const fetch = (async (_url: string, init: RequestInit) => {
    const parsed = ChatRequest.safeParse(JSON.parse(init.body as string));
    if (!parsed.success) return new Response(JSON.stringify({ error: { message: firstIssue(parsed.error) } }), { status: 400 });
    requests.push(parsed.data);
    const r = reply(parsed.data);
    const message =
      'calls' in r
        ? {
            role: 'assistant',
            content: null,
            tool_calls: r.calls.map((c, k) => ({ id: `chatcmpl-tool-${k}`, type: 'function', function: c })),
          }
        : { role: 'assistant', content: r.content };
    const finish = 'calls' in r ? 'tool_calls' : (r.finish ?? 'stop');
    const logprobs = { content: [{ token: '<x>', logprob: -0.5 }] };
    const choices = Array.from({ length: parsed.data.n }, (_, index) => ({ index, message, finish_reason: finish, logprobs }));
    return new Response(JSON.stringify({ choices }), { status: 200 });
  }) as unknown as typeof globalThis.fetch;
  return { requests, fetch };
}

const chatConfig = SamplerConfig.parse({ kind: 'openai', baseUrl: 'https://llm.test/v1', model: 'm' }) as OpenAISamplerConfig;
const terminalTrajectory = generateTerminalSuite({ seed: 4, trainTasks: 3, heldoutTasks: 0 }).train.find(
  (t) => terminalTurns(t).length >= 3,
)!;
const toolTrajectory = generateToolSuite({ seed: 3, trainTasks: 6, heldoutTasks: 0 }).train[5];
/** Samples one state through the chat server; returns the completion and the request. */
async function sampleChat(turn: Turn, reply: (r: ChatRequest) => Reply, config = chatConfig) {
  const server = chatServer(reply);
  const [[c]] = await openaiSampler(config, { fetch: server.fetch }).sample('pi0', [promptOf(turn, turn.history)], OPTS, [
    chatPromptOf(turn, turn.history),
  ]);
  return { c, request: server.requests[0] };
}

test("a terminal state goes as the expert's own conversation up to the turn, with the bash tool, one call per turn", async () => {
  const turn = terminalTurns(terminalTrajectory)[2];
  const { c, request } = await sampleChat(turn, () => ({ calls: [{ name: 'bash', arguments: '{"command":"ls -la out"}' }] }));
  // The expert's transcript before its third call: system, goal, two bash calls and their results.
  assert.deepEqual(request.messages, terminalTrajectory.messages.slice(0, 6));
  assert.deepEqual(request.messages[0], { role: 'system', content: TERMINAL_SYSTEM_PROMPT });
  assert.equal(request.messages[2].role === 'assistant' && request.messages[2].tool_calls?.[0].function.name, 'bash');
  assert.deepEqual(
    request.tools?.map((t) => t.function.name),
    ['bash'],
  );
  assert.equal(request.parallel_tool_calls, false);
  assert.deepEqual(c, { text: 'ls -la out', stop: '\n', logprobs: [-0.5] });

  // Arguments as an object read the same; a reply "done" ends the episode as the local policy's "done" does.
  assert.equal((await sampleChat(turn, () => ({ calls: [{ name: 'bash', arguments: { command: 'pwd' } }] }))).c.text, 'pwd');
  assert.equal((await sampleChat(turn, () => ({ content: 'Done.' }))).c.text, DONE_ACTION);
});

test("a tool-use state goes with the task's tools; parallel calls and a message come back as the local policy's action text", async () => {
  const turns = toolTurns(toolTrajectory);
  const turn = turns[1]; // after two parallel get_order calls
  const calls = [
    { name: 'get_order', arguments: '{"order_id": "O307"}' },
    { name: 'get_order', arguments: { order_id: 'O459' } },
  ];
  const { c, request } = await sampleChat(turn, () => ({ calls }));
  assert.deepEqual(request.messages, toolTrajectory.messages.slice(0, 5));
  assert.deepEqual(
    request.tools?.map((t) => t.function.name),
    turn.task.tools.map((t) => t.function.name),
  );
  assert.equal(request.parallel_tool_calls, undefined, 'parallel calls are an action of this domain');
  assert.equal(c.text, 'call get_order {"order_id":"O307"} ; call get_order {"order_id":"O459"}');
  assert.equal(c.invalid, undefined);

  const said = await sampleChat(turn, () => ({ content: 'Order O307: delivered.\nOrder O459: pending.' }));
  assert.equal(said.c.text, 'say Order O307: delivered. Order O459: pending.');
  assert.equal(verifyToolTurn(turn, said.c.text).reward, 1, 'the expert reply, read back, is judged equal to it');
});

test('malformed tool calls become invalid actions with their reason, never a failed request', async () => {
  const tool = toolTurns(toolTrajectory)[0];
  const terminal = terminalTurns(terminalTrajectory)[0];
  const cases: [Turn, Reply, RegExp][] = [
    [
      tool,
      { calls: [{ name: 'get_order', arguments: '{"order_id": "O3' }] },
      /^tool call 0 \(get_order\): arguments are not JSON \(.+\): \{"order_id": "O3$/,
    ],
    [
      tool,
      { calls: [{ name: 'get_order', arguments: '["O307"]' }] },
      /^tool call 0 \(get_order\): arguments are not a JSON object: \["O307"\]$/,
    ],
    [tool, { calls: [{ name: 'get order', arguments: '{}' }] }, /^tool call 0: function\.name: /],
    [tool, { content: 'Let me look that up: {"name": "get_', finish: 'length' }, /^cut off at the token limit .*raise sampling maxTokens/],
    [terminal, { calls: [{ name: 'bash', arguments: '{"cmd": "ls"}' }] }, /^tool call 0 \(bash\): arguments need a string "command"/],
    [terminal, { calls: [{ name: 'python', arguments: '{"code": "1"}' }] }, /'python' is not a tool of this task/],
    [
      terminal,
      {
        calls: [
          { name: 'bash', arguments: '{"command": "ls"}' },
          { name: 'bash', arguments: '{"command": "pwd"}' },
        ],
      },
      /2 tool calls in one turn/,
    ],
    [terminal, { content: '```bash\nls\n```' }, /^no bash call, and a reply without one must be "done"/],
  ];
  for (const [turn, reply, reason] of cases) {
    const { c } = await sampleChat(turn, () => reply);
    assert.equal(c.text, '', JSON.stringify(reply));
    assert.match(c.invalid ?? '(valid)', reason);
  }
});

test('an invalid reply is judged 0 as unparseable with its reason by the verify stage', async () => {
  const dir = tempDir('pivotrl-chat-');
  try {
    const store = new LocalStore(dir);
    const turns = toolTurns(toolTrajectory);
    await putTurnsWithPrompts(store, turns, { turns: 't.jsonl', prompts: 'p.jsonl' });
    const server = chatServer((r) =>
      r.messages.length === 2
        ? { calls: [{ name: 'get_order', arguments: '{"order_id": O459}' }] }
        : { content: 'Order O307: delivered. Order O459: pending.' },
    );
    const sampling = { n: 2, temperature: 1, topP: 1, seed: 1 };
    await generateSamples(store, openaiSampler(chatConfig, { fetch: server.fetch }), {
      checkpoint: 'pi0',
      prompts: 'p.jsonl',
      out: 's.jsonl',
      sampling,
    });
    const summary = await verifySamples(store, () => new ToolVerifier(), {
      turns: 't.jsonl',
      samples: 's.jsonl',
      out: 'v.jsonl',
      verifier: 'functional',
      concurrency: 1,
      actionTimeoutMs: 1000,
    });
    const verdicts = await getJsonl(store, 'v.jsonl', (v) => Verdict.parse(v));
    assert.deepEqual(
      verdicts.map((v) => [v.turnId, v.reward, v.reason]),
      [
        [turns[0].id, 0, 'unparseable'],
        [turns[0].id, 0, 'unparseable'],
        [turns[1].id, 1, 'exact_match'],
        [turns[1].id, 1, 'exact_match'],
      ],
    );
    assert.match(verdicts[0].detail, /^tool call 0 \(get_order\): arguments are not JSON/);
    assert.equal(summary.masked, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("promptFormat 'text', or a prompt without a conversation (out-of-domain items), sends the rendered text as one user message", async () => {
  const turn = terminalTurns(terminalTrajectory)[1];
  const text = SamplerConfig.parse({
    kind: 'openai',
    baseUrl: 'https://llm.test/v1',
    model: 'm',
    promptFormat: 'text',
  }) as OpenAISamplerConfig;
  for (const [config, chats] of [
    [text, [chatPromptOf(turn, turn.history)]],
    [chatConfig, undefined],
  ] as const) {
    const { calls, fetch } = scripted([() => ok('ls')]);
    const [[c]] = await openaiSampler(config, { fetch }).sample('pi0', [promptOf(turn, turn.history)], OPTS, chats);
    assert.deepEqual(calls[0].body.messages, [{ role: 'user', content: promptOf(turn, turn.history) }]);
    assert.deepEqual(calls[0].body.stop, ['\n']);
    assert.equal(calls[0].body.tools, undefined);
    assert.equal(c.text, 'ls');
  }
  assert.equal(SamplerConfig.safeParse({ kind: 'openai', baseUrl: 'https://llm.test/v1', model: 'm', promptFormat: 'xml' }).success, false);
});

test("a state's conversation holds the whole state: rendered back by the test server's template it is the local prompt", () => {
  const trajectories = [
    ...generateTerminalSuite({ seed: 21, trainTasks: 12, heldoutTasks: 0 }).train,
    ...generateSweSuite({ seed: 5, trainTasks: 6, heldoutTasks: 0 }).train,
    ...generateToolSuite({ seed: 3, trainTasks: 12, heldoutTasks: 0 }).train,
  ];
  const turns = trajectories.flatMap(turnsOf);
  assert.deepEqual(new Set(turns.map((t) => t.domain)), new Set(['terminal', 'swe', 'tool']));
  for (const turn of turns) {
    const rendered = promptOfConversation(chatPromptOf(turn, turn.history).messages);
    assert.deepEqual(rendered, { prompt: promptOf(turn, turn.history), domain: turn.domain }, turn.id);
  }
});
