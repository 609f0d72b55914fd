// The served-model sampler (policy/openai.ts) against a real HTTP server that serves OUR model (pi0) through the
// OpenAI chat-completions API; and a profile-only campaign (real Temporal, real Docker) whose samples come from it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { runCampaign } from '../../cli/campaigns';
import { CampaignConfig } from '../../core/config';
import { LocalStore, getJsonl } from '../../store';
import { campaignKeys } from '../../pipeline/keys';
import { CandidateProfile } from '../../pivotrl/pivots';
import { Sample } from '../../core/schemas';
import { importCheckpointDir } from '../../policy/checkpoint';
import { openPolicyEngine, type Completion, type PolicyEngine } from '../../policy/engine';
import { SamplerRequestError, openaiSampler } from '../../policy/openai';
import { SamplerConfig, type SamplerConfigInput } from '../../policy/schemas';
import { generateTerminalSuite } from '../../tasks/terminal/suite';
import { terminalTurns } from '../../tasks/terminal/render';
import { chatPromptOf, promptOf } from '../../tasks/domains';
import { startOpenAIServer, type OpenAIServer } from '../support/openai-server';
import { PI0, tinyCampaign } from '../../harness/campaign';
import { useTestTemporal } from '../../harness/temporal';
import { tempDir } from '../../harness/temp-dir';

const KEY = 'sk-test-pivotrl';
const KEY_ENV = 'PIVOTRL_SAMPLER_TEST_KEY';
let server: OpenAIServer;
let local: PolicyEngine;
let dir: string;

before(async () => {
  dir = tempDir('pivotrl-openai-test-');
  await importCheckpointDir(PI0, new LocalStore(dir), 'pi0');
  local = openPolicyEngine({ store: { kind: 'local', root: dir }, onLog: () => {} });
  server = await startOpenAIServer({ modelDir: PI0, apiKey: KEY });
});
after(async () => {
  await server?.close();
  await local?.close();
  rmSync(dir, { recursive: true, force: true });
});

const served = (over: Partial<SamplerConfigInput> = {}) =>
  SamplerConfig.parse({ kind: 'openai', baseUrl: server.baseUrl, model: server.model, apiKeyEnv: KEY_ENV, ...over }) as Extract<
    SamplerConfig,
    { kind: 'openai' }
  >;
const env = { [KEY_ENV]: KEY };

// Real states of the terminal domain, rendered as the pipeline renders them.
const turns = generateTerminalSuite({ seed: 21, trainTasks: 3, heldoutTasks: 0 }).train.flatMap((t) => terminalTurns(t));
const PROMPTS = turns.slice(0, 8).map((t) => promptOf(t, t.history));
const CHATS = turns.slice(0, 8).map((t) => chatPromptOf(t, t.history));
const OPTS = { n: 4, temperature: 1, topP: 0.95, maxTokens: 40, stop: ['\n'], seed: 77 };

// The server's chat template (test/support/chat-template.ts) renders a conversation to the local policy's prompt
// and returns its action as a bash tool call: both formats must give the local engine's samples.
for (const format of ['text', 'chat'] as const)
  test(`samples through the HTTP server (${format} format) equal the local engine samples for the same seed`, async () => {
    const want = await local.sample('pi0', PROMPTS, OPTS);
    const got = await openaiSampler(served({ maxConcurrency: 3, promptFormat: format }), { env }).sample('pi0', PROMPTS, OPTS, CHATS);
    assertSameSamples(got, want);
    if (format === 'chat')
      assert.ok(
        got.flat().some((c) => c.text !== 'done' && c.text !== ''),
        'some bash calls came back as commands',
      );
  });

function assertSameSamples(got: Completion[][], want: Completion[][]) {
  assert.equal(got.length, PROMPTS.length);
  got.forEach((group, i) =>
    group.forEach((c, j) => {
      const w = want[i][j];
      assert.equal(c.text, w.text, `prompt ${i} sample ${j}`);
      assert.equal(c.stop, w.stop);
      assert.equal(c.logprobsMissing, undefined);
      assert.equal(c.logprobs.length, w.logprobs.length);
      c.logprobs.forEach((lp, t) =>
        assert.ok(Math.abs(lp - w.logprobs[t]) <= 1e-5, `prompt ${i} sample ${j} token ${t}: ${lp} vs ${w.logprobs[t]}`),
      );
    }),
  );
  // Not one sample repeated n times: the draws differ within a group.
  assert.ok(got.some((g) => new Set(g.map((c) => c.text)).size > 1));
}

test('a wrong key fails at once with the URL, the status and the server message; a missing key variable is named', async () => {
  const before = server.requests();
  const err = await openaiSampler(served(), { env: { [KEY_ENV]: 'sk-wrong' } })
    .sample('pi0', PROMPTS.slice(0, 1), OPTS)
    .then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof SamplerRequestError);
  assert.equal(err.retryable, false);
  assert.match(err.message, new RegExp(`${server.baseUrl}/chat/completions: HTTP 401: Incorrect API key provided`));
  assert.equal(server.requests() - before, 1, 'a 401 is not retried');

  await assert.rejects(openaiSampler(served(), { env: {} }).sample('pi0', PROMPTS.slice(0, 1), OPTS), new RegExp(`${KEY_ENV} is not set`));
  await assert.rejects(
    openaiSampler(served({ model: 'gpt-nope' }), { env }).sample('pi0', PROMPTS.slice(0, 1), OPTS),
    (e: Error) => e instanceof SamplerRequestError && /HTTP 404: The model 'gpt-nope' does not exist/.test(e.message),
  );
});

