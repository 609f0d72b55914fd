// KV-cached decoding, one token per row per step, for rows that share their prompt's prefix (the K samples of a turn).
//
// The prefix (the prompt but its last token) runs once per prompt (model.ts keysAndValues); its keys and values are
// kept once per prompt, never repeated per sample nor copied per step. The tokens decoded so far ("recent") are a
// small per-row cache that grows by one position a step. Attention over the prefix is one 2-D product per prompt and
// layer: the queries of the prompt's rows, one row per (row, head) with the other heads' columns zeroed, times the
// prefix's keys [W, L]: 2-D products take the backend's fast matmul (wasm: XNNPACK, ~10x the batched kernel here)
// even with the H-fold zero columns, and per-head products [n, D] x [D, L] cost as much (each kernel call has a fixed
// cost of ~10 us on wasm). So per prompt there are only the two products; everything else (zeroing the columns,
// the padding bias, summing the heads) is one op over the whole batch. The recent part is small and stays a batched
// product. Embeddings are looked up on the host (the wasm Gather kernel costs ~0.3 ms for 64 rows) from a copy of
// the tables taken once per sampling call, with the tied head transposed once.
import * as tf from '@tensorflow/tfjs-core';
import { geluNoGrad as gelu, keysAndValues, layerNormNoGrad as layerNorm, NEG, type Model } from './model';
import { prefixInputs, type PrefixLayout } from './batch';

/** One layer's cached prefix of one prompt: keys transposed [W, L], values [L, W]. */
interface PrefixKV {
  kT: tf.Tensor2D;
  v: tf.Tensor2D;
}

export interface DecodeCache {
  /** [layer][prompt]; empty when every prefix is empty. */
  prefix: PrefixKV[][];
  /** Per prompt: left padding of its prefix (positions its rows must not attend). */
  pad: number[];
  /** Padded prefix length. */
  L: number;
  /** Per layer: keys and values of the decoded positions [R, H, t, D], rows in batch order; absent before step 1. */
  recent: { k: tf.Tensor4D; v: tf.Tensor4D }[] | undefined;
  /** Host copies of the token [V * W] and position [ctx * W] embeddings. */
  wte: Float32Array;
  wpe: Float32Array;
  /** The tied output head transposed [W, V]. */
  headT: tf.Tensor2D;
  /** [H, W]: 1 where column c belongs to head h. */
  cols: tf.Tensor2D;
}

/** Runs the prompts' prefixes once and keeps their keys/values per prompt (tensors kept; free with disposeCache). */
export function prefill(m: Model, prefixes: number[][], layout: PrefixLayout): DecodeCache {
  const { width: W, heads: H } = m.config;
  const L = layout.L;
  // host copies kept out of tf.tidy, which would walk their elements looking for tensors
  const wte = m.params.wte.dataSync() as Float32Array;
  const wpe = m.params.wpe.dataSync() as Float32Array;
  const tensors = tf.tidy(() => {
    const headT = tf.transpose(m.params.wte) as tf.Tensor2D;
    const cols = headColumns(H, W);
    if (L === 0) return { headT, cols, prefix: [] };
    const inp = prefixInputs(prefixes, layout, m.tokenizer.pad);
    const U = prefixes.length;
    const embedded = tf.reshape(embed(wte, wpe, inp.ids.dataSync(), inp.pos.dataSync(), W), [U, L, W]) as tf.Tensor3D;
    const kv = keysAndValues(m, embedded, inp.bias);
    // per prompt [L, W] (slices, not tf.unstack: the wasm Unpack kernel is slow)
    const byPrompt = (x: tf.Tensor4D) => {
      const flat = tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [U * L, W]);
      return Array.from({ length: U }, (_, u) => tf.slice(flat, [u * L, 0], [L, W]) as tf.Tensor2D);
    };
    const prefix = kv.map(({ k, v }) => {
      const ks = byPrompt(k);
      const vs = byPrompt(v);
      return ks.map((ku, u) => ({ kT: tf.transpose(ku), v: vs[u] }));
    });
    return { headT, cols, prefix };
  });
  return { ...tensors, pad: layout.pad, L, recent: undefined, wte, wpe };
}

