// The training forward pass: each transformer block one custom-gradient op with a hand-written backward.
//
// Why: tfjs's tape keeps every intermediate of the forward and every intermediate gradient until variableGrads
// returns (a step's peak tensor bytes doubled over the backward). A block op keeps only what its backward reads, and
// its backward frees its own intermediates stage by stage (tf.tidy), so a step holds the saved activations plus one
// stage of one block's backward. Same maths and kernels as autodiff through model.ts's forward (gradients equal to
// float rounding); sampling keeps model.ts's forward.
//
// A block runs a micro-batch's prompt prefixes and its completion rows as one op, rows packed as [prefix rows;
// completion rows] x W: the completion rows attend the prefix's keys/values (each prefix repeated for its G
// completion rows), so the gradient reaching those keys/values is summed back into the prefix's backward. In the last
// block only the prefix's keys/values are read, so only they are computed (and the op returns the completion rows).
import * as tf from '@tensorflow/tfjs-core';
import { matMulT } from './gradients';
import {
  BLOCK_PARAMS,
  attentionBackward,
  attentionForward,
  custom,
  embedOp,
  geluBackward,
  geluParts,
  layerNorm,
  layerNormBackward,
  layerNormParts,
  repeatRows,
  sumRepeatedRows,
  type Model,
} from './model';

/** The tensors of one pass (batch.ts): ids, pos [rows, len], attention bias [rows, 1, len, past + len]. */
export interface PassInputs {
  ids: tf.Tensor2D;
  pos: tf.Tensor2D;
  bias: tf.Tensor;
}

interface Shape {
  rows: number;
  len: number;
  heads: number;
}

/** What a block's backward reads, in a fixed order (customGrad saves a flat list); a keys/values-only pass: KV_SAVED. */
const SAVED = ['a', 'xhat1', 'r1', 'q', 'k', 'v', 'p', 'y', 'xhat2', 'r2', 'f', 'u', 's'] as const;
const KV_SAVED = ['a', 'xhat1', 'r1'] as const;
type Saved = Record<(typeof SAVED)[number], tf.Tensor>;
type KvSaved = Record<(typeof KV_SAVED)[number], tf.Tensor>;

/** [rows*len, W] -> [rows, heads, len, D] and back. */
const toHeads = (t: tf.Tensor, { rows, len, heads }: Shape) =>
  tf.transpose(tf.reshape(t, [rows, len, heads, (t.shape[1] as number) / heads]), [0, 2, 1, 3]);
const fromHeads = (t: tf.Tensor, { rows, len, heads }: Shape) =>
  tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [rows * len, heads * (t.shape[3] as number)]);

/** LayerNorm 1 and the key/value projections of x [rows*len, W]. */
function kvForward(w: tf.Tensor[], x: tf.Tensor, sh: Shape) {
  const [ln1, , wk, wv] = w;
  const n1 = layerNormParts(x, ln1);
  const saved: KvSaved = { a: n1.y, xhat1: n1.xhat, r1: n1.r };
  return { kNew: toHeads(tf.matMul(n1.y, wk), sh), vNew: toHeads(tf.matMul(n1.y, wv), sh), saved };
}

/** One block over x [rows*len, W] (attending `past` keys/values first, if given): its output and saved tensors. */
function blockForward(w: tf.Tensor[], x: tf.Tensor, sh: Shape, bias: tf.Tensor, past?: { k: tf.Tensor; v: tf.Tensor }) {
  const [, wq, , , proj, ln2, fc, fcProj] = w;
  const { kNew, vNew, saved: kv } = kvForward(w, x, sh);
  const q = tf.mul(toHeads(tf.matMul(kv.a, wq), sh), 1 / Math.sqrt((x.shape[1] as number) / sh.heads));
  const k = past ? tf.concat([past.k, kNew], 2) : kNew;
  const v = past ? tf.concat([past.v, vNew], 2) : vNew;
  const { out: att, p } = attentionForward(q, k, v, bias);
  const y = fromHeads(att, sh);
  const x1 = tf.add(x, tf.matMul(y, proj));
  const n2 = layerNormParts(x1, ln2);
  const u = tf.matMul(n2.y, fc);
  const g = geluParts(u);
  const out = tf.add(x1, tf.matMul(g.y, fcProj));
  const saved: Saved = { ...kv, q, k, v, p, y, xhat2: n2.xhat, r2: n2.r, f: n2.y, u, s: g.s };
  return { out, kNew, vNew, saved };
}

