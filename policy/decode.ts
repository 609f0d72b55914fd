// KV-cached decoding, one token per row per step, for rows that share their prompt's prefix (the K samples of a turn).
//
// The prefix (the prompt but its last token) runs once per prompt (model.ts forward); its keys and values are kept
// once per prompt, never repeated per sample nor copied per step. The tokens decoded so far ("recent") are a small
// per-row cache that grows by one position a step. Attention over the prefix is one 2-D product per prompt and layer:
// the queries of the prompt's rows, one row per (row, head) with the other heads' columns zeroed, times the prefix's
// keys [W, L]: 2-D products take the backend's fast matmul (wasm: XNNPACK, ~10x the batched kernel here) even with
// the H-fold zero columns. The recent part is small and stays a batched product.
import * as tf from '@tensorflow/tfjs-core';
import { embedOp, forward, gelu, layerNorm, NEG, type Model } from './model';
import { prefixInputs, type PrefixLayout } from './batch';

/** One layer's cached prefix of one prompt: keys transposed [W, L], values [L, W]. */
interface PrefixKV {
  kT: tf.Tensor2D;
  v: tf.Tensor2D;
}

export interface DecodeCache {
  /** [layer][prompt]; empty when every prefix is empty. */
  prefix: PrefixKV[][];
  /** Per prompt: [1, L] additive bias hiding its left padding. */
  prefixBias: tf.Tensor2D[];
  /** Per layer: keys and values of the decoded positions [R, H, t, D], rows in batch order; absent before step 1. */
  recent: { k: tf.Tensor4D; v: tf.Tensor4D }[] | undefined;
}

/** Runs the prompts' prefixes once and keeps their keys/values per prompt (tensors kept; free with disposeCache). */
export function prefill(m: Model, prefixes: number[][], layout: PrefixLayout): DecodeCache {
  const { width: W } = m.config;
  const L = layout.L;
  if (L === 0) return { prefix: [], prefixBias: [], recent: undefined };
  return tf.tidy(() => {
    const inp = prefixInputs(prefixes, layout, m.tokenizer.pad);
    const { kv } = forward(m, inp.ids, inp.pos, inp.bias);
    const U = prefixes.length;
    // per prompt [L, W] (slices, not tf.unstack: the wasm Unpack kernel is slow)
    const byPrompt = (x: tf.Tensor4D) => {
      const flat = tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [U * L, W]);
      return Array.from({ length: U }, (_, u) => tf.slice(flat, [u * L, 0], [L, W]) as tf.Tensor2D);
    };
    const prefix = kv.map(({ k, v }) => {
      const ks = byPrompt(k);
      const vs = byPrompt(v);
      return ks.map((ku, u) => ({ kT: tf.keep(tf.transpose(ku)), v: tf.keep(vs[u]) }));
    });
    const prefixBias = layout.pad.map((p) =>
      tf.keep(
        tf.tensor2d(
          Array.from({ length: L }, (_, j) => (j < p ? NEG : 0)),
          [1, L],
        ),
      ),
    );
    return { prefix, prefixBias, recent: undefined };
  });
}

export function disposeCache(c: DecodeCache): void {
  tf.dispose([...c.prefix.flatMap((l) => l.flatMap((p) => [p.kT, p.v])), ...c.prefixBias]);
  for (const r of c.recent ?? []) tf.dispose([r.k, r.v]);
  c.recent = undefined;
}

/** Keeps only the given rows (batch indices, ascending) of the recent cache. */
export function keepRows(c: DecodeCache, rows: number[]): void {
  const old = c.recent;
  if (!old) return;
  c.recent = tf.tidy(() => {
    const at = tf.tensor1d(rows, 'int32');
    return old.map(({ k, v }) => ({ k: tf.keep(tf.gather(k, at)) as tf.Tensor4D, v: tf.keep(tf.gather(v, at)) as tf.Tensor4D }));
  });
  for (const r of old) tf.dispose([r.k, r.v]);
}

/** [H, W]: 1 where column c belongs to head h. */
function headColumns(H: number, W: number): tf.Tensor2D {
  const D = W / H;
  const a = new Float32Array(H * W);
  for (let h = 0; h < H; h++) a.fill(1, h * W + h * D, h * W + (h + 1) * D);
  return tf.tensor2d(a, [H, W]);
}

