// The policy engine in its worker thread: a round trip through sample, train and checkpoints in a temp store,
// with the caller's event loop free while the thread works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertAcceleratorOrAllowed, generatedText, openPolicyEngine } from '../../policy/engine';
import { groupAdvantages } from '../../pivotrl/grpo';
import { LocalStore } from '../../store';

const TINY = { vocab: 101, ctx: 64, layers: 1, width: 32, heads: 2 };

test('worker-thread engine: init, sample, GRPO and SFT steps, checkpoints in the store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pivotrl-engine-'));
  const logs: string[] = [];
  const engine = openPolicyEngine({ store: { kind: 'local', root: dir }, onLog: (m) => logs.push(m) });
  try {
    const backend = await engine.backend();
    assert.ok(['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'].includes(backend));
    assert.ok(
      logs.some((l) => l.includes(`backend: ${backend}`)),
      'the backend choice is logged',
    );
    const h0 = await engine.init({ out: 'c/0', config: TINY, seed: 9 });
    assert.match(h0, /^[0-9a-f]{64}$/);

    const prompts = ['G: list files\n$ ', 'Q: add 1 1\nA: '];
    const samples = await engine.sample('c/0', prompts, { n: 4, temperature: 1, topP: 1, maxTokens: 6, stop: ['\n'], seed: 1 });
    assert.equal(samples.length, 2);
    assert.equal(samples[0].length, 4);

    // While the thread trains, the event loop keeps ticking (heartbeats would flow).
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const items = samples.flatMap((group, i) => {
      const adv = groupAdvantages(group.map((_, j) => (j % 2 ? 1 : 0)));
      return group.map((c, j) => ({ prompt: prompts[i], completion: generatedText(c), advantage: adv[j]!, oldLogprobs: c.logprobs }));
    });
    const m = await engine.trainGrpo({ checkpoint: 'c/0', out: 'c/1', reference: 'c/0', items, hp: { lr: 1e-3, beta: 0.05 } });
    clearInterval(timer);
    assert.ok(ticks > 0, 'event loop ran during training');
    assert.equal(m.step, 1);
    assert.ok(Math.abs(m.approx_kl) < 1e-5, 'first step: the policy is the sampling policy');
    assert.equal(m.clipfrac, 0);
    for (const k of ['loss', 'policy_loss', 'approx_kl', 'clipfrac', 'entropy', 'grad_norm', 'lr', 'tokens', 'seconds'] as const) {
      assert.ok(Number.isFinite(m[k]), k);
    }
    const s = await engine.trainSft({
      checkpoint: 'c/1',
      out: 'c/2',
      examples: [{ prompt: prompts[0], completion: 'ls\n' }],
      hp: { lr: 1e-3 },
    });
    assert.equal(s.step, 2);
    const store = new LocalStore(dir);
    assert.deepEqual(await store.list('c/2/'), ['c/2/SHA256', 'c/2/metrics.json', 'c/2/model.json', 'c/2/weights.bin']);
    assert.equal(await engine.checkpointHash('c/2'), await engine.checkpointHash('c/2'));

    await assert.rejects(
      engine.sample('missing', prompts, { n: 1, temperature: 0, topP: 1, maxTokens: 2, stop: [], seed: 0 }),
      /not found/,
    );
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(engine.backend(), /closed/);
});

test('the GPU worker refuses a CPU backend unless allowed', () => {
  assert.throws(() => assertAcceleratorOrAllowed('wasm', false), /not an accelerator/);
  assert.doesNotThrow(() => assertAcceleratorOrAllowed('wasm', true));
  assert.doesNotThrow(() => assertAcceleratorOrAllowed('tfjs-node-gpu', false));
});
