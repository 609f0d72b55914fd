// A small decoder-only transformer (GPT-2 shape, nanoGPT style): learned token and position embeddings,
// pre-LayerNorm blocks with causal multi-head attention and a GELU MLP, no biases, tied output head.
// Parameters are tf.Variables in a plain object. One forward serves training (prefix + completion) and
// KV-cached sampling: it takes the keys/values of earlier positions (`past`) and returns its own.
import * as tf from '@tensorflow/tfjs-core';
import { matMulT } from './gradients';
import { ModelConfig } from './schemas';
import { mixSeed, normals, rng } from './rng';
import { Tokenizer } from './tokenizer';

export { ModelConfig };

export interface Block {
  ln1: tf.Variable; // [W]        LayerNorm gain
  q: tf.Variable; // [W, W]       query projection
  k: tf.Variable; // [W, W]       key projection
  v: tf.Variable; // [W, W]       value projection
  proj: tf.Variable; // [W, W]    attention output
  ln2: tf.Variable; // [W]
  fc: tf.Variable; // [W, 4W]     MLP in
  fcProj: tf.Variable; // [4W, W] MLP out
}

export interface Params {
  wte: tf.Variable; // [V, W] token embedding, also the output head
  wpe: tf.Variable; // [ctx, W] position embedding
  blocks: Block[];
  lnf: tf.Variable; // [W] final LayerNorm gain
}

export interface Model {
  config: ModelConfig;
  tokenizer: Tokenizer;
  params: Params;
  /** Added to the logits: 0, or -1e9 for tokens the policy never emits (PAD/BOS/EOS). */
  headMask: tf.Tensor1D;
}

/** Keys and values of one layer: [rows, heads, positions, headDim]. */
export interface KV {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}

export const NEG = -1e9;

/** A block's parameters in their fixed order (checkpoints, optimiser state, the training layers' gradients). */
export const BLOCK_PARAMS = ['ln1', 'q', 'k', 'v', 'proj', 'ln2', 'fc', 'fcProj'] as const;

/** Parameters with stable names, in a fixed order (checkpoints, optimiser state). */
export function namedParams(p: Params): [string, tf.Variable][] {
  const out: [string, tf.Variable][] = [
    ['wte', p.wte],
    ['wpe', p.wpe],
  ];
  p.blocks.forEach((b, i) => {
    for (const k of BLOCK_PARAMS) out.push([`h.${i}.${k}`, b[k]]);
  });
  out.push(['lnf', p.lnf]);
  return out;
}

/** Shapes of every named parameter for a config, and whether it is weight-decayed (matrices only). */
export function paramShapes(c: ModelConfig): { name: string; shape: number[]; decay: boolean; std: number }[] {
  const W = c.width;
  const resid = 0.02 / Math.sqrt(2 * c.layers); // nanoGPT: scaled init of residual projections
  const out = [
    { name: 'wte', shape: [c.vocab, W], decay: true, std: 0.02 },
    { name: 'wpe', shape: [c.ctx, W], decay: true, std: 0.02 },
  ];
  for (let i = 0; i < c.layers; i++) {
    out.push(
      { name: `h.${i}.ln1`, shape: [W], decay: false, std: 0 },
      { name: `h.${i}.q`, shape: [W, W], decay: true, std: 0.02 },
      { name: `h.${i}.k`, shape: [W, W], decay: true, std: 0.02 },
      { name: `h.${i}.v`, shape: [W, W], decay: true, std: 0.02 },
      { name: `h.${i}.proj`, shape: [W, W], decay: true, std: resid },
      { name: `h.${i}.ln2`, shape: [W], decay: false, std: 0 },
      { name: `h.${i}.fc`, shape: [W, 4 * W], decay: true, std: 0.02 },
      { name: `h.${i}.fcProj`, shape: [4 * W, W], decay: true, std: resid },
    );
  }
  out.push({ name: 'lnf', shape: [W], decay: false, std: 0 });
  return out;
}

/** Builds Params from named tensors (takes ownership: the tensors become variables' initial values). */
export function paramsFrom(c: ModelConfig, named: Record<string, tf.Tensor>): Params {
  const v = (name: string): tf.Variable => {
    const t = named[name];
    if (!t) throw new Error(`checkpoint is missing parameter '${name}'`);
    const spec = paramShapes(c).find((s) => s.name === name)!;
    if (!tf.util.arraysEqual(t.shape, spec.shape)) {
      throw new Error(`parameter '${name}' has shape [${t.shape}], config wants [${spec.shape}]`);
    }
    return tf.variable(t, true);
  };
  const blocks: Block[] = [];
  for (let i = 0; i < c.layers; i++) {
    const b = (k: string) => v(`h.${i}.${k}`);
    blocks.push({
      ln1: b('ln1'),
      q: b('q'),
      k: b('k'),
      v: b('v'),
      proj: b('proj'),
      ln2: b('ln2'),
      fc: b('fc'),
      fcProj: b('fcProj'),
    });
  }
  return { wte: v('wte'), wpe: v('wpe'), blocks, lnf: v('lnf') };
}

