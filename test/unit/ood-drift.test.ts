// The OOD suite's difficulty levels, per-item OOD scores, and the drift measure: teacher-forced NLL of the reference
// answers (policy/train.ts completionNll, the engine's sequenceNll, pipeline/ood-drift.ts) on a tiny real model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../policy/backend';
import { forward, logitsOf, type Model } from '../../policy/model';
import { completionNll, trainStep } from '../../policy/train';
import { openInProcessPolicyEngine } from '../../policy/engine';
import { LocalStore, getJsonl, putJsonl } from '../../store';
import { OOD_KINDS, generateOodSuite, oodCorrect, parseOodLevels, renderOodAnswer, renderOodPrompt } from '../../tasks/ood';
import { OodItemScore, scoreOod } from '../../pipeline/episodes';
import { OodDriftRow, measureOodDrift } from '../../pipeline/ood-drift';
import { TINY, disposeTrainee as dispose, tinyModel, tok } from '../support/tiny-model';
import { tempDir } from '../../harness/temp-dir';

await initBackend(() => {});

const ITEMS = generateOodSuite({ seed: 3, n: 10, levels: parseOodLevels('2') });
const SEQS = ITEMS.map((item) => ({ prompt: renderOodPrompt(item), completion: renderOodAnswer(item) }));

/** -sum log softmax of the completion's tokens, from one full causal pass over [BOS, prompt, completion] (float64). */
function nllByFullPass(m: Model, prompt: string, completion: string): number {
  const promptIds = [tok.bos, ...tok.encode(prompt)];
  const ids = [...promptIds, ...tok.encode(completion)];
  const T = ids.length;
  const bias = new Float32Array(T * T).fill(-1e9);
  for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) bias[q * T + k] = 0;
  const logits = tf.tidy(() => {
    const { h } = forward(
      m,
      tf.tensor2d([ids], [1, T], 'int32'),
      tf.tensor2d([ids.map((_, j) => j)], [1, T], 'int32'),
      tf.tensor4d(bias, [1, 1, T, T]),
    );
    return logitsOf(m, tf.reshape(h, [T, -1]) as tf.Tensor2D);
  });
  const rows = logits.arraySync();
  logits.dispose();
  let nll = 0;
  for (let t = promptIds.length; t < T; t++) {
    const row = rows[t - 1]; // the logits at t - 1 predict token t
    const max = Math.max(...row);
    const logZ = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
    nll += logZ - row[ids[t]];
  }
  return nll;
}

test('the NLL of a sequence is the sum of -log softmax over its completion tokens, batched or not', () => {
  const tr = tinyModel(7);
  const expected = SEQS.map((s) => nllByFullPass(tr.model, s.prompt, s.completion));
  // A small micro-batch budget splits the items over several padded micro-batches.
  for (const microTokens of [8192, 40]) {
    const got = completionNll(tr.model, SEQS, microTokens);
    got.forEach((g, i) => {
      assert.equal(g.tokens, tok.encode(SEQS[i].completion).length, `item ${i} tokens`);
      assert.ok(Math.abs(g.nll - expected[i]) < 1e-3 * Math.max(1, expected[i]), `item ${i}: ${g.nll} vs ${expected[i]}`);
    });
  }
  dispose(tr);
});

test('training towards the reference answers lowers their NLL', () => {
  const tr = tinyModel(8);
  const total = () => completionNll(tr.model, SEQS).reduce((a, r) => a + r.nll, 0);
  const before = total();
  for (let i = 0; i < 5; i++) trainStep(tr, 'sft', SEQS, { lr: 3e-3 });
  const after = total();
  assert.ok(after < before * 0.9, `NLL ${before} -> ${after}`);
  dispose(tr);
});