/**
 * One decoding step. ids/pos: one token per row; groups: per prompt with live rows, its index and its rows' range
 * [start, end) in batch order (rows of a prompt are contiguous). Returns the final hidden states [R, W] (kept) and
 * grows the cache's recent part by one position.
 */
export function decodeStep(
  m: Model,
  cache: DecodeCache,
  ids: number[],
  pos: number[],
  groups: { prompt: number; start: number; end: number }[],
): tf.Tensor2D {
  const { width: W, heads: H } = m.config;
  const D = W / H;
  const R = ids.length;
  const p = m.params;
  const recent: { k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
  const h = tf.tidy(() => {
    const cols = headColumns(H, W);
    const idT = tf.tensor2d(ids, [R, 1], 'int32');
    const posT = tf.tensor2d(pos, [R, 1], 'int32');
    let x = tf.reshape(tf.add(embedOp(p.wte, idT), embedOp(p.wpe, posT)), [R, W]);
    p.blocks.forEach((b, l) => {
      const a = layerNorm(x, b.ln1);
      const q = tf.mul(tf.matMul(a, b.q), 1 / Math.sqrt(D)); // [R, W]
      const toHeads = (t: tf.Tensor) => tf.reshape(t, [R, H, 1, D]);
      const old = cache.recent?.[l];
      const k = old ? tf.concat([old.k, toHeads(tf.matMul(a, b.k))], 2) : toHeads(tf.matMul(a, b.k));
      const v = old ? tf.concat([old.v, toHeads(tf.matMul(a, b.v))], 2) : toHeads(tf.matMul(a, b.v));
      recent.push({ k: tf.keep(k) as tf.Tensor4D, v: tf.keep(v) as tf.Tensor4D });
      const sRecent = tf.reshape(tf.matMul(toHeads(q), k, false, true), [R, H, -1]); // [R, H, t]
      const prefix = cache.prefix[l];
      let y: tf.Tensor; // attention output [R, W]
      if (!prefix) {
        y = tf.reshape(tf.matMul(tf.reshape(tf.softmax(sRecent), [R, H, 1, -1]), v), [R, W]);
      } else {
        // q of a prompt's rows, one row per (row, head), other heads' columns zeroed: [n * H, W]
        const qPad = (g: (typeof groups)[number]) =>
          tf.reshape(tf.mul(tf.reshape(tf.slice(q, [g.start, 0], [g.end - g.start, W]), [-1, 1, W]), cols), [-1, W]);
        const sPrefix = tf.reshape(
          tf.concat(
            groups.map((g) => tf.add(tf.matMul(qPad(g), prefix[g.prompt].kT), cache.prefixBias[g.prompt])),
            0,
          ),
          [R, H, -1],
        );
        const L = sPrefix.shape[2] as number;
        const probs = tf.softmax(tf.concat([sPrefix, sRecent], 2));
        const pPrefix = tf.reshape(tf.slice(probs, [0, 0, 0], [R, H, L]), [R * H, L]);
        const pRecent = tf.reshape(tf.slice(probs, [0, 0, L], [R, H, -1]), [R, H, 1, -1]);
        // per prompt: [n * H, L] @ [L, W], then each (row, head) keeps its head's columns and the heads are summed
        const yPrefix = tf.concat(
          groups.map((g) =>
            tf.sum(
              tf.mul(
                tf.reshape(tf.matMul(tf.slice(pPrefix, [g.start * H, 0], [(g.end - g.start) * H, L]), prefix[g.prompt].v), [-1, H, W]),
                cols,
              ),
              1,
            ),
          ),
          0,
        );
        y = tf.add(yPrefix, tf.reshape(tf.matMul(pRecent, v), [R, W]));
      }
      x = tf.add(x, tf.matMul(y, b.proj));
      x = tf.add(x, tf.matMul(gelu(tf.matMul(layerNorm(x, b.ln2), b.fc)), b.fcProj));
    });
    return layerNorm(x, p.lnf) as tf.Tensor2D;
  });
  for (const r of cache.recent ?? []) tf.dispose([r.k, r.v]);
  cache.recent = recent;
  return h;
}