/** Seeded initialisation: N(0, 0.02) matrices, scaled residual projections, unit LayerNorm gains. */
export function initParams(c: ModelConfig, seed: number): Record<string, tf.Tensor> {
  const named: Record<string, tf.Tensor> = {};
  paramShapes(c).forEach((s, i) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    named[s.name] = s.std === 0 ? tf.ones(s.shape) : tf.tensor(normals(rng(mixSeed(seed, i)), size, s.std), s.shape, 'float32');
  });
  return named;
}

export function makeModel(config: ModelConfig, tokenizer: Tokenizer, params: Params): Model {
  if (config.vocab !== tokenizer.vocabSize) {
    throw new Error(`model vocab ${config.vocab} does not match tokenizer ${tokenizer.name} (${tokenizer.vocabSize})`);
  }
  const mask = new Float32Array(config.vocab);
  for (const id of tokenizer.neverEmit) mask[id] = NEG;
  return { config, tokenizer, params, headMask: tf.tensor1d(mask) };
}

export function disposeModel(m: Model): void {
  for (const [, v] of namedParams(m.params)) v.dispose();
  m.headMask.dispose();
}

export function countParams(c: ModelConfig): number {
  return paramShapes(c).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

// ---- building blocks -------------------------------------------------------------------------
// Written as tf.customGrad ops: fewer, larger kernels than autodiff through their parts (on wasm, small
// elementwise kernels dominate), and no reliance on gradients tfjs-core does not register here.

type GradFn = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
/** tf.customGrad with its argument types spelled out (the library types them loosely). */
export function custom<A extends tf.Tensor[]>(
  f: (...args: [...A, tf.GradSaveFunc]) => { value: tf.Tensor; gradFunc: GradFn },
): (...args: A) => tf.Tensor {
  return tf.customGrad(f as never) as never;
}

/**
 * Embedding lookup: gather forward; gradient one-hot(ids)^T @ dy (a matmul). tf.gather's own gradient
 * needs UnsortedSegmentSum, which the wasm backend lacks.
 */
export const embedOp = custom<[tf.Tensor, tf.Tensor]>((table, ids, save) => {
  save([ids]);
  const [V, W] = table.shape;
  return {
    value: tf.gather(table, ids),
    gradFunc: (dy, [saved]) => [
      matMulT(tf.oneHot(tf.reshape(saved, [-1]), V), tf.reshape(dy as tf.Tensor, [-1, W]), true, false),
      tf.zerosLike(saved),
    ],
  };
});

/** LayerNorm over the last axis with a gain and no bias (nanoGPT bias=False): the output and what its backward reads. */
export function layerNormParts(x: tf.Tensor, g: tf.Tensor): { y: tf.Tensor; xhat: tf.Tensor; r: tf.Tensor } {
  const xc = tf.sub(x, tf.mean(x, -1, true));
  const r = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), 1e-5));
  const xhat = tf.mul(xc, r);
  return { y: tf.mul(xhat, g), xhat, r };
}

/** Gradients of layerNormParts' output with respect to x and the gain. */
export function layerNormBackward(dy: tf.Tensor, xhat: tf.Tensor, r: tf.Tensor, g: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const W = g.shape[0];
  const dxhat = tf.mul(dy, g);
  // dx = r * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
  const dx = tf.mul(r, tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xhat, tf.mean(tf.mul(dxhat, xhat), -1, true))));
  const dg = tf.sum(tf.reshape(tf.mul(dy, xhat), [-1, W]), 0);
  return [dx, dg];
}

export const layerNorm = custom<[tf.Tensor, tf.Tensor]>((x, g, save) => {
  const { y, xhat, r } = layerNormParts(x, g);
  save([xhat, r, g]);
  return { value: y, gradFunc: (dy, [xhat, r, g]) => layerNormBackward(dy as tf.Tensor, xhat, r, g) };
});

/** GELU, sigmoid approximation x * sigmoid(1.702 x): the output and the sigmoid (its backward reads it). */
export function geluParts(x: tf.Tensor): { y: tf.Tensor; s: tf.Tensor } {
  const s = tf.sigmoid(tf.mul(x, 1.702));
  return { y: tf.mul(x, s), s };
}