export function disposeCache(c: DecodeCache): void {
  tf.dispose([...c.prefix.flatMap((l) => l.flatMap((p) => [p.kT, p.v])), c.headT, c.cols]);
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

type Group = { prompt: number; start: number; end: number };

/** Token plus position embeddings [N, W] of N (id, position) pairs, added on the host (float32, as tf.add does). */
function embed(wte: Float32Array, wpe: Float32Array, ids: ArrayLike<number>, pos: ArrayLike<number>, W: number): tf.Tensor2D {
  const x = new Float32Array(ids.length * W);
  for (let r = 0; r < ids.length; r++) {
    const [t, p, o] = [ids[r] * W, pos[r] * W, r * W];
    for (let j = 0; j < W; j++) x[o + j] = wte[t + j] + wpe[p + j];
  }
  return tf.tensor2d(x, [ids.length, W]);
}

/** [R, 1, L] additive bias hiding each row's prompt's left padding; undefined when no live prompt is padded. */
function paddingBias(c: DecodeCache, groups: Group[], R: number): tf.Tensor3D | undefined {
  if (groups.every((g) => c.pad[g.prompt] === 0)) return undefined;
  const b = new Float32Array(R * c.L);
  for (const g of groups) for (let r = g.start; r < g.end; r++) b.fill(NEG, r * c.L, r * c.L + c.pad[g.prompt]);
  return tf.tensor3d(b, [R, 1, c.L]);
}

/**
 * One decoding step. ids/pos: one token per row; groups: per prompt with live rows, its index and its rows' range
 * [start, end) in batch order (rows of a prompt are contiguous). Returns the final hidden states [R, W] (kept) and
 * grows the cache's recent part by one position.
 */
export function decodeStep(m: Model, cache: DecodeCache, ids: number[], pos: number[], groups: Group[]): tf.Tensor2D {
  const { width: W, heads: H } = m.config;
  const D = W / H;
  const R = ids.length;
  const L = cache.L;
  const p = m.params;
  const recent: { k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
  const h = tf.tidy(() => {
    let x: tf.Tensor = embed(cache.wte, cache.wpe, ids, pos, W);
    const bias = paddingBias(cache, groups, R);
    /** x [R * H, n] split by prompt (one split, not a slice each), one product per prompt, back in batch order. */
    const split = groups.map((g) => (g.end - g.start) * H);
    const perPrompt = (x: tf.Tensor, by: (g: Group) => tf.Tensor2D) =>
      tf.concat(
        tf.split(x, split, 0).map((rows, i) => tf.matMul(rows, by(groups[i]))),
        0,
      );
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
        // one row per (row, head), the other heads' columns zeroed: [R * H, W]
        const qPad = tf.reshape(tf.mul(tf.reshape(q, [R, 1, W]), cache.cols), [R * H, W]);
        const scores = tf.reshape(
          perPrompt(qPad, (g) => prefix[g.prompt].kT),
          [R, H, L],
        );
        const sPrefix = bias ? tf.add(scores, bias) : scores;
        const probs = tf.softmax(tf.concat([sPrefix, sRecent], 2));
        const pPrefix = tf.reshape(tf.slice(probs, [0, 0, 0], [R, H, L]), [R * H, L]);
        const pRecent = tf.reshape(tf.slice(probs, [0, 0, L], [R, H, -1]), [R, H, 1, -1]);
        // per prompt [n * H, L] @ [L, W]; each (row, head) keeps its head's columns and the heads are summed
        const yPrefix = tf.sum(
          tf.mul(
            tf.reshape(
              perPrompt(pPrefix, (g) => prefix[g.prompt].v),
              [R, H, W],
            ),
            cache.cols,
          ),
          1,
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

/** Logits [R, V] of final hidden states (the tied head, never-emit tokens masked; as model.ts logitsOf). */
export function decodeLogits(m: Model, cache: DecodeCache, h: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.matMul(h, cache.headT), m.headMask));
}
