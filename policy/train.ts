// One optimiser step per batch, for SFT and GRPO: micro-batches accumulate gradients of the batch-mean loss,
// then global-norm clipping and one AdamW step (decoupled weight decay on matrices only).
import * as tf from '@tensorflow/tfjs-core';
import { cancelledError } from '../core/abort';
import { grpoTokenLoss, sftTokenLoss } from '../pivotrl/grpo';
import { completionInputs, prefixInputs, prefixLayout, promptTokens } from './batch';
import { Model, logitsOf, namedParams, paramShapes } from './model';
import { nucleus, untempered, type Tempering } from './nucleus';
import { GrpoHyper, SftHyper, TrainMetrics } from './schemas';
import { trainForward } from './train-forward';

export interface AdamState {
  m: tf.Variable[]; // first moments, in namedParams order
  v: tf.Variable[]; // second moments
  /** Steps these moments have seen (bias correction); 0 when they start from zero. */
  t: number;
}

/** A model being trained: its optimiser state and the lineage's step counter. */
export interface Trainee {
  model: Model;
  adam: AdamState;
  step: number;
}

export function zeroAdam(m: Model): AdamState {
  const vars = namedParams(m.params).map(([, v]) => v);
  const zeros = (v: tf.Variable) => {
    const z = tf.zerosLike(v);
    const out = tf.variable(z, false);
    z.dispose(); // the variable holds its own reference to the data
    return out;
  };
  return { m: vars.map(zeros), v: vars.map(zeros), t: 0 };
}

export function disposeAdam(a: AdamState): void {
  tf.dispose([...a.m, ...a.v]);
}

export interface Sequence {
  prompt: string;
  completion: string;
  advantage?: number;
  oldLogprobs?: number[];
}

/** A micro-batch: U prompt prefixes, G rows each (rows of smaller groups are padding with mask 0). */
interface MicroBatch {
  prefixes: number[][];
  rows: number[][]; // completion-pass inputs: [last prompt token, ...completion without its last token]
  targets: number[][]; // the completion tokens
  prefixOf: number[];
  advantages: number[];
  oldLogprobs: number[][];
  index: number[]; // position of the row's sequence in the input (-1 for padding rows)
  T: number; // longest completion
}

type Hyper = ReturnType<typeof SftHyper.parse> | ReturnType<typeof GrpoHyper.parse>;

/** Tokenises, groups sequences by prompt (shared prefix pass) and cuts micro-batches by token budget. */
function layout(m: Model, seqs: Sequence[], microTokens: number, withOld: boolean) {
  const tok = m.tokenizer;
  const ctx = m.config.ctx;
  let truncated = 0;
  const groups = new Map<string, { prompt: number[]; members: { target: number[]; adv: number; old: number[]; index: number }[] }>();
  seqs.forEach((s, i) => {
    const target = tok.encode(s.completion);
    if (target.length === 0) throw new Error(`sequence ${i}: empty completion`);
    if (target.length > ctx - 2) throw new Error(`sequence ${i}: completion of ${target.length} tokens exceeds ctx ${ctx}`);
    const old = s.oldLogprobs ?? [];
    if (withOld && old.length !== target.length) {
      throw new Error(
        `sequence ${i}: ${old.length} oldLogprobs for ${target.length} completion tokens ` +
          '(the completion must be the sample text plus its stop string: generatedText())',
      );
    }
    const p = promptTokens(tok, s.prompt, ctx - target.length);
    if (p.truncated) truncated++;
    const key = p.tokens.join(',');
    if (!groups.has(key)) groups.set(key, { prompt: p.tokens, members: [] });
    groups.get(key)!.members.push({ target, adv: s.advantage ?? 0, old, index: i });
  });
  // Similar prompt lengths together (less padding); stable, so the layout is a function of the input.
  // A group too big for one micro-batch is split (each part repeats the prompt's prefix pass).
  const sorted = [...groups.values()]
    .sort((a, b) => a.prompt.length - b.prompt.length)
    .flatMap((g) => {
      const T = Math.max(...g.members.map((x) => x.target.length));
      const per = Math.max(1, Math.floor((microTokens - g.prompt.length) / T));
      const parts = [];
      for (let i = 0; i < g.members.length; i += per) parts.push({ prompt: g.prompt, members: g.members.slice(i, i + per) });
      return parts;
    });

  const batches: MicroBatch[] = [];
  let cur: typeof sorted = [];
  const cost = (gs: typeof sorted) => {
    const L = Math.max(...gs.map((g) => g.prompt.length));
    const G = Math.max(...gs.map((g) => g.members.length));
    const T = Math.max(...gs.flatMap((g) => g.members.map((x) => x.target.length)));
    return gs.length * (L + G * T);
  };
  const flush = () => {
    if (cur.length === 0) return;
    const G = Math.max(...cur.map((g) => g.members.length));
    const mb: MicroBatch = { prefixes: [], rows: [], targets: [], prefixOf: [], advantages: [], oldLogprobs: [], index: [], T: 0 };
    cur.forEach((g, u) => {
      mb.prefixes.push(g.prompt.slice(0, -1));
      for (let j = 0; j < G; j++) {
        const x = g.members[j];
        mb.prefixOf.push(u);
        mb.rows.push(x ? [g.prompt.at(-1)!, ...x.target.slice(0, -1)] : []);
        mb.targets.push(x ? x.target : []);
        mb.advantages.push(x ? x.adv : 0);
        mb.oldLogprobs.push(x ? x.old : []);
        mb.index.push(x ? x.index : -1);
        mb.T = Math.max(mb.T, x ? x.target.length : 0);
      }
    });
    batches.push(mb);
    cur = [];
  };
  for (const g of sorted) {
    if (cur.length > 0 && cost([...cur, g]) > microTokens) flush();
    cur.push(g);
  }
  flush();
  return { batches, truncated };
}

