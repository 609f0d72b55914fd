// The FLOP counts behind the policy bench's roofline fractions (policy/flops.ts), checked against a by-hand count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockFlops, headFlops, sampleFlops, trainFlops } from '../../policy/flops';
import type { ModelConfig } from '../../policy/schemas';

const C: ModelConfig = { vocab: 10, ctx: 16, layers: 2, width: 4, heads: 2 };

test('one token through the blocks: projections, MLP and attention over the attended positions', () => {
  // per layer: q,k,v,proj 4 * 2*4*4 = 128; MLP 2 * 2*4*16 = 256; attention 2 * 2*4*3 = 48 (3 positions)
  assert.equal(blockFlops(C, 3), 2 * (128 + 256 + 48));
  assert.equal(headFlops(C), 2 * 4 * 10);
});

test('sampling counts the prefill once, one causal position per new token and the head per new token', () => {
  // prompt of 3 tokens (prefill 2 positions), 2 new tokens: positions 0..3 attend 1..4 positions
  const byHand = [1, 2, 3, 4].reduce((s, a) => s + blockFlops(C, a), 0) + 2 * headFlops(C);
  assert.equal(sampleFlops(C, 3, 2), byHand);
});

test('training is three forward passes over the prompt and completion, head on completion positions only', () => {
  const byHand = 3 * ([1, 2, 3, 4, 5].reduce((s, a) => s + blockFlops(C, a), 0) + 3 * headFlops(C));
  assert.equal(trainFlops(C, 3, 3), byHand);
});
