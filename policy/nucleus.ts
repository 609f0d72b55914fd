// The distribution a token is drawn from: softmax(z / temperature) restricted to the smallest top set of mass >=
// topP, renormalised. The sampler draws from it and stores its log-probabilities; the trainer computes the PPO
// ratio's log-probabilities under the same distribution (the nucleus from the current logits), so the ratio of the
// first minibatch is 1 whatever the temperature and top-p.

/** How a token was drawn; temperature 1 and top-p 1 is the model's own distribution. */
export interface Tempering {
  temperature: number;
  topP: number;
}

/** Temperature 1, top-p 1: log-probabilities are the model's own (log-softmax of the logits). */
export const untempered = (t: Tempering) => t.temperature === 1 && t.topP >= 1;

export interface Nucleus {
  /** exp((z - max) / temperature) of every token (unnormalised, over the whole vocabulary). */
  weights: Float64Array;
  /** The nucleus' token ids: every id when topP >= 1 (in id order), else most likely first (ties: lower id). */
  ids: readonly number[];
  /** Sum of the nucleus' weights. */
  mass: number;
  max: number;
}

/** 0..n-1, shared (read-only): the nucleus at top-p 1, built once per vocabulary size rather than per token. */
const everyId = new Map<number, readonly number[]>();
function allIds(n: number): readonly number[] {
  let ids = everyId.get(n);
  if (!ids) everyId.set(n, (ids = Object.freeze(Array.from({ length: n }, (_, i) => i))));
  return ids;
}

// Plain loops over typed arrays: the sampler calls this once per token and row.
export function nucleus(z: ArrayLike<number>, t: Tempering): Nucleus {
  if (!(t.temperature > 0)) throw new Error(`a nucleus needs a positive temperature (got ${t.temperature}); temperature 0 is greedy`);
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if (z[i] > max) max = z[i];
  const weights = new Float64Array(z.length);
  let total = 0;
  for (let i = 0; i < z.length; i++) total += weights[i] = Math.exp((z[i] - max) / t.temperature);
  if (t.topP >= 1) return { weights, ids: allIds(z.length), mass: total, max };
  const ids = Array.from({ length: z.length }, (_, i) => i).sort((a, b) => weights[b] - weights[a] || a - b);
  let cum = 0;
  let cut = ids.length;
  for (let i = 0; i < ids.length; i++) {
    cum += weights[ids[i]];
    if (cum >= t.topP * total) {
      cut = i + 1;
      break;
    }
  }
  const kept = ids.slice(0, cut);
  return { weights, ids: kept, mass: kept.reduce((s, i) => s + weights[i], 0), max };
}

/** log of token `id`'s probability in the nucleus (-Infinity outside it). */
export function nucleusLogprob(z: ArrayLike<number>, n: Nucleus, id: number, temperature: number): number {
  if (n.ids.length < n.weights.length && !n.ids.includes(id)) return -Infinity;
  return (z[id] - n.max) / temperature - Math.log(n.mass);
}
