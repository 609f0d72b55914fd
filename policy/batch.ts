// Lays token sequences out as the tensors forward() takes.
//
// A prompt is [BOS, ...prompt tokens]. Its last token starts the "completion pass"; everything before it is the
// "prefix", run once and shared (as keys/values) by every completion of that prompt: G samples of one
// prompt cost one prompt forward, in training as in sampling. Prefixes are LEFT-padded (per-row positions
// start at 0 after the padding), completion inputs RIGHT-padded; padding is masked out of attention.
import * as tf from '@tensorflow/tfjs-core';
import { NEG } from './model';
import { Tokenizer } from './tokenizer';

/** [BOS, ...tokens(prompt)], left-truncated (keeping BOS) to at most `budget` tokens. */
export function promptTokens(tok: Tokenizer, prompt: string, budget: number): { tokens: number[]; truncated: boolean } {
  if (budget < 2) throw new Error(`no room for the prompt (budget ${budget} tokens)`);
  const ids = tok.encode(prompt);
  if (ids.length + 1 <= budget) return { tokens: [tok.bos, ...ids], truncated: false };
  return { tokens: [tok.bos, ...ids.slice(ids.length - (budget - 1))], truncated: true };
}

export interface PrefixLayout {
  /** Padded length of the prefix pass. */
  L: number;
  /** Left padding per prefix row. */
  pad: number[];
  /** True prefix length per row (= position of the row's first completion-pass token). */
  len: number[];
}

/** `minLength` pads to at least that length (a share of a batch laid out as the whole batch is). */
export function prefixLayout(prefixes: number[][], minLength = 0): PrefixLayout {
  const L = Math.max(minLength, ...prefixes.map((p) => p.length));
  return { L, pad: prefixes.map((p) => L - p.length), len: prefixes.map((p) => p.length) };
}

/** Tensors of the prefix pass: ids/pos int32 [U, L], causal bias [U, 1, L, L] that hides the left padding. */
export function prefixInputs(prefixes: number[][], layout: PrefixLayout, padId: number) {
  const U = prefixes.length;
  const { L, pad } = layout;
  const ids = new Int32Array(U * L).fill(padId);
  const pos = new Int32Array(U * L);
  const bias = new Float32Array(U * L * L).fill(NEG);
  for (let u = 0; u < U; u++) {
    prefixes[u].forEach((t, j) => (ids[u * L + pad[u] + j] = t));
    for (let i = 0; i < L; i++) {
      pos[u * L + i] = Math.max(0, i - pad[u]);
      for (let j = pad[u]; j <= i; j++) bias[(u * L + i) * L + j] = 0;
    }
  }
  return {
    ids: tf.tensor2d(ids, [U, L], 'int32'),
    pos: tf.tensor2d(pos, [U, L], 'int32'),
    bias: tf.tensor4d(bias, [U, 1, L, L]),
  };
}

/**
 * Tensors of a completion pass of T tokens for R rows (row r continues prefix `prefixOf[r]`), after `done`
 * earlier completion-pass tokens already in the cache (sampling) or 0 (training).
 * rows: [R][<= T], right-padded here; bias [R, 1, T, L + done + T].
 */
export function completionInputs(
  rows: number[][],
  prefixOf: number[],
  layout: PrefixLayout,
  done: number,
  T: number,
  ctx: number,
  padId: number,
) {
  const R = rows.length;
  const { L, pad, len } = layout;
  const K = L + done + T;
  const ids = new Int32Array(R * T).fill(padId);
  const pos = new Int32Array(R * T);
  const bias = new Float32Array(R * T * K).fill(NEG);
  for (let r = 0; r < R; r++) {
    const u = prefixOf[r];
    rows[r].forEach((t, j) => (ids[r * T + j] = t));
    for (let i = 0; i < T; i++) {
      pos[r * T + i] = Math.min(ctx - 1, len[u] + done + i);
      const base = (r * T + i) * K;
      for (let j = pad[u]; j < L + done + i + 1; j++) bias[base + j] = 0;
    }
  }
  return {
    ids: tf.tensor2d(ids, [R, T], 'int32'),
    pos: tf.tensor2d(pos, [R, T], 'int32'),
    bias: tf.tensor4d(bias, [R, 1, T, K]),
  };
}