/** Pads rows of numbers to [R, T] (float32 or int32). */
function padded(rows: number[][], T: number, dtype: 'float32' | 'int32', fill = 0): tf.Tensor2D {
  const a = dtype === 'int32' ? new Int32Array(rows.length * T) : new Float32Array(rows.length * T);
  a.fill(fill);
  rows.forEach((r, i) => r.forEach((x, j) => (a[i * T + j] = x)));
  return tf.tensor2d(a, [rows.length, T], dtype);
}

/**
 * log pi(target_t | prefix) and the entropy of pi at every completion position: [R, T] each. With a tempering
 * other than T = 1, top-p = 1, pi is the distribution the tokens were drawn from (policy/nucleus.ts): logits / T,
 * tokens outside the nucleus of the current logits masked out, renormalised. The mask is a constant of the step
 * (read from the logits' values, off the gradient tape), as the nucleus is piecewise constant in the logits.
 */
function tokenLogprobs(m: Model, mb: MicroBatch, tempering?: Tempering): { logp: tf.Tensor2D; entropy: tf.Tensor2D } {
  const { ctx, width: W, vocab: V } = m.config;
  const pad = m.tokenizer.pad;
  const lay = prefixLayout(mb.prefixes);
  const G = mb.rows.length / mb.prefixes.length;
  const prefix = lay.L > 0 ? prefixInputs(mb.prefixes, lay, pad) : undefined;
  const h = trainForward(m, prefix, completionInputs(mb.rows, mb.prefixOf, lay, 0, mb.T, ctx, pad), G);
  const R = mb.rows.length;
  const logits = logitsOf(m, tf.reshape(h, [R * mb.T, W]) as tf.Tensor2D);
  const lsm = tf.logSoftmax(!tempering || untempered(tempering) ? logits : temperedLogits(logits, tempering));
  const onehot = tf.oneHot(tf.reshape(padded(mb.targets, mb.T, 'int32'), [-1]), V);
  const logp = tf.reshape(tf.sum(tf.mul(lsm, onehot), -1), [R, mb.T]) as tf.Tensor2D;
  const entropy = tf.reshape(tf.neg(tf.sum(tf.mul(tf.exp(lsm), lsm), -1)), [R, mb.T]) as tf.Tensor2D;
  return { logp, entropy };
}

/** logits / T, minus a large constant outside each row's nucleus at top-p. */
function temperedLogits(logits: tf.Tensor2D, t: Tempering): tf.Tensor2D {
  const [N, V] = logits.shape;
  const scaled = tf.div(logits, t.temperature) as tf.Tensor2D;
  if (t.topP >= 1) return scaled;
  const z = logits.dataSync();
  const outside = new Float32Array(N * V).fill(OUTSIDE_NUCLEUS);
  for (let r = 0; r < N; r++) for (const id of nucleus(z.subarray(r * V, (r + 1) * V), t).ids) outside[r * V + id] = 0;
  return tf.add(scaled, tf.tensor2d(outside, [N, V])) as tf.Tensor2D;
}
const OUTSIDE_NUCLEUS = -1e9;

function tokenMask(mb: MicroBatch): tf.Tensor2D {
  return padded(
    mb.targets.map((t) => t.map(() => 1)),
    mb.T,
    'float32',
  );
}