/** LayerNorm and GELU without gradient bookkeeping (decoding: a custom op's wrapper costs ~20 us a call on wasm). */
export const layerNormNoGrad = (x: tf.Tensor, g: tf.Tensor): tf.Tensor => layerNormParts(x, g).y;
export const geluNoGrad = (x: tf.Tensor): tf.Tensor => geluParts(x).y;

/** d/dx gelu = s + 1.702 x s (1 - s). */
export function geluBackward(dy: tf.Tensor, x: tf.Tensor, s: tf.Tensor): tf.Tensor {
  return tf.mul(dy, tf.add(s, tf.mul(tf.mul(x, 1.702), tf.mul(s, tf.sub(1, s)))));
}

export const gelu = custom<[tf.Tensor]>((x, save) => {
  const { y, s } = geluParts(x);
  save([x, s]);
  return { value: y, gradFunc: (dy, [x, s]) => geluBackward(dy as tf.Tensor, x, s) };
});

/** Repeats each row `times` times ([U, ...] -> [U*times, ...]); the gradient sums the copies. */
export function repeatRows<T extends tf.Tensor>(x: T, times: number): T {
  if (times === 1) return x;
  const op = custom<[tf.Tensor]>((t) => {
    const [U, ...rest] = t.shape;
    const n = rest.reduce((a, b) => a * b, 1);
    return {
      // concat of copies, not tf.tile: the wasm Tile kernel is ~25x slower here
      value: tf.reshape(tf.concat(Array<tf.Tensor>(times).fill(tf.reshape(t, [U, 1, n])), 1), [U * times, ...rest]),
      gradFunc: (dy) => sumRepeatedRows(dy as tf.Tensor, times),
    };
  });
  return op(x) as T;
}

/** The gradient of repeatRows: [U*times, ...] -> [U, ...], each row the sum of its copies. */
export function sumRepeatedRows(dy: tf.Tensor, times: number): tf.Tensor {
  const [N, ...rest] = dy.shape;
  const U = N / times;
  return tf.reshape(tf.sum(tf.reshape(dy, [U, times, dy.size / N]), 1), [U, ...rest]);
}

/**
 * softmax(q k^T + bias) v for q [R, H, T, D] (already scaled), k, v [R, H, S, D], bias [R, 1, T, S].
 * On wasm a batched matmul takes a slow generic path (~2 GFLOP/s) while a 2-D product goes to XNNPACK
 * (~20 GFLOP/s), so for large T*S*D (training, prefill) the products are done per (row, head) in 2-D, forward
 * and backward; small ones (one decoding step) stay batched, where kernel overhead would dominate.
 */
export const attentionTuning = {
  /**
   * On wasm, per-(row, head) 2-D products when T * S * D is at least this (tests set 0 or Infinity to pick a
   * path). Other backends (tfjs-node, GPU) always take the batched path.
   */
  perHeadMin: 100_000,
};

/**
 * a @ b for a [R, H, n, i], b [R, H, i, m]: batched, or per (row, head) in 2-D when `perHead` (in a tf.tidy: the
 * slices and per-head products are freed at once, not at the end of a training step).
 */
function bmm(a: tf.Tensor, b: tf.Tensor, perHead: boolean): tf.Tensor {
  return perHead ? tf.tidy(() => bmmPerHead(a, b)) : tf.matMul(a, b);
}

function bmmPerHead(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [R, H, n, i] = a.shape;
  const m = b.shape[3] as number;
  const B = R * H;
  /** x [R, H, rows, cols] -> B matrices [rows, cols]. */
  const split = (x: tf.Tensor, rows: number, cols: number) => {
    const flat = tf.reshape(x, [B * rows, cols]);
    return Array.from({ length: B }, (_, j) => tf.slice(flat, [j * rows, 0], [rows, cols]));
  };
  const as = split(a, n, i);
  const bs = split(b, i, m);
  return tf.reshape(
    tf.concat(
      as.map((x, j) => tf.matMul(x, bs[j])),
      0,
    ),
    [R, H, n, m],
  );
}

function usePerHead(q: tf.Tensor, k: tf.Tensor): boolean {
  const [, , T, D] = q.shape;
  return tf.getBackend() === 'wasm' && T * (k.shape[2] as number) * D >= attentionTuning.perHeadMin;
}

const transposeLast = (x: tf.Tensor) => tf.transpose(x, [0, 1, 3, 2]);

/** The attention's output and its probabilities p (what its backward reads). */
export function attentionForward(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, bias: tf.Tensor): { out: tf.Tensor; p: tf.Tensor } {
  const perHead = usePerHead(q, k);
  const p = tf.tidy(() => tf.softmax(tf.add(bmm(q, transposeLast(k), perHead), bias)));
  return { out: bmm(p, v, perHead), p };
}