test('a server answering 500 twice, then 200, is retried with backoff', async () => {
  const want = await local.sample('pi0', PROMPTS.slice(0, 1), OPTS);
  const waits: number[] = [];
  const sampler = openaiSampler(served(), { env, backoffMs: 20, sleep: (ms) => (waits.push(ms), new Promise((r) => setTimeout(r, ms))) });
  server.failNext(2, 500);
  const before = server.requests();
  const got = await sampler.sample('pi0', PROMPTS.slice(0, 1), OPTS);
  assert.equal(server.requests() - before, 3);
  assert.deepEqual(waits, [20, 40]);
  assert.deepEqual(
    got[0].map((c) => c.text),
    want[0].map((c) => c.text),
  );

  server.failNext(3, 503);
  await assert.rejects(
    openaiSampler(served({ maxAttempts: 3 }), { env, backoffMs: 1 }).sample('pi0', PROMPTS.slice(0, 1), OPTS),
    (e: Error) => e instanceof SamplerRequestError && e.retryable && /HTTP 503: .*gave up after 3 attempts/.test(e.message),
  );
});

test('a served policy is refused for training in the config, naming the field', () => {
  const tiny = tinyCampaign({ address: '127.0.0.1:1', queue: 'openai-cfg', steps: 2 });
  const bad = CampaignConfig.safeParse({ ...tiny.config, policy: { ...tiny.config.policy, sampler: served() } });
  assert.equal(bad.success, false);
  assert.match(
    bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'),
    /^train\.steps: must be 0 when policy\.sampler\.kind is 'openai'/m,
  );
  rmSync(tiny.dir, { recursive: true, force: true });
});

describeCampaign();

/**
 * A profile-only campaign (steps 0) sampled by the served model, in the chat format (default), finds what the local
 * engine finds, same seed.
 */
function describeCampaign() {
  const temporal = useTestTemporal();

  test(
    'a profile-only campaign through the OpenAI backend finds the same pivots as the local backend',
    { timeout: 5 * 60_000 },
    async (t) => {
      process.env[KEY_ENV] = KEY; // the GPU worker reads the key from its environment
      const run = async (queue: string, sampler: SamplerConfigInput) => {
        const tiny = tinyCampaign({ address: temporal.address, queue, steps: 0, trainTasks: 8 });
        const config = CampaignConfig.parse({
          ...tiny.config,
          policy: { ...tiny.config.policy, sampler },
          profile: { ...tiny.config.profile, k: 8 },
          evaluate: { heldoutTasks: 1, oodItems: 3 },
        });
        const { workflowId, result } = await runCampaign(config, { id: `${queue}-campaign`, embeddedWorkers: true, log: () => {} });
        const store = new LocalStore((config.store as { root: string }).root);
        const keys = campaignKeys(workflowId);
        const profiles = await getJsonl(store, keys.profiles, (v) => CandidateProfile.parse(v));
        const shards = Math.ceil(result.candidates / config.data.shardSize);
        const samples = [];
        for (let i = 0; i < shards; i++) samples.push(...(await getJsonl(store, keys.profileSamples(i), (v) => Sample.parse(v))));
        rmSync(tiny.dir, { recursive: true, force: true });
        return { result, profiles, samples };
      };
      const before = server.requests();
      const viaHttp = await run('openai-served', served());
      const requests = server.requests() - before;
      const viaLocal = await run('openai-local', { kind: 'local' });

      assert.equal(viaHttp.result.stage, 'done');
      assert.equal(viaHttp.result.step, 0);
      assert.match(viaHttp.result.backend ?? '', /^openai:pi0@http:\/\/127\.0\.0\.1:\d+\/v1$/);
      assert.ok(requests >= viaHttp.result.candidates, `every profiled turn went through the server (${requests} requests)`);
      assert.ok(viaHttp.result.pivots && viaHttp.result.pivots.summary.candidates > 0);
      // The same profiling samples (text and stop exactly, logprobs to 1e-5), hence the same rewards and pivots.
      assert.equal(viaHttp.samples.length, viaHttp.result.candidates * 8);
      assert.deepEqual(
        viaHttp.samples.map((s) => [s.turnId, s.index, s.text, s.stop]),
        viaLocal.samples.map((s) => [s.turnId, s.index, s.text, s.stop]),
      );
      viaHttp.samples.forEach((s, i) => s.logprobs.forEach((lp, j) => assert.ok(Math.abs(lp - viaLocal.samples[i].logprobs[j]) <= 1e-5)));
      assert.ok(viaHttp.result.pivots.summary.pivots > 0, 'some pivots, so that the comparison means something');
      assert.deepEqual(viaHttp.result.pivots.summary, viaLocal.result.pivots?.summary);
      assert.deepEqual(viaHttp.result.pivots.muHistogram, viaLocal.result.pivots?.muHistogram);
      assert.deepEqual(
        viaHttp.profiles.map((p) => [p.turnId, p.rewards]),
        viaLocal.profiles.map((p) => [p.turnId, p.rewards]),
      );
      assert.equal(viaHttp.result.before?.inDomain.successRate, viaLocal.result.before?.inDomain.successRate);
      assert.equal(viaHttp.result.before?.ood.accuracy, viaLocal.result.before?.ood.accuracy);
      t.diagnostic(`pivots via HTTP (${requests} requests) and local: ${JSON.stringify(viaHttp.result.pivots.summary)}`);
    },
  );
}
