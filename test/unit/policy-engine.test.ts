// The policy engine in its worker thread: a round trip through sample, train and checkpoints in a temp store,
// with the caller's event loop free while the thread works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { assertAcceleratorOrAllowed, generatedText, openPolicyEngine, policyThreads } from '../../policy/engine';
import { groupAdvantages } from '../../pivotrl/grpo';
import { LocalStore } from '../../store';
import { LocalEngine } from '../../policy/local';
import { loadCheckpoint } from '../../policy/checkpoint';
import { disposeModel, namedParams } from '../../policy/model';
import { disposeAdam } from '../../policy/train';
import { tempDir } from '../../harness/temp-dir';

const TINY = { vocab: 101, ctx: 64, layers: 1, width: 32, heads: 2 };

test('worker-thread engine: init, sample, GRPO and SFT steps, checkpoints in the store', async () => {
  const dir = tempDir('pivotrl-engine-');
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

/** Samples, then a GRPO step (KL to a reference) and an SFT step of several micro-batches each, on `threads` threads. */
async function lineage(threads: number) {
  const dir = tempDir('pivotrl-engine-');
  const logs: string[] = [];
  const engine = openPolicyEngine({ store: { kind: 'local', root: dir }, onLog: (m) => logs.push(m), threads });
  try {
    await engine.init({ out: 'c/0', config: TINY, seed: 5 });
    const prompts = ['G: list files\n$ ', 'Q: add 1 1\nA: ', '$ ', 'G: copy a to b\n$ ', ''];
    const samples = await engine.sample('c/0', prompts, { n: 3, temperature: 1, topP: 0.9, maxTokens: 8, stop: ['\n'], seed: 2 });
    const items = samples.flatMap((group, i) => {
      const adv = groupAdvantages(group.map((_, j) => j % 2));
      return group.map((c, j) => ({
        prompt: prompts[i],
        completion: generatedText(c) || 'x',
        advantage: adv[j]!,
        oldLogprobs: c.logprobs,
      }));
    });
    // completions that came out empty get a stand-in token, and then their old logprobs must match its length
    for (const it of items) if (it.oldLogprobs.length !== it.completion.length) it.oldLogprobs = [...it.completion].map(() => -1);
    const hp = { lr: 1e-3, beta: 0.05, temperature: 1, topP: 0.9, microBatchTokens: 48 };
    const grpo = await engine.trainGrpo({ checkpoint: 'c/0', out: 'c/1', reference: 'c/0', items, hp });
    const examples = prompts.map((prompt, i) => ({ prompt, completion: `ls ${'-a '.repeat(i)}\n` }));
    const sft = await engine.trainSft({ checkpoint: 'c/1', out: 'c/2', examples, hp: { lr: 1e-3, microBatchTokens: 40 } });
    return {
      samples,
      grpo: { loss: grpo.loss, grad_norm: grpo.grad_norm },
      sft: { loss: sft.loss, grad_norm: sft.grad_norm },
      hashes: [await engine.checkpointHash('c/1'), await engine.checkpointHash('c/2')],
      threadsUsed: logs.filter((l) => l.startsWith('[helper 1]')).length > 0,
      helperLoads: logs.filter((l) => l.startsWith('[helper 1] loaded ')).map((l) => l.split(' ')[3]),
    };
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('results do not depend on the thread count: samples, metrics and checkpoint hashes with 1 and 2 threads', async () => {
  const one = await lineage(1);
  const two = await lineage(2);
  assert.equal(one.threadsUsed, false);
  assert.equal(two.threadsUsed, true, 'the second thread took part');
  assert.deepEqual(two.samples, one.samples);
  assert.deepEqual(two.grpo, one.grpo);
  assert.deepEqual(two.sft, one.sft);
  assert.deepEqual(two.hashes, one.hashes);
  assert.deepEqual(two.helperLoads, ['c/0'], 'the helper took c/1 from the step that published it, not from the store');
});

test('a helper serves an adopted checkpoint without loading it; an optimiser step from it loads the stored moments', async () => {
  const dir = tempDir('pivotrl-engine-');
  const store = new LocalStore(dir);
  const opts = { n: 2, temperature: 1, topP: 1, maxTokens: 6, stop: [], seed: 4 };
  const examples = [{ prompt: 'G: list files\n$ ', completion: 'ls\n' }];
  const trainer = new LocalEngine({ store: { kind: 'local', root: dir } });
  const logs: string[] = [];
  const helper = new LocalEngine({ store: { kind: 'local', root: dir }, onLog: (m) => logs.push(m) });
  try {
    await trainer.init({ out: 'c/0', config: TINY, seed: 3 });
    await trainer.trainSft({ checkpoint: 'c/0', out: 'c/1', examples, hp: { lr: 1e-2 } });
    const fromC1 = await trainer.sample('c/1', ['$ '], opts);
    await trainer.trainSft({ checkpoint: 'c/1', out: 'c/2', examples, hp: { lr: 1e-2 } });

    await helper.sample('c/0', ['$ '], opts); // c/0 resident
    const c1 = await loadCheckpoint(store, 'c/1');
    const weights = namedParams(c1.model.params).map(([, v]) => v.dataSync() as Float32Array);
    disposeModel(c1.model);
    disposeAdam(c1.adam);
    await helper.adopt('c/1', TINY, weights);
    assert.deepEqual(await helper.sample('c/1', ['$ '], opts), fromC1);
    assert.deepEqual(
      logs.filter((l) => l.startsWith('loaded ')).map((l) => l.split(' ')[1]),
      ['c/0'],
    );

    // c/1's AdamW moments and step counter are not in the adopted copy: the step must read them, or c/2 would differ.
    await helper.trainSft({ checkpoint: 'c/1', out: 'c/2b', examples, hp: { lr: 1e-2 } });
    assert.equal(await helper.checkpointHash('c/2b'), await trainer.checkpointHash('c/2'));
  } finally {
    await trainer.close();
    await helper.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PIVOTRL_POLICY_THREADS sets the thread count; a bad value is refused by name', () => {
  assert.equal(policyThreads({ PIVOTRL_POLICY_THREADS: '3' }), 3);
  assert.ok(policyThreads({}) >= 1);
  assert.throws(() => policyThreads({ PIVOTRL_POLICY_THREADS: '0' }), /PIVOTRL_POLICY_THREADS=0: want a positive integer/);
});

test('the GPU worker refuses a CPU backend unless allowed', () => {
  assert.throws(() => assertAcceleratorOrAllowed('wasm', false), /not an accelerator/);
  assert.doesNotThrow(() => assertAcceleratorOrAllowed('wasm', true));
  assert.doesNotThrow(() => assertAcceleratorOrAllowed('tfjs-node-gpu', false));
});