/** A step's plan: its hyperparameters and micro-batches, a function of the input (every thread plans the same). */
export interface StepPlan {
  kind: 'sft' | 'grpo';
  hp: Hyper;
  grpo: ReturnType<typeof GrpoHyper.parse> | undefined;
  tempering: Tempering | undefined;
  batches: MicroBatch[];
  truncated: number;
  /** Completion tokens of the whole step (the loss is their mean). */
  N: number;
  sequences: number;
}

/** One micro-batch's gradients (namedParams order, host copies: they may cross threads) and loss statistics. */
export interface MicroGrads {
  grads: Float32Array[];
  /** loss, policy_loss, approx_kl, clipfrac, entropy, kl_ref: this micro-batch's share of the step's means. */
  stats: number[];
}

export function planStep(m: Model, kind: 'sft' | 'grpo', seqs: Sequence[], hpIn: SftHyper | GrpoHyper): StepPlan {
  if (seqs.length === 0) throw new Error('empty training batch');
  const hp: Hyper = kind === 'sft' ? SftHyper.parse(hpIn) : GrpoHyper.parse(hpIn);
  const grpo = kind === 'grpo' ? (hp as ReturnType<typeof GrpoHyper.parse>) : undefined;
  if (grpo && grpo.temperature === 0) {
    throw new Error(
      'GRPO on greedy samples (hp.temperature 0): greedy decoding has no sampling distribution for the PPO ratio; ' +
        'train only on samples drawn at a positive temperature',
    );
  }
  const tempering = grpo ? { temperature: grpo.temperature, topP: grpo.topP } : undefined;
  const { batches, truncated } = layout(m, seqs, hp.microBatchTokens, kind === 'grpo');
  const N = batches.reduce((s, mb) => s + mb.targets.reduce((a, t) => a + t.length, 0), 0);
  return { kind, hp, grpo, tempering, batches, truncated, N, sequences: seqs.length };
}

/** Gradients of micro-batch `b` of the plan (the KL term's reference logprobs from `reference`, when on). */
export function microBatchGrads(m: Model, plan: StepPlan, b: number, reference?: Model): MicroGrads {
  const { grpo, tempering, N } = plan;
  const mb = plan.batches[b];
  const useRef = grpo !== undefined && grpo.beta > 0 && reference !== undefined;
  const refLogp = useRef ? tf.tidy(() => tokenLogprobs(reference, mb, tempering).logp) : undefined;
  const vars = namedParams(m.params).map(([, v]) => v);
  let stats: tf.Scalar[] = [];
  const { grads } = tf.variableGrads(() => {
    const { logp, entropy } = tokenLogprobs(m, mb, tempering);
    const mask = tokenMask(mb);
    const ent = tf.div(tf.sum(tf.mul(entropy, mask)), N) as tf.Scalar;
    if (grpo) {
      const t = grpoTokenLoss(
        {
          logp,
          oldLogp: padded(mb.oldLogprobs, mb.T, 'float32'),
          advantages: tf.tensor1d(mb.advantages),
          mask,
          refLogp,
        },
        { clipEps: grpo.clipEps, beta: grpo.beta },
        N,
      );
      stats = [t.loss, t.policyLoss, t.approxKl, t.clipfrac, ent, t.klRef].map((x) => tf.keep(x));
      return t.loss;
    }
    const loss = sftTokenLoss(logp, mask, N);
    stats = [loss, loss, tf.scalar(0), tf.scalar(0), ent, tf.scalar(0)].map((x) => tf.keep(x));
    return loss;
  }, vars);
  const out = {
    grads: vars.map((v) => grads[v.name].dataSync() as Float32Array),
    stats: stats.map((s) => s.dataSync()[0]),
  };
  tf.dispose([...Object.values(grads), ...stats]);
  if (refLogp) refLogp.dispose();
  return out;
}

/** Asked before each micro-batch and before the weights change: a cancelled step leaves them as they were. */
export function throwIfCancelled(cancelled: () => boolean): void {
  if (cancelled()) throw cancelledError('the optimiser step was cancelled; the weights are unchanged');
}

/**
 * One optimiser step on `seqs`. kind 'sft': cross-entropy on completion tokens. kind 'grpo': clipped
 * token-level PPO loss with the sequences' advantages and old logprobs, plus beta * KL to `reference`.
 */
export function trainStep(
  tr: Trainee,
  kind: 'sft' | 'grpo',
  seqs: Sequence[],
  hpIn: SftHyper | GrpoHyper,
  reference?: Model,
  cancelled: () => boolean = () => false,
): TrainMetrics {
  const started = performance.now();
  const plan = planStep(tr.model, kind, seqs, hpIn);
  const stopIfCancelled = () => throwIfCancelled(cancelled);
  const parts = plan.batches.map((_, b) => {
    stopIfCancelled();
    return microBatchGrads(tr.model, plan, b, reference);
  });
  stopIfCancelled();
  return applyStep(tr, plan, parts, started);
}