/**
 * Gradients of kvForward through its keys/values (dk, dv [rows, heads, len, D]): input, and the parameters it reads
 * (BLOCK_PARAMS order, undefined for the others). Also the last stage of blockBackward, with dq.
 */
function kvBackward(w: tf.Tensor[], sv: KvSaved, sh: Shape, dk: tf.Tensor, dv: tf.Tensor, dq?: tf.Tensor) {
  const [ln1, wq, wk, wv] = w;
  const grads = [dq, dk, dv].map((d) => d && fromHeads(d, sh));
  const [mq, mk, mv] = grads;
  const toInput = [matMulT(mk!, wk, false, true), matMulT(mv!, wv, false, true)];
  const da = tf.addN(mq ? [matMulT(mq, wq, false, true), ...toInput] : toInput);
  const [dx, dLn1] = layerNormBackward(da, sv.xhat1, sv.r1, ln1);
  const [dWq, dWk, dWv] = grads.map((d) => d && matMulT(sv.a, d, true, false));
  const dw: (tf.Tensor | undefined)[] = [dLn1, dWq, dWk, dWv, undefined, undefined, undefined, undefined];
  return { dx, dw };
}

/**
 * Gradients of blockForward's output: input, parameters (BLOCK_PARAMS order) and, with `pastLen` > 0, the past
 * keys/values. `extra` are gradients reaching this pass's own keys/values from elsewhere (later rows' attention).
 * Each stage in its own tf.tidy, so that its elementwise intermediates are freed before the next.
 */
function blockBackward(w: tf.Tensor[], sv: Saved, dOut: tf.Tensor, sh: Shape, pastLen: number, extra?: { dk: tf.Tensor; dv: tf.Tensor }) {
  const [, , , , proj, ln2, fc, fcProj] = w;
  const mlp = tf.tidy(() => {
    const dFcProj = matMulT(tf.mul(sv.u, sv.s), dOut, true, false); // the GELU's output recomputed: one product
    const du = geluBackward(matMulT(dOut, fcProj, false, true), sv.u, sv.s);
    const [dx1Norm, dLn2] = layerNormBackward(matMulT(du, fc, false, true), sv.xhat2, sv.r2, ln2);
    return { dFcProj, dFc: matMulT(sv.f, du, true, false), dLn2, dx1: tf.add(dOut, dx1Norm) };
  });
  const att = tf.tidy(() => {
    const dAtt = toHeads(matMulT(mlp.dx1, proj, false, true), sh);
    const [dqScaled, dkAll, dvAll] = attentionBackward(dAtt, sv.q, sv.k, sv.v, sv.p);
    const [dkPast, dkOwn] = pastLen > 0 ? tf.split(dkAll, [pastLen, sh.len], 2) : [undefined, dkAll];
    const [dvPast, dvOwn] = pastLen > 0 ? tf.split(dvAll, [pastLen, sh.len], 2) : [undefined, dvAll];
    return {
      dq: tf.mul(dqScaled, 1 / Math.sqrt(sv.q.shape[3] as number)),
      dk: extra ? tf.add(dkOwn, extra.dk) : dkOwn,
      dv: extra ? tf.add(dvOwn, extra.dv) : dvOwn,
      dPast: dkPast && dvPast ? { k: dkPast, v: dvPast } : undefined,
    };
  });
  const kv = kvBackward(w, sv, sh, att.dk, att.dv, att.dq);
  const [dLn1, dWq, dWk, dWv] = kv.dw;
  return {
    dx: tf.add(mlp.dx1, kv.dx),
    dw: [dLn1!, dWq!, dWk!, dWv!, matMulT(sv.y, mlp.dx1, true, false), mlp.dLn2, mlp.dFc, mlp.dFcProj],
    dPast: att.dPast,
  };
}

