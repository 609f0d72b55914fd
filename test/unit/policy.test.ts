// The policy model, sampler, trainer and checkpoints (policy/), on a tiny model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../policy/backend';
import { charTokenizer, PLACEHOLDER } from '../../policy/tokenizer';
import { attentionTuning, forward, initParams, logitsOf, makeModel, namedParams, paramsFrom } from '../../policy/model';
import { sample } from '../../policy/sample';
import { Trainee, completionLogprobs, sftLoss, trainStep, zeroAdam } from '../../policy/train';
import { checkpointExists, checkpointHash, importCheckpointDir, loadCheckpoint, saveCheckpoint } from '../../policy/checkpoint';
import { openInProcessPolicyEngine } from '../../policy/engine';
import { generatedText, ModelConfig } from '../../policy/schemas';
import { LocalStore } from '../../store';
import { groupAdvantages } from '../../pivotrl/grpo';
import { promptSeed } from '../../policy/rng';
import { tempDir } from '../../harness/temp-dir';

await initBackend(() => {});
const tok = charTokenizer();
const TINY: ModelConfig = { vocab: tok.vocabSize, ctx: 64, layers: 2, width: 32, heads: 2 };

function tinyModel(seed = 1, config = TINY): Trainee {
  const named = initParams(config, seed);
  const model = makeModel(config, tok, paramsFrom(config, named));
  tf.dispose(Object.values(named));
  return { model, adam: zeroAdam(model), step: 0 };
}
function dispose(tr: Trainee) {
  tf.dispose([...namedParams(tr.model.params).map(([, v]) => v), tr.model.headMask, ...tr.adam.m, ...tr.adam.v]);
}
const tmp = () => tempDir('pivotrl-policy-');
const PROMPTS = ['G: copy notes.txt to out/\n$ ls\nnotes.txt\n$ ', 'Q: add 2 3\nA: ', '$ '];
const SFT = [
  { prompt: PROMPTS[0], completion: 'cp notes.txt out/\n' },
  { prompt: PROMPTS[1], completion: '5\n' },
  { prompt: PROMPTS[2], completion: 'ls -a\n' },
];

/** The model's hidden states [1, T, W] over the whole sequence, causal, no cache: the reference for decoding. */
function causalHidden(m: Trainee['model'], ids: number[]): tf.Tensor3D {
  const T = ids.length;
  const bias = new Float32Array(T * T).fill(-1e9);
  for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) bias[q * T + k] = 0;
  return forward(
    m,
    tf.tensor2d([ids], [1, T], 'int32'),
    tf.tensor2d([ids.map((_, j) => j)], [1, T], 'int32'),
    tf.tensor4d(bias, [1, 1, T, T]),
  ).h;
}

test('tokenizer round-trips printable text; unknown characters become a placeholder', () => {
  const text = 'G: ls -la ~/x\t"y"\n$ ';
  assert.equal(tok.decode(tok.encode(text)), text);
  const ids = tok.encode('é');
  assert.deepEqual(ids, [tok.unk]);
  assert.equal(tok.decode(ids), PLACEHOLDER);
  assert.deepEqual(tok.encode(tok.decode(ids)), ids);
});

test('KV-cached greedy sampling (2 samples sharing a prefix, or no prefix at all) equals full recomputation', () => {
  const tr = tinyModel(3);
  const m = tr.model;
  const maxTokens = 12;
  for (const prompts of [PROMPTS, ['']]) {
    const fast = sample(m, prompts, { n: 2, temperature: 0, topP: 1, maxTokens, stop: [], seed: 0 });
    for (const [i, prompt] of prompts.entries()) {
      const ids = [tok.bos, ...tok.encode(prompt)];
      const out: number[] = [];
      for (let t = 0; t < maxTokens; t++) {
        const next = tf.tidy(() => {
          const T = ids.length;
          const h = causalHidden(m, ids);
          return tf.argMax(logitsOf(m, tf.reshape(tf.slice(h, [0, T - 1, 0], [1, 1, -1]), [1, -1]) as tf.Tensor2D), -1).dataSync()[0];
        });
        ids.push(next);
        out.push(next);
      }
      assert.equal(fast.completions[i][0].text, tok.decode(out), `prompt ${i}`);
      assert.equal(fast.completions[i][1].text, tok.decode(out), `prompt ${i}, second sample`);
    }
  }
  dispose(tr);
});

