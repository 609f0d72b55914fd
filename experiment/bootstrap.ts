// Percentile bootstrap intervals over seeds and items together: how far a mean, a difference of two methods or a
// change against pi0 could move with other training seeds and other held-out items.
import { Rng, seedOf } from '../core/rng';

/** One method's per-item values: a row per seed (training run), a column per item, the same items in every row. */
export type SeedItemMatrix = number[][];

export interface BootInterval {
  /** The statistic on the data itself (not a mean of replicates). */
  estimate: number;
  /** 2.5% and 97.5% percentiles of the replicates. */
  lo: number;
  hi: number;
  seeds: number;
  items: number;
  replicates: number;
}

export interface BootOptions {
  /** Replicates (at least 2000; default 2000). */
  replicates?: number;
  /** Names the random stream, so that every interval is reproducible and two intervals do not share draws. */
  seed?: string;
  /** Draw A's and B's items independently: only to show what pairing buys (default: the same items for both). */
  unpairedItems?: boolean;
}

export const MIN_REPLICATES = 2000;

/** The p-quantile of sorted values (linear interpolation between order statistics). */
function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const i = Math.floor(h);
  return i + 1 < sorted.length ? sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
}

function percentiles(replicates: Float64Array): { lo: number; hi: number } {
  replicates.sort();
  return { lo: quantile(replicates, 0.025), hi: quantile(replicates, 0.975) };
}

function replicatesOf(o: BootOptions): number {
  const n = o.replicates ?? MIN_REPLICATES;
  if (!Number.isInteger(n) || n < MIN_REPLICATES)
    throw new Error(`bootstrap: replicates must be an integer >= ${MIN_REPLICATES}, got ${n}`);
  return n;
}

function checkMatrix(m: SeedItemMatrix, name: string, items?: number): void {
  if (m.length === 0 || m[0].length === 0) throw new Error(`bootstrap: ${name} has no seeds or no items`);
  const width = items ?? m[0].length;
  m.forEach((row, s) => {
    if (row.length !== width)
      throw new Error(`bootstrap: ${name} seed row ${s} has ${row.length} items, expected ${width} (the same items everywhere)`);
    if (row.some((v) => !Number.isFinite(v))) throw new Error(`bootstrap: ${name} seed row ${s} has a value that is not a finite number`);
  });
}

const draw = (rng: Rng, n: number) => Array.from({ length: n }, () => Math.floor(rng.next() * n));
const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
const meanAt = (xs: number[], at: number[]) => at.reduce((a, i) => a + xs[i], 0) / at.length;

/**
 * A matrix split into what items and seeds contribute: per-item means over seeds, and per-seed deviations from the grand
 * mean with the cell noise that the item part already carries taken out (method of moments: the spread of seed means
 * beyond what cell noise / items explains), scaled by sqrt(S / (S - 1)) for the few seeds a resample draws from.
 */
function partsOf(m: SeedItemMatrix): { items: number[]; seeds: number[] } {
  const S = m.length;
  const I = m[0].length;
  const items = Array.from({ length: I }, (_, i) => mean(m.map((row) => row[i])));
  const rows = m.map(mean);
  const grand = mean(rows);
  if (S < 2) return { items, seeds: [0] };
  let cellNoise = 0;
  for (let s = 0; s < S; s++) for (let i = 0; i < I; i++) cellNoise += (m[s][i] - rows[s] - items[i] + grand) ** 2;
  cellNoise = I > 1 ? cellNoise / ((S - 1) * (I - 1)) : 0;
  const deviations = rows.map((r) => r - grand);
  const spread = deviations.reduce((a, d) => a + d * d, 0) / (S - 1);
  const seedVariance = Math.max(0, spread - cellNoise / I);
  const scale = spread > 0 ? Math.sqrt((seedVariance / spread) * (S / (S - 1))) : 0;
  return { items, seeds: deviations.map((d) => d * scale) };
}

