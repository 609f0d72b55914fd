// PivotRL's GRPO maths (the paper's GRPO on pivots), in one place, to check against the equations.
//
//   advantage     A_i = (r_i - b_i) / (std(r) + eps)       b_i = mean(r), or mean of the others (leave-one-out)
//                 over the group's non-masked rewards; a masked sample (reward null) gets no advantage and is
//                 left out of the batch, so it gets no gradient.
//   batch         one item (prompt, completion, A, log pi_old) per action of every non-masked rollout (grpoItems)
//   ratio         rho_t = exp(log pi(a_t|s,a_<t) - log pi_old(a_t|s,a_<t))        per action token t
//   policy loss   L = - (1/N) sum_t min(rho_t A, clip(rho_t, 1 - eps, 1 + eps) A)    N = action tokens in the batch
//   KL penalty    + beta (1/N) sum_t k3_t,  k3_t = exp(d_t) - d_t - 1,  d_t = log pi_ref - log pi   (beta default 0)
//   diagnostics   approx_kl = (1/N) sum_t (rho_t - 1) - log rho_t;  clipfrac = (1/N) sum_t [|rho_t - 1| > eps]
//   SFT loss      L = - (1/N) sum_t log pi(a*_t | s, a*_<t)    over action (completion) tokens only
//
// The token losses take N (the whole batch's action tokens) as an argument: the terms of micro-batches add up
// to the batch's mean, so accumulating their gradients gives ONE optimiser step on the whole batch.
import * as tf from '@tensorflow/tfjs-core';
import type { GrpoItem } from '../policy/schemas';

// ---- advantages -----------------------------------------------------------------------------

export interface AdvantageOptions {
  /** Added to the std (default 1e-6). */
  eps?: number;
  /** Baseline = mean of the OTHER samples of the group (RLOO-style) instead of the group mean. */
  leaveOneOut?: boolean;
  /** Divide by std + eps (default true). */
  scaleByStd?: boolean;
}

/** Group-normalised advantages; null rewards (masked, e.g. broken infrastructure) give null advantages. */
export function groupAdvantages(rewards: readonly (number | null)[], o: AdvantageOptions = {}): (number | null)[] {
  const eps = o.eps ?? 1e-6;
  const r = rewards.filter((x): x is number => x !== null);
  const n = r.length;
  if (n === 0) return rewards.map(() => null);
  // A group whose rewards are all equal carries no signal: exactly zero (no rounding residue from the mean).
  if (r.every((x) => x === r[0])) return rewards.map((x) => (x === null ? null : 0));
  const sum = r.reduce((a, b) => a + b, 0);
  const mean = sum / n;
  const std = Math.sqrt(r.reduce((a, x) => a + (x - mean) ** 2, 0) / n);
  const scale = o.scaleByStd === false ? 1 : std + eps;
  return rewards.map((x) => {
    if (x === null) return null;
    const baseline = o.leaveOneOut ? (n > 1 ? (sum - x) / (n - 1) : x) : mean;
    return (x - baseline) / scale;
  });
}

// ---- from rewards to the batch ---------------------------------------------------------------

/**
 * A rollout and its reward: 0/1, or null when it could not be verified (masked out). In PivotRL a rollout is one
 * sampled action at a pivot state and its group the state's K samples; in end-to-end RL a rollout is a whole episode
 * and its group the episodes on the same task.
 */
export interface ScoredRollout {
  id: string;
  reward: number | null;
}

/** A sampled action, trained on with the advantage of the rollout it belongs to. */
export interface SampledAction {
  rollout: string;
  prompt: string;
  /** The generated string with its stop (policy/schemas generatedText), so its tokens line up with `logprobs`. */
  completion: string;
  /** The sampling policy's per-token logprobs (log pi_old). */
  logprobs: number[];
}

/**
 * The GRPO batch: each rollout's advantage within its group, then one item per action, in the actions' order.
 * The actions of a masked rollout (null advantage) or of an unscored one are left out: they get no gradient.
 */
export function grpoItems(groups: ScoredRollout[][], actions: SampledAction[], o: AdvantageOptions = {}): GrpoItem[] {
  // ---- the algorithm
  const advantage = new Map<string, number | null>();
  for (const group of groups) {
    const a = groupAdvantages(
      group.map((r) => r.reward),
      o,
    );
    group.forEach((r, i) => advantage.set(r.id, a[i]));
  }
  // ---- the items
  return actions.flatMap((x) => {
    const a = advantage.get(x.rollout);
    return a === undefined || a === null ? [] : [{ prompt: x.prompt, completion: x.completion, advantage: a, oldLogprobs: x.logprobs }];
  });
}

// ---- token losses ---------------------------------------------------------------------------

export interface TokenTerms {
  loss: tf.Scalar;
  policyLoss: tf.Scalar;
  approxKl: tf.Scalar;
  clipfrac: tf.Scalar;
  klRef: tf.Scalar;
}

/**
 * logp, oldLogp, refLogp, mask: [R, T] per token (mask 1 on action tokens, 0 on padding);
 * advantages: [R] one per sequence; tokens: N, the number of action tokens in the whole batch.
 */
export function grpoTokenLoss(
  x: { logp: tf.Tensor2D; oldLogp: tf.Tensor2D; advantages: tf.Tensor1D; mask: tf.Tensor2D; refLogp?: tf.Tensor2D },
  o: { clipEps: number; beta: number },
  tokens: number,
): TokenTerms {
  const mean = (t: tf.Tensor): tf.Scalar => tf.div(tf.sum(tf.mul(t, x.mask)), tokens);
  const A = tf.reshape(x.advantages, [-1, 1]);
  // ---- the algorithm
  const logRatio = tf.sub(x.logp, x.oldLogp);
  const ratio = tf.exp(logRatio);
  const unclipped = tf.mul(ratio, A);
  const clipped = tf.mul(tf.clipByValue(ratio, 1 - o.clipEps, 1 + o.clipEps), A);
  const policyLoss = mean(tf.neg(tf.minimum(unclipped, clipped)));
  let klRef: tf.Scalar = tf.scalar(0);
  if (x.refLogp && o.beta > 0) {
    const d = tf.sub(x.refLogp, x.logp);
    klRef = mean(tf.sub(tf.sub(tf.exp(d), d), 1));
  }
  const loss: tf.Scalar = o.beta > 0 ? tf.add(policyLoss, tf.mul(klRef, o.beta)) : policyLoss;
  // ---- diagnostics (no gradient needed)
  const approxKl = mean(tf.sub(tf.sub(ratio, 1), logRatio));
  const clipfrac = mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), o.clipEps), 'float32'));
  return { loss, policyLoss, approxKl, clipfrac, klRef };
}

/** Cross-entropy on the action tokens only (mask 0 on the prompt and padding). */
export function sftTokenLoss(logp: tf.Tensor2D, mask: tf.Tensor2D, tokens: number): tf.Scalar {
  return tf.neg(tf.div(tf.sum(tf.mul(logp, mask)), tokens)) as tf.Scalar;
}