/**
 * Sums the micro-batches' gradients in micro-batch order (whichever thread computed them: the sum does not depend on
 * the thread count), clips by global norm and takes one AdamW step.
 */
export function applyStep(tr: Trainee, plan: StepPlan, parts: MicroGrads[], started: number): TrainMetrics {
  const { hp } = plan;
  if (parts.length !== plan.batches.length)
    throw new Error(`${parts.length} micro-batch gradients for ${plan.batches.length} micro-batches`);
  const vars = namedParams(tr.model.params).map(([, v]) => v);
  const sum = parts[0].grads.map((g) => Float32Array.from(g));
  for (const part of parts.slice(1)) {
    part.grads.forEach((g, i) => {
      const acc = sum[i];
      for (let j = 0; j < g.length; j++) acc[j] += g[j]; // float32 stores: the float32 sum, as tf.add gave
    });
  }
  const [loss, policy_loss, approx_kl, clipfrac, entropy, kl_ref] = [0, 1, 2, 3, 4, 5].map((k) =>
    parts.reduce((s, p) => s + p.stats[k], 0),
  );
  const sums = { loss, policy_loss, approx_kl, clipfrac, entropy, kl_ref };
  const grads = sum.map((g, i) => tf.tensor(g, vars[i].shape, 'float32'));

  // ---- clip by global norm, then AdamW
  const gradNorm = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
  const scale = hp.gradClip > 0 && gradNorm > hp.gradClip ? hp.gradClip / (gradNorm + 1e-6) : 1;
  const lr = hp.lr * (hp.warmupSteps > 0 ? Math.min(1, (tr.step + 1) / hp.warmupSteps) : 1);
  const a = tr.adam;
  a.t += 1;
  const bc1 = 1 - hp.beta1 ** a.t;
  const bc2 = 1 - hp.beta2 ** a.t;
  const decay = paramShapes(tr.model.config).map((s) => s.decay);
  tf.tidy(() => {
    vars.forEach((p, i) => {
      const g = tf.mul(grads[i], scale);
      const m = tf.add(tf.mul(a.m[i], hp.beta1), tf.mul(g, 1 - hp.beta1));
      const v = tf.add(tf.mul(a.v[i], hp.beta2), tf.mul(tf.square(g), 1 - hp.beta2));
      a.m[i].assign(m);
      a.v[i].assign(v);
      const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), hp.adamEps));
      const shrunk = decay[i] && hp.weightDecay > 0 ? tf.mul(p, 1 - lr * hp.weightDecay) : p;
      p.assign(tf.sub(shrunk, tf.mul(update, lr)));
    });
  });
  tf.dispose(grads);
  tr.step += 1;

  return TrainMetrics.parse({
    ...sums,
    grad_norm: gradNorm,
    lr,
    tokens: plan.N,
    sequences: plan.sequences,
    truncated: plan.truncated,
    step: tr.step,
    seconds: (performance.now() - started) / 1000,
  });
}

/**
 * log pi(completion token | prefix) of every completion token of every sequence (no gradient), in input order; pi
 * tempered as the tokens were drawn (default: the model's own distribution).
 */
export function completionLogprobs(m: Model, seqs: Sequence[], microTokens = 8192, tempering?: Tempering): number[][] {
  const { batches } = layout(m, seqs, microTokens, false);
  const out: number[][] = new Array(seqs.length);
  for (const mb of batches) {
    const lp = tf.tidy(() => tokenLogprobs(m, mb, tempering).logp);
    const data = lp.arraySync();
    lp.dispose();
    mb.index.forEach((i, r) => {
      if (i >= 0) out[i] = data[r].slice(0, mb.targets[r].length);
    });
  }
  return out;
}

/** Summed -log pi of each sequence's completion tokens, and their count (no gradient, batched), in input order. */
export function completionNll(m: Model, seqs: Sequence[], microTokens = 8192): { nll: number; tokens: number }[] {
  return completionLogprobs(m, seqs, microTokens).map((lp) => ({ nll: -lp.reduce((a, x) => a + x, 0), tokens: lp.length }));
}

/** The SFT loss of `seqs` as one differentiable scalar (a single micro-batch): gradient checks, tooling. */
export function sftLoss(m: Model, seqs: Sequence[]): tf.Scalar {
  const { batches } = layout(m, seqs, Number.MAX_SAFE_INTEGER, false);
  const N = seqs.reduce((s, x) => s + m.tokenizer.encode(x.completion).length, 0);
  return tf.addN(batches.map((mb) => sftTokenLoss(tokenLogprobs(m, mb).logp, tokenMask(mb), N))) as tf.Scalar;
}