test('decoded log-probabilities equal a full forward pass to 1e-5 (left and alignment padding of the shared prefix)', () => {
  const tr = tinyModel(11);
  const m = tr.model;
  // prefixes of different lengths, none a multiple of 8: each prompt's prefix is padded on the left
  const out = sample(m, PROMPTS, { n: 2, temperature: 1, topP: 1, maxTokens: 8, stop: [], seed: 4 });
  PROMPTS.forEach((prompt, i) => {
    const promptIds = [tok.bos, ...tok.encode(prompt)];
    assert.notEqual((promptIds.length - 1) % 8, 0);
    for (const c of out.completions[i]) {
      const ids = [...promptIds, ...tok.encode(c.text)];
      const T = ids.length;
      const full = tf.tidy(() => {
        const h = causalHidden(m, ids);
        return tf.logSoftmax(logitsOf(m, tf.reshape(h, [T, -1]) as tf.Tensor2D)).arraySync() as number[][];
      });
      c.logprobs.forEach((lp, k) => {
        const at = promptIds.length - 1 + k; // the position whose output predicts generated token k
        assert.ok(Math.abs(lp - full[at][ids[at + 1]]) < 1e-5, `prompt ${i}, token ${k}: ${lp} vs ${full[at][ids[at + 1]]}`);
      });
    }
  });
  dispose(tr);
});

test("sampled logprobs equal the trainer's logprobs of the same tokens (PPO ratio 1 at the start)", () => {
  const tr = tinyModel(4);
  const tempering = { temperature: 1.3, topP: 0.9 };
  const out = sample(tr.model, PROMPTS, { n: 3, ...tempering, maxTokens: 10, stop: ['\n'], seed: 5 });
  const flat = out.completions.flatMap((cs, i) =>
    cs.map((c) => ({ prompt: PROMPTS[i], completion: generatedText(c), logprobs: c.logprobs })),
  );
  const again = completionLogprobs(tr.model, flat, undefined, tempering);
  flat.forEach((x, i) => {
    assert.equal(again[i].length, x.logprobs.length);
    x.logprobs.forEach((lp, j) => assert.ok(Math.abs(lp - again[i][j]) < 1e-4, `${lp} vs ${again[i][j]}`));
  });
  dispose(tr);
});

test('same seed gives the same samples; another seed gives others; stop strings end completions', () => {
  const tr = tinyModel(5);
  const o = { n: 4, temperature: 1, topP: 1, maxTokens: 16, stop: ['\n', 'zz'], seed: 11 };
  const a = sample(tr.model, PROMPTS, o).completions;
  const b = sample(tr.model, PROMPTS, o).completions;
  const c = sample(tr.model, PROMPTS, { ...o, seed: 12 }).completions;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (const x of a.flat()) {
    assert.ok(!x.text.includes('\n') && !x.text.includes('zz'));
    assert.equal(tok.encode(generatedText(x)).length, x.logprobs.length);
    if (x.stop === null) assert.equal(x.logprobs.length, 16);
  }
  dispose(tr);
});

test('a long prompt keeps its start: its row generates only what the context leaves; short rows get maxTokens', () => {
  const tr = tinyModel(7);
  const long = 'G: ' + 'x'.repeat(TINY.ctx - 10); // BOS + prompt = ctx - 6 tokens
  const out = sample(tr.model, [long, '$ '], { n: 2, temperature: 1, topP: 1, maxTokens: 20, stop: [], seed: 3 });
  assert.equal(out.truncated, 0);
  for (const c of out.completions[0]) assert.equal(c.logprobs.length, 6);
  for (const c of out.completions[1]) assert.equal(c.logprobs.length, 20);
  dispose(tr);
});

test('a prompt sampled alone with its prompt seed draws what the batched call draws for it', () => {
  const tr = tinyModel(7);
  const o = { n: 3, temperature: 1, topP: 0.9, maxTokens: 10, stop: ['\n'], seed: 5 };
  const batched = sample(tr.model, PROMPTS, o).completions;
  PROMPTS.forEach((p, i) => {
    const alone = sample(tr.model, [p], { ...o, promptSeeds: [promptSeed(o.seed, i)] }).completions[0];
    assert.deepEqual(
      alone.map((c) => c.text),
      batched[i].map((c) => c.text),
    );
  });
  assert.throws(() => sample(tr.model, PROMPTS, { ...o, promptSeeds: [1] }), /promptSeeds has 1 seeds for 3 prompts/);
  dispose(tr);
});

