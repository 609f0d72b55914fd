// The paired bootstrap over seeds and items: coverage on simulated experiments, width, pairing, determinism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/rng';
import { bootstrapChange, bootstrapDifference, bootstrapMean, bootstrapSeeds, type SeedItemMatrix } from '../../experiment/bootstrap';

/** Gaussian draw (Box-Muller). */
const normal = (rng: Rng) => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());

/**
 * One simulated experiment: items drawn from a population (difficulty p in [0.2, 0.7]), each seed a training run with
 * its own small shift, outcomes 0/1. Method A succeeds with p + diff, B with p: the true difference is exactly `diff`.
 */
function experiment(rng: Rng, o: { seeds: number; items: number; diff: number }): { a: SeedItemMatrix; b: SeedItemMatrix } {
  const p = Array.from({ length: o.items }, () => 0.2 + 0.5 * rng.next());
  const method = (shift: number) =>
    Array.from({ length: o.seeds }, () => {
      const seedShift = 0.02 * normal(rng);
      return p.map((pi) => (rng.next() < pi + shift + seedShift ? 1 : 0));
    });
  return { a: method(o.diff), b: method(0) };
}

test('bootstrap coverage: the 95% interval of A - B covers the true difference in 90-99% of 200 simulated experiments', () => {
  const rng = new Rng(7);
  let covered = 0;
  for (let e = 0; e < 200; e++) {
    const { a, b } = experiment(rng, { seeds: 3, items: 100, diff: 0.1 });
    const ci = bootstrapDifference(a, b, { seed: `coverage-${e}` });
    if (ci.lo <= 0.1 && 0.1 <= ci.hi) covered++;
  }
  assert.ok(covered >= 180 && covered <= 198, `covered ${covered} of 200`);
});

test('bootstrap: the interval narrows with more items', () => {
  const width = (items: number) => {
    const { a, b } = experiment(new Rng(11), { seeds: 3, items, diff: 0.1 });
    const ci = bootstrapDifference(a, b, { seed: 'width' });
    return ci.hi - ci.lo;
  };
  const [w50, w800] = [width(50), width(800)];
  assert.ok(w800 < w50 / 2.5, `800 items ${w800} vs 50 items ${w50}`);
});

test('bootstrap: pairing the items beats resampling them independently when the methods share item difficulty', () => {
  // Strongly correlated: B is A with a few items flipped, so A - B varies little while each item varies a lot.
  const rng = new Rng(3);
  const a = Array.from({ length: 3 }, () => Array.from({ length: 300 }, (_, i) => (i % 2 ? 1 : 0)));
  const b = a.map((row) => row.map((v) => (rng.next() < 0.1 ? 1 - v : v)));
  const paired = bootstrapDifference(a, b, { seed: 'p' });
  const unpaired = bootstrapDifference(a, b, { seed: 'p', unpairedItems: true });
  assert.ok(
    paired.hi - paired.lo < (unpaired.hi - unpaired.lo) / 3,
    `paired ${paired.hi - paired.lo}, unpaired ${unpaired.hi - unpaired.lo}`,
  );
  assert.equal(paired.estimate, unpaired.estimate);
});

test('bootstrap: deterministic for a seed, different for another; zero width only when every difference is equal', () => {
  const { a, b } = experiment(new Rng(5), { seeds: 3, items: 60, diff: 0 });
  assert.deepEqual(bootstrapDifference(a, b, { seed: 'x' }), bootstrapDifference(a, b, { seed: 'x' }));
  assert.notDeepEqual(bootstrapDifference(a, b, { seed: 'x' }), bootstrapDifference(a, b, { seed: 'y' }));
  // Three seeds that agree exactly still get an interval: the items vary.
  const agree = [a[0], a[0], a[0]];
  const m = bootstrapMean(agree, { seed: 'm' });
  assert.ok(m.hi - m.lo > 0.1, `seeds agreeing: width ${m.hi - m.lo}`);
  // The documented zero-width case: identical values everywhere.
  const same = bootstrapDifference(agree, agree, { seed: 'z' });
  assert.deepEqual([same.estimate, same.lo, same.hi], [0, 0, 0]);
  assert.equal(same.replicates, 2000);
});

test('bootstrap: change against pi0 pairs the seeds; bad input is refused with the reason', () => {
  const before = [
    [0, 0, 1, 1],
    [0, 1, 1, 1],
  ];
  const after = [
    [1, 0, 1, 1],
    [1, 1, 1, 1],
  ];
  const c = bootstrapChange(after, before, { seed: 'c' });
  assert.equal(c.estimate, 0.25);
  assert.ok(c.lo >= 0 && c.hi > c.lo && c.hi <= 1, `[${c.lo}, ${c.hi}]`);
  assert.throws(() => bootstrapChange(after, [before[0]]), /paired seeds need as many seeds before/);
  assert.throws(() => bootstrapDifference(after, [[1, 0]]), /B seed row 0 has 2 items, expected 4/);
  assert.throws(() => bootstrapMean([[NaN]]), /not a finite number/);
  assert.throws(() => bootstrapMean(after, { replicates: 100 }), /replicates must be an integer >= 2000/);
});

test('bootstrap over seeds: a statistic of several groups, each resampled on its own', () => {
  const ratio = (g: number[][]) => g[0].reduce((x, v) => x + v, 0) / g[1].reduce((x, v) => x + v, 0);
  const ci = bootstrapSeeds(
    [
      [1000, 1100, 900],
      [200, 250, 300],
    ],
    ratio,
    { seed: 'r' },
  );
  assert.ok(Math.abs(ci.estimate - 4) < 1e-12);
  assert.ok(ci.lo < 4 && ci.hi > 4 && ci.lo > 2.5 && ci.hi < 6, `[${ci.lo}, ${ci.hi}]`);
});
