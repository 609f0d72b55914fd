// How the engine divides work between its threads (policy/split.ts): prompt shares, the micro-batch budget that gives
// a step work for several threads whatever N is, and the assignment of micro-batches to threads by cost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../policy/backend';
import { disposeModel, initParams, makeModel, paramsFrom } from '../../policy/model';
import { contiguousShares, microBatchBudget, MIN_MICRO_BATCHES, threadOfMicroBatch } from '../../policy/split';
import { charTokenizer } from '../../policy/tokenizer';
import { planStep } from '../../policy/train';

const tok = charTokenizer();
/** `groups` prompts of 40 characters (41 tokens with BOS), `rows` completions of 9 characters each. */
const batch = (groups: number, rows: number) =>
  Array.from({ length: groups }, (_, g) =>
    Array.from({ length: rows }, (_, r) => ({ prompt: `${g}`.padEnd(40, '.'), completion: `ls -a ${r}\n`.padEnd(9, ' ') })),
  ).flat();

test('prompts go to threads in contiguous, near-equal shares', () => {
  assert.deepEqual(contiguousShares(5, 2), [
    [0, 2],
    [2, 5],
  ]);
  assert.deepEqual(contiguousShares(8, 1), [[0, 8]]);
});

test('the micro-batch budget cuts a step for MIN_MICRO_BATCHES threads, never below one prompt group, never above the configured one', () => {
  const group = 41 + 8 * 9; // prompt + 8 rows x the longest completion
  assert.equal(microBatchBudget(tok, batch(16, 8), 8192), Math.ceil((16 * group) / MIN_MICRO_BATCHES));
  assert.equal(microBatchBudget(tok, batch(1, 8), 8192), group, 'one group stays whole');
  assert.equal(microBatchBudget(tok, batch(16, 8), 100), 100);
});

test('a default-configured GRPO-sized step has micro-batches for several threads, the same for any thread count', async () => {
  await initBackend(() => {});
  const config = { vocab: tok.vocabSize, ctx: 64, layers: 1, width: 16, heads: 2 };
  const named = initParams(config, 1);
  const model = makeModel(config, tok, paramsFrom(config, named));
  tf.dispose(Object.values(named));
  const seqs = batch(16, 8);
  assert.equal(planStep(model, 'sft', seqs, { lr: 1e-3 }).batches.length, 1, 'as configured (8192 tokens): one micro-batch');
  const plan = planStep(model, 'sft', seqs, { lr: 1e-3, microBatchTokens: microBatchBudget(tok, seqs, 8192) });
  assert.equal(plan.batches.length, MIN_MICRO_BATCHES);
  assert.deepEqual(
    plan.batches.map((mb) => mb.prefixes.length),
    [4, 4, 4, 4],
  );
  disposeModel(model);
});

test('micro-batches go to the least loaded thread, costliest first, so that threads finish together', () => {
  assert.deepEqual(threadOfMicroBatch([5, 5, 5, 5, 1], 2), [0, 1, 0, 1, 0]);
  assert.deepEqual(threadOfMicroBatch([1, 9, 4, 4], 2), [1, 0, 1, 1]);
  assert.deepEqual(threadOfMicroBatch([3, 3, 3], 1), [0, 0, 0]);
});