test("a row's samples do not depend on the other prompts in the batch (padding is invisible)", () => {
  const tr = tinyModel(6);
  const o = { n: 2, temperature: 1, topP: 1, maxTokens: 8, stop: [], seed: 3 };
  const alone = sample(tr.model, [PROMPTS[2]], o).completions[0];
  const batched = sample(tr.model, [PROMPTS[2], PROMPTS[0]], o).completions[0];
  assert.deepEqual(
    alone.map((c) => c.text),
    batched.map((c) => c.text),
  );
  alone.forEach((c, i) => c.logprobs.forEach((lp, j) => assert.ok(Math.abs(lp - batched[i].logprobs[j]) < 1e-4)));
  dispose(tr);
});

test('SFT loss covers completion tokens only', () => {
  const tr = tinyModel(7);
  const lp = completionLogprobs(tr.model, SFT);
  const tokens = SFT.reduce((s, x) => s + tok.encode(x.completion).length, 0);
  const expected = -lp.flat().reduce((s, x) => s + x, 0) / tokens;
  const m = trainStep(tr, 'sft', SFT, { lr: 1e-3 });
  assert.equal(m.tokens, tokens);
  assert.ok(Math.abs(m.loss - expected) < 1e-4, `${m.loss} vs ${expected}`);
  // Changing only the prompt changes the context, not which tokens are scored.
  const other = trainStep(
    tr,
    'sft',
    SFT.map((x) => ({ ...x, prompt: x.prompt + 'zzz' })),
    { lr: 1e-3 },
  );
  assert.equal(other.tokens, tokens);
  dispose(tr);
});

test('a GRPO group whose rewards are all equal gives exactly zero gradient through the model', () => {
  const tr = tinyModel(10);
  const out = sample(tr.model, [PROMPTS[0]], { n: 4, temperature: 1, topP: 1, maxTokens: 6, stop: ['\n'], seed: 2 });
  const adv = groupAdvantages([1, 1, 1, 1]) as number[];
  const items = out.completions[0].map((c, j) => ({
    prompt: PROMPTS[0],
    completion: generatedText(c),
    advantage: adv[j],
    oldLogprobs: c.logprobs,
  }));
  const m = trainStep(tr, 'grpo', items, { lr: 1e-3 });
  assert.equal(m.grad_norm, 0);
  assert.ok(m.tokens > 0);
  dispose(tr);
});

test('model gradient matches finite differences, both attention paths agree', () => {
  const tr = tinyModel(8);
  const seqs = SFT.slice(0, 2);
  const vars = namedParams(tr.model.params);
  const grads: Record<string, number[]> = {};
  for (const [path, min] of [
    ['perHead', 0],
    ['batched', Infinity],
  ] as const) {
    attentionTuning.perHeadMin = min;
    const { value, grads: g } = tf.variableGrads(
      () => sftLoss(tr.model, seqs),
      vars.map(([, v]) => v),
    );
    grads[path] = vars.flatMap(([, v]) => Array.from(g[v.name].dataSync()));
    tf.dispose([value, ...Object.values(g)]);
  }
  attentionTuning.perHeadMin = 100_000;
  grads.perHead.forEach((x, i) => assert.ok(Math.abs(x - grads.batched[i]) < 1e-5, `path mismatch at ${i}`));
  const lossAt = () => tf.tidy(() => sftLoss(tr.model, seqs).dataSync()[0]);
  let offset = 0;
  for (const [name, v] of vars) {
    const probe: Record<string, number> = {
      wte: tok.encode('5')[0] * TINY.width + 2,
      wpe: 3 * TINY.width + 5,
      'h.0.q': 7,
      'h.0.ln1': 3,
      'h.1.v': 9,
      'h.1.fc': 11,
      'h.1.fcProj': 5,
      lnf: 1,
    };
    if (name in probe) {
      const i = probe[name];
      const data = v.dataSync().slice();
      const at = (x: number) => {
        data[i] = x;
        tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
        return lossAt();
      };
      const x0 = data[i];
      const h = 1e-2;
      const fd = (at(x0 + h) - at(x0 - h)) / (2 * h);
      at(x0);
      const g = grads.batched[offset + i];
      assert.ok(Math.abs(fd - g) < 1e-2 * Math.max(0.1, Math.abs(g)) + 1e-4, `${name}[${i}]: analytic ${g} vs numeric ${fd}`);
    }
    offset += v.size;
  }
  dispose(tr);
});