test('the drift stage stores one row per item in item order, the same on every run, and their per-token mean', async () => {
  const root = tempDir('pivotrl-ood-drift-');
  const store = new LocalStore(root);
  const engine = openInProcessPolicyEngine({ store: { kind: 'local', root }, onLog: () => {} });
  try {
    await engine.init({ out: 'ck', config: TINY, seed: 9 });
    await putJsonl(store, 'ood.jsonl', ITEMS);
    const a = await measureOodDrift(store, engine, { checkpoint: 'ck', items: 'ood.jsonl', out: 'a/drift.jsonl' });
    const b = await measureOodDrift(store, engine, { checkpoint: 'ck', items: 'ood.jsonl', out: 'b/drift.jsonl' });
    const rows = await getJsonl(store, a.items, (v) => OodDriftRow.parse(v));
    assert.deepEqual(await getJsonl(store, b.items, (v) => OodDriftRow.parse(v)), rows);
    assert.deepEqual(
      rows.map((r) => [r.id, r.kind, r.tokens]),
      ITEMS.map((item) => [item.id, item.kind, tok.encode(renderOodAnswer(item)).length]),
    );
    const engineRows = await engine.sequenceNll('ck', SEQS);
    assert.deepEqual(
      rows.map((r) => r.nll),
      engineRows.map((r) => r.nll),
    );
    const tokens = rows.reduce((s, r) => s + r.tokens, 0);
    assert.ok(Math.abs(a.meanNll - rows.reduce((s, r) => s + r.nll, 0) / tokens) < 1e-9);
    assert.ok(a.meanNll > 1, `an untrained model is far from the answers (${a.meanNll} nats per token)`);
    assert.deepEqual(b, { ...a, items: 'b/drift.jsonl' });
  } finally {
    await engine.close();
  }
});

test('OOD levels: level 0 is the pretraining suite; higher levels are deterministic, reach further, and score by exact match', () => {
  const base = generateOodSuite({ seed: 4, n: 200 });
  assert.deepEqual(generateOodSuite({ seed: 4, n: 200, levels: parseOodLevels('0') }), base);
  const hard = generateOodSuite({ seed: 4, n: 200, levels: parseOodLevels('3') });
  assert.deepEqual(generateOodSuite({ seed: 4, n: 200, levels: parseOodLevels('3') }), hard);
  assert.deepEqual(
    hard.map((i) => i.id),
    base.map((i) => i.id),
    'item ids do not depend on the level',
  );
  assert.deepEqual(new Set(hard.map((i) => i.kind)), new Set(OOD_KINDS));
  for (const item of hard) {
    assert.ok(oodCorrect(item, renderOodAnswer(item)), item.prompt);
    assert.ok(!oodCorrect(item, `${item.answer}x`), item.prompt);
  }
  const words = (items: typeof base) => new Set(items.filter((i) => i.kind === 'reverse').map((i) => i.prompt));
  assert.ok(
    [...words(hard)].some((p) => !words(base).has(p)),
    'level 3 uses words level 0 never does',
  );
  const maxNext = (items: typeof base) => Math.max(...items.filter((i) => i.kind === 'next').map((i) => Number(i.answer)));
  assert.ok(maxNext(base) <= 99 && maxNext(hard) > 99);
  // Per kind: only the named kinds change.
  const addOnly = generateOodSuite({ seed: 4, n: 200, levels: parseOodLevels('add:3') });
  addOnly.forEach((item, i) => assert.deepEqual(item, item.kind === 'add' ? hard[i] : base[i]));
});

test('OOD levels refuse what is not a level, naming the part', () => {
  assert.deepEqual(parseOodLevels('add:2, next:1'), { add: 2, reverse: 0, upper: 0, first: 0, next: 1 });
  assert.throws(() => parseOodLevels('mul:1'), /unknown kind 'mul'/);
  assert.throws(() => parseOodLevels('add:x'), /ood level of add: 'x' is not a level/);
  assert.throws(() => parseOodLevels('99'), /'99' is not a level/);
  assert.throws(() => parseOodLevels('-1'), /not a level/);
});

test('scoreOod writes one 0/1 row per item when given where, and its totals are those rows', async () => {
  const store = new LocalStore(tempDir('pivotrl-ood-score-'));
  await putJsonl(store, 'ood.jsonl', ITEMS);
  const samples = ITEMS.map((item, i) => ({ turnId: item.id, index: 0, text: i % 3 === 0 ? 'wrong' : ` ${item.answer}`, logprobs: [] }));
  await putJsonl(store, 'samples.jsonl', samples);
  const score = await scoreOod(store, 'ood.jsonl', 'samples.jsonl', 'rows.jsonl');
  const rows = await getJsonl(store, 'rows.jsonl', (v) => OodItemScore.parse(v));
  assert.deepEqual(
    rows,
    ITEMS.map((item, i) => ({ id: item.id, kind: item.kind, correct: i % 3 === 0 ? 0 : 1 })),
  );
  assert.equal(score.oodItems, 'rows.jsonl');
  assert.equal(score.correct, 6);
  assert.equal(score.accuracy, 0.6);
  const { oodItems, ...totals } = score;
  assert.equal(oodItems, 'rows.jsonl');
  assert.deepEqual(await scoreOod(store, 'ood.jsonl', 'samples.jsonl'), totals, 'without where: the totals only, as before');
});