/**
 * mean(A) - mean(B) with its 95% interval. A replicate draws items with replacement, the same items for A and B (what
 * the items share, their difficulty, cancels out), and seeds with replacement, A's and B's independently (different
 * training runs); it adds the resampled items' difference of per-item means and the resampled seeds' deviations.
 * Adding the two parts, instead of averaging resampled seed x item cells, counts each cell's own noise once: the cell
 * version (the "pigeonhole" bootstrap) counts it about three times and covered the truth in 200 of 200 simulations.
 * One seed contributes no seed variation (the interval is then over items only).
 * The interval has zero width only when no replicate can differ: every item has the same difference of means and every
 * seed the same mean as its method's other seeds (e.g. identical values everywhere); the data then show no variation.
 */
export function bootstrapDifference(a: SeedItemMatrix, b: SeedItemMatrix | null, o: BootOptions = {}): BootInterval {
  checkMatrix(a, 'A');
  const I = a[0].length;
  if (b) checkMatrix(b, 'B', I);
  const replicates = replicatesOf(o);
  const rng = new Rng(seedOf('bootstrap', o.seed ?? ''));
  const pa = partsOf(a);
  const pb = b ? partsOf(b) : { items: new Array<number>(I).fill(0), seeds: [0] };
  const diff = pa.items.map((v, i) => v - pb.items[i]);
  const reps = new Float64Array(replicates);
  for (let r = 0; r < replicates; r++) {
    const itemsA = draw(rng, I);
    const itemPart = o.unpairedItems ? meanAt(pa.items, itemsA) - meanAt(pb.items, draw(rng, I)) : meanAt(diff, itemsA);
    reps[r] = itemPart + meanAt(pa.seeds, draw(rng, pa.seeds.length)) - meanAt(pb.seeds, draw(rng, pb.seeds.length));
  }
  return { estimate: mean(diff), ...percentiles(reps), seeds: a.length, items: I, replicates };
}

/** A method's mean over seeds and items with its 95% interval. */
export const bootstrapMean = (a: SeedItemMatrix, o: BootOptions = {}) => bootstrapDifference(a, null, o);

/** after - before on the same runs and items (e.g. a method's change against pi0's evaluation at its start). */
export function bootstrapChange(after: SeedItemMatrix, before: SeedItemMatrix, o: BootOptions = {}): BootInterval {
  checkMatrix(after, 'after');
  checkMatrix(before, 'before', after[0].length);
  if (before.length !== after.length)
    throw new Error(`bootstrap: paired seeds need as many seeds before (${before.length}) as after (${after.length})`);
  return bootstrapMean(
    after.map((row, s) => row.map((v, i) => v - before[s][i])),
    o,
  );
}

/**
 * Any statistic of several groups of per-seed numbers (e.g. E2E RL's rollout turns and PivotRL's turns to reach its
 * accuracy), each group resampled over its seeds independently.
 */
export function bootstrapSeeds(groups: number[][], statistic: (groups: number[][]) => number, o: BootOptions = {}): BootInterval {
  groups.forEach((g, i) => {
    if (g.length === 0) throw new Error(`bootstrap: group ${i} has no seeds`);
  });
  const replicates = replicatesOf(o);
  const rng = new Rng(seedOf('bootstrap-seeds', o.seed ?? ''));
  const reps = new Float64Array(replicates);
  for (let r = 0; r < replicates; r++) reps[r] = statistic(groups.map((g) => draw(rng, g.length).map((i) => g[i])));
  return { estimate: statistic(groups), ...percentiles(reps), seeds: Math.min(...groups.map((g) => g.length)), items: 1, replicates };
}

/** An interval of rates (0..1) in percent, or of their differences in points. */
export const inPoints = (i: BootInterval): BootInterval => ({ ...i, estimate: 100 * i.estimate, lo: 100 * i.lo, hi: 100 * i.hi });
