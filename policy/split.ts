// How the engine divides a call between its threads (local.ts): sampling by contiguous shares of the prompts, an
// optimiser step by micro-batches. The micro-batch plan must not depend on the thread count (the summed gradients, and
// so the checkpoint, would), so it is cut for MIN_MICRO_BATCHES whatever N is; only which thread computes which
// micro-batch depends on N.
import type { Tokenizer } from './tokenizer';

/** Micro-batches a step is cut into at least (when its prompt groups allow): work for up to this many threads. */
export const MIN_MICRO_BATCHES = 4;

/** [start, end) of `parts` contiguous, near-equal shares of n items. */
export function contiguousShares(n: number, parts: number): [number, number][] {
  const k = Math.max(1, parts);
  return Array.from({ length: k }, (_, j) => [Math.floor((j * n) / k), Math.floor(((j + 1) * n) / k)]);
}

/**
 * The micro-batch token budget for a step: `configured`, lowered so that the step's tokens fill about
 * MIN_MICRO_BATCHES micro-batches, but never below its largest prompt group (prompt + rows x longest completion), so
 * that no group is cut in two (each part would repeat the prompt's prefix pass). A function of the input only.
 */
export function microBatchBudget(tok: Tokenizer, seqs: { prompt: string; completion: string }[], configured: number): number {
  const groups = new Map<string, { prompt: number; rows: number; longest: number }>();
  for (const s of seqs) {
    const g = groups.get(s.prompt) ?? { prompt: 1 + tok.encode(s.prompt).length, rows: 0, longest: 0 };
    g.rows += 1;
    g.longest = Math.max(g.longest, tok.encode(s.completion).length);
    groups.set(s.prompt, g);
  }
  const costs = [...groups.values()].map((g) => g.prompt + g.rows * g.longest);
  const total = costs.reduce((a, c) => a + c, 0);
  return Math.min(configured, Math.max(Math.ceil(total / MIN_MICRO_BATCHES), ...costs));
}

/**
 * The thread of each micro-batch, by cost: the costliest first, each to the least loaded thread (ties to the lower
 * index), so that threads finish together. Deterministic; thread 0 is the caller's.
 */
export function threadOfMicroBatch(costs: number[], threads: number): number[] {
  const load = new Array<number>(threads).fill(0);
  const out = new Array<number>(costs.length);
  const order = costs.map((c, b) => [c, b]).sort((x, y) => y[0] - x[0] || x[1] - y[1]);
  for (const [c, b] of order) {
    const j = load.indexOf(Math.min(...load));
    out[b] = j;
    load[j] += c;
  }
  return out;
}