/**
 * Gradients of attentionForward's output with respect to q, k and v. Each product in its own tf.tidy: a training
 * step's backward holds one of these [R, H, T, S] intermediates at a time, not all of them.
 */
export function attentionBackward(
  dy: tf.Tensor,
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  p: tf.Tensor,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const perHead = usePerHead(q, k);
  const dv = tf.tidy(() => bmm(transposeLast(p), dy, perHead));
  const ds = tf.tidy(() => {
    const dp = bmm(dy, transposeLast(v), perHead);
    return tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true))); // softmax backward
  });
  const dq = bmm(ds, k, perHead);
  const dk = tf.tidy(() => bmm(transposeLast(ds), q, perHead));
  ds.dispose();
  return [dq, dk, dv];
}

const attention = custom<[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]>((q, k, v, bias, save) => {
  const { out, p } = attentionForward(q, k, v, bias);
  save([q, k, v, p]);
  return {
    value: out,
    gradFunc: (dy, [q, k, v, p]) => [...attentionBackward(dy as tf.Tensor, q, k, v, p), tf.zerosLike(bias)],
  };
});

// ---- the forward pass ------------------------------------------------------------------------

/**
 * ids, pos: int32 [R, T]; bias: additive attention bias [R, 1, T, P + T] (0 = may attend, NEG = may not)
 * where P is the number of past positions in `past` (absent: P = 0).
 * Returns the final LayerNorm'd hidden states [R, T, W] and every layer's keys/values (past + new).
 */
export function forward(m: Model, ids: tf.Tensor2D, pos: tf.Tensor2D, bias: tf.Tensor, past?: KV[]): { h: tf.Tensor3D; kv: KV[] } {
  const embedded = tf.add(embedOp(m.params.wte, ids), embedOp(m.params.wpe, pos)) as tf.Tensor3D;
  const { x, kv } = runBlocks(m, embedded, bias, past, false);
  return { h: layerNorm(x, m.params.lnf) as tf.Tensor3D, kv };
}

/**
 * Every layer's keys/values of a pass with no past (sampling's prefill), from the embedded tokens [R, T, W]. The
 * last block stops at its keys and values: its attention output, MLP and the final LayerNorm are read by nothing.
 */
export function keysAndValues(m: Model, embedded: tf.Tensor3D, bias: tf.Tensor): KV[] {
  return runBlocks(m, embedded, bias, undefined, true).kv;
}

/** The blocks over embedded tokens [R, T, W]; with kvOnly, the last block stops at its keys and values. */
function runBlocks(m: Model, embedded: tf.Tensor3D, bias: tf.Tensor, past: KV[] | undefined, kvOnly: boolean) {
  const { width: W, heads: H } = m.config;
  const D = W / H;
  const [R, T] = embedded.shape;
  const p = m.params;
  let x: tf.Tensor = embedded;
  const kv: KV[] = [];
  p.blocks.forEach((b, l) => {
    // causal self-attention
    const a = tf.reshape(layerNorm(x, b.ln1), [R * T, W]);
    // [R*T, W] -> [R, H, T, D] (separate projections: rank-4 transposes are fast on wasm, rank-5 are not)
    const heads = (w: tf.Tensor) => tf.transpose(tf.reshape(tf.matMul(a, w), [R, T, H, D]), [0, 2, 1, 3]) as tf.Tensor4D;
    const [kNew, vNew] = [heads(b.k), heads(b.v)];
    const k = past ? tf.concat([past[l].k, kNew], 2) : kNew;
    const v = past ? tf.concat([past[l].v, vNew], 2) : vNew;
    kv.push({ k, v });
    if (kvOnly && l === p.blocks.length - 1) return;
    const att = attention(tf.mul(heads(b.q), 1 / Math.sqrt(D)), k, v, bias); // [R, H, T, D]
    const y = tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [R * T, W]);
    x = tf.add(x, tf.reshape(tf.matMul(y, b.proj), [R, T, W]));
    // MLP
    const f = tf.reshape(layerNorm(x, b.ln2), [R * T, W]);
    x = tf.add(x, tf.reshape(tf.matMul(gelu(tf.matMul(f, b.fc)), b.fcProj), [R, T, W]));
  });
  return { x, kv };
}

/** Logits over the vocabulary for hidden states [N, W] (tied head), never-emit tokens masked. */
export function logitsOf(m: Model, h: tf.Tensor2D): tf.Tensor2D {
  return tf.add(matMulT(h, m.params.wte, false, true), m.headMask);
}