/** The saved tensors `keys` from position `at` of customGrad's flat saved list, by name. */
const pick = <K extends string>(keys: readonly K[], from: tf.Tensor[], at: number) =>
  Object.fromEntries(keys.map((k, i) => [k, from[at + i]])) as Record<K, tf.Tensor>;

/**
 * Final LayerNorm'd hidden states [R, T, W] of a micro-batch's completion rows, as model.ts's forward gives with the
 * prefix pass's keys/values repeated G times as `past` (no prefix: L = 0). Differentiable (tf.variableGrads).
 */
export function trainForward(m: Model, prefix: PassInputs | undefined, completion: PassInputs, G: number): tf.Tensor3D {
  const { width: W, heads } = m.config;
  const p = m.params;
  const embed = (inp: PassInputs) => tf.reshape(tf.add(embedOp(p.wte, inp.ids), embedOp(p.wpe, inp.pos)), [inp.ids.size, W]);
  const [R, T] = completion.ids.shape;
  const comp: Shape = { rows: R, len: T, heads };
  const pre: Shape | undefined = prefix && { rows: prefix.ids.shape[0], len: prefix.ids.shape[1], heads };
  const Np = prefix ? prefix.ids.size : 0;
  const Nc = completion.ids.size;

  /** One block over packed rows; `last`: the prefix's keys/values only, the completion rows out. */
  const block = (last: boolean) =>
    custom<tf.Tensor[]>((...args) => {
      const save = args.at(-1) as tf.GradSaveFunc;
      const [x, ...w] = args.slice(0, -1) as tf.Tensor[];
      const [xp, xc] = pre ? tf.split(x, [Np, Nc], 0) : [undefined, x];
      const fp = pre && !last ? blockForward(w, xp!, pre, prefix!.bias) : undefined;
      const kvp = pre && last ? kvForward(w, xp!, pre) : undefined;
      const prefixKv = fp ?? kvp;
      const past = prefixKv && { k: repeatRows(prefixKv.kNew, G), v: repeatRows(prefixKv.vNew, G) };
      const fc = blockForward(w, xc, comp, completion.bias, past);
      const prefixSaved = fp ? SAVED.map((k) => fp.saved[k]) : kvp ? KV_SAVED.map((k) => kvp.saved[k]) : [];
      save([...SAVED.map((k) => fc.saved[k]), ...prefixSaved]);
      return {
        value: fp ? tf.concat([fp.out, fc.out], 0) : fc.out,
        gradFunc: (dy, saved) =>
          tf.tidy(() => {
            const [dyp, dyc] = pre && !last ? tf.split(dy as tf.Tensor, [Np, Nc], 0) : [undefined, dy as tf.Tensor];
            const bc = blockBackward(w, pick(SAVED, saved, 0), dyc, comp, pre ? pre.len : 0);
            if (!pre) return [bc.dx, ...bc.dw];
            const [dk, dv] = [bc.dPast!.k, bc.dPast!.v].map((d) => sumRepeatedRows(d, G));
            const bp = last
              ? kvBackward(w, pick(KV_SAVED, saved, SAVED.length), pre, dk, dv)
              : blockBackward(w, pick(SAVED, saved, SAVED.length), dyp!, pre, 0, { dk, dv });
            const dw = bc.dw.map((g, i) => (bp.dw[i] ? tf.add(bp.dw[i]!, g) : g));
            return [tf.concat([bp.dx, bc.dx], 0), ...dw];
          }),
      };
    });

  let x = prefix ? tf.concat([embed(prefix), embed(completion)], 0) : embed(completion);
  p.blocks.forEach((b, l) => (x = block(l === p.blocks.length - 1)(x, ...BLOCK_PARAMS.map((k) => b[k]))));
  return tf.reshape(layerNorm(x, p.lnf), [R, T, W]) as tf.Tensor3D;
}
