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
  weights: number[];
  /** The nucleus' token ids: every id when topP >= 1 (in id order), else most likely first (ties: lower id). */
  ids: number[];
  /** Sum of the nucleus' weights. */
  mass: number;
  max: number;
}

export function nucleus(z: ArrayLike<number>, t: Tempering): Nucleus {
  if (!(t.temperature > 0)) throw new Error(`a nucleus needs a positive temperature (got ${t.temperature}); temperature 0 is greedy`);
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if (z[i] > max) max = z[i];
  const weights = Array.from(z, (x) => Math.exp((x - max) / t.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let ids = weights.map((_, i) => i);
  if (t.topP >= 1) return { weights, ids, mass: total, max };
  ids.sort((a, b) => weights[b] - weights[a] || a - b);
  let cum = 0;
  let cut = ids.length;
  for (let i = 0; i < ids.length; i++) {
    cum += weights[ids[i]];
    if (cum >= t.topP * total) {
      cut = i + 1;
      break;
    }
  }
  ids = ids.slice(0, cut);
  return { weights, ids, mass: ids.reduce((s, i) => s + weights[i], 0), max };
}

/** log of token `id`'s probability in the nucleus (-Infinity outside it). */
export function nucleusLogprob(z: ArrayLike<number>, n: Nucleus, id: number, temperature: number): number {
  if (!n.ids.includes(id)) return -Infinity;
  return (z[id] - n.max) / temperature - Math.log(n.mass);
}