test('same seed and same steps give the same checkpoint hash; save/load round-trips', async () => {
  const dir = tmp();
  try {
    const hashes: string[] = [];
    for (const run of ['a', 'b']) {
      const engine = openInProcessPolicyEngine({ store: { kind: 'local', root: join(dir, run) }, onLog: () => {} });
      await engine.init({ out: 'ckpt/0', config: TINY, seed: 42 });
      for (let s = 1; s <= 3; s++) {
        await engine.trainSft({ checkpoint: `ckpt/${s - 1}`, out: `ckpt/${s}`, examples: SFT, hp: { lr: 1e-3 } });
      }
      hashes.push(await engine.checkpointHash('ckpt/3'));
      await engine.close();
    }
    assert.equal(hashes[0], hashes[1]);
    const store = new LocalStore(join(dir, 'a'));
    const tr = await loadCheckpoint(store, 'ckpt/3');
    assert.equal(tr.step, 3);
    assert.equal(tr.adam.t, 3);
    await saveCheckpoint(store, 'copy', tr);
    assert.equal(await checkpointHash(store, 'copy'), hashes[0]);
    const imported = await importCheckpointDir(join(dir, 'a', 'ckpt', '3'), new LocalStore(join(dir, 'c')), 'base');
    assert.equal(imported, hashes[0]);
    dispose(tr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint exists once its manifest is written; a flipped byte fails the load naming the file', async () => {
  const dir = tmp();
  try {
    const store = new LocalStore(dir);
    const tr = tinyModel(3);
    await saveCheckpoint(store, 'ok', tr);
    assert.equal(await checkpointExists(store, 'ok'), true);
    // A writer that died before the manifest (last of the three puts) left no checkpoint.
    await store.put('half/model.json', await store.get('ok/model.json'));
    await store.put('half/weights.bin', await store.get('ok/weights.bin'));
    assert.equal(await checkpointExists(store, 'half'), false);

    const weights = Buffer.from(await store.get('ok/weights.bin'));
    weights[weights.length >> 1] ^= 0x01;
    await store.put('ok/weights.bin', weights);
    await assert.rejects(loadCheckpoint(store, 'ok'), /ok: weights\.bin does not match its SHA-256 in SHA256/);
    const model = await store.get('ok/model.json');
    await store.put('ok/weights.bin', Buffer.from(weights.map((b, i) => (i === weights.length >> 1 ? b ^ 0x01 : b))));
    await store.put('ok/model.json', Buffer.concat([model, Buffer.from(' ')]));
    await assert.rejects(loadCheckpoint(store, 'ok'), /ok: model\.json does not match its SHA-256/);
    dispose(tr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tensor count is stable across repeated train and sample calls', async () => {
  const dir = tmp();
  try {
    const engine = openInProcessPolicyEngine({ store: { kind: 'local', root: dir }, onLog: () => {} });
    await engine.init({ out: 'm/0', config: TINY, seed: 1 });
    const round = async (s: number) => {
      const c = await engine.sample(`m/${s}`, PROMPTS, { n: 2, temperature: 1, topP: 0.9, maxTokens: 6, stop: ['\n'], seed: s });
      const items = c.flatMap((g, i) =>
        g.map((x, j) => ({ prompt: PROMPTS[i], completion: generatedText(x), advantage: j ? 1 : -1, oldLogprobs: x.logprobs })),
      );
      await engine.trainGrpo({ checkpoint: `m/${s}`, out: `m/${s + 1}`, reference: 'm/0', items, hp: { lr: 1e-3, beta: 0.1 } });
    };
    await round(0);
    await round(1);
    const before = tf.memory().numTensors;
    for (let s = 2; s < 6; s++) await round(s);
    assert.equal(tf.memory().numTensors, before);
    await engine.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a retried step finds its finished checkpoint instead of training again', async () => {
  const dir = tmp();
  try {
    const engine = openInProcessPolicyEngine({ store: { kind: 'local', root: dir }, onLog: () => {} });
    await engine.init({ out: 'r/0', config: TINY, seed: 2 });
    const first = await engine.trainSft({ checkpoint: 'r/0', out: 'r/1', examples: SFT, hp: { lr: 1e-3 } });
    const hash = await engine.checkpointHash('r/1');
    const again = await engine.trainSft({ checkpoint: 'r/0', out: 'r/1', examples: SFT, hp: { lr: 1e-3 } });
    assert.deepEqual(again, first);
    assert.equal(await engine.checkpointHash('r/1'), hash);
    await assert.rejects(
      engine.trainGrpo({
        checkpoint: 'r/1',
        out: 'r/2',
        items: [{ prompt: 'x', completion: 'ab\n', advantage: 1, oldLogprobs: [-1] }],
        hp: {},
      }),
      /oldLogprobs/,
    );
    await engine.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('training resumed from a stored checkpoint takes exactly the step an uninterrupted run takes', async () => {
  const dir = tmp();
  const grpoItems = [
    { prompt: PROMPTS[0], completion: 'ls\n', advantage: 1, oldLogprobs: [-4.6, -4.6, -4.6] },
    { prompt: PROMPTS[0], completion: 'pwd\n', advantage: -1, oldLogprobs: [-4.6, -4.6, -4.6, -4.6] },
  ];
  const steps = async (engine: ReturnType<typeof openInProcessPolicyEngine>, from: number, to: number) => {
    for (let s = from + 1; s <= to; s++) {
      if (s < 3) await engine.trainSft({ checkpoint: `k/${s - 1}`, out: `k/${s}`, examples: SFT, hp: { lr: 1e-3 } });
      else await engine.trainGrpo({ checkpoint: `k/${s - 1}`, out: `k/${s}`, items: grpoItems, hp: { lr: 1e-3 } });
    }
  };
  const open = (run: string) => openInProcessPolicyEngine({ store: { kind: 'local', root: join(dir, run) }, onLog: () => {} });
  try {
    const straight = open('straight');
    await straight.init({ out: 'k/0', config: TINY, seed: 8 });
    await steps(straight, 0, 4);
    const want = await straight.checkpointHash('k/4');
    await straight.close();

    // Interrupted after step 2: a new engine (nothing in memory) continues from the stored checkpoint and moments.
    const first = open('resumed');
    await first.init({ out: 'k/0', config: TINY, seed: 8 });
    await steps(first, 0, 2);
    await first.close();
    const second = open('resumed');
    await steps(second, 2, 4);
    assert.equal(await second.checkpointHash('k/4'), want);
    await second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tensor count and bytes are unchanged after 100 training steps and 100 sampling calls', () => {
  const tr = tinyModel(9);
  const ref = tinyModel(10);
  const warm = () => {
    const c = sample(tr.model, PROMPTS, { n: 2, temperature: 1, topP: 0.9, maxTokens: 6, stop: ['\n'], seed: 0 }).completions;
    return c.flatMap((g, i) =>
      g.map((x, j) => ({ prompt: PROMPTS[i], completion: generatedText(x), advantage: j ? 1 : -1, oldLogprobs: x.logprobs })),
    );
  };
  const items = warm();
  trainStep(tr, 'grpo', items, { lr: 1e-4, beta: 0.1 }, ref.model);
  trainStep(tr, 'sft', SFT, { lr: 1e-4 });
  const before = tf.memory();
  for (let s = 0; s < 100; s++) {
    sample(tr.model, PROMPTS, { n: 2, temperature: 1, topP: 0.9, maxTokens: 6, stop: ['\n'], seed: s });
    if (s % 2) trainStep(tr, 'sft', SFT, { lr: 1e-4 });
    else trainStep(tr, 'grpo', items, { lr: 1e-4, beta: 0.1 }, ref.model);
  }
  const afterwards = tf.memory();
  assert.equal(afterwards.numTensors, before.numTensors);
  assert.equal(afterwards.numBytes, before.numBytes);
  assert.equal(tr.step, 102);
  dispose(tr);
  dispose(ref);
});
