import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, profileCandidate, summarisePivots } from '../../pivotrl/pivots';

test('mean and variance exclude masked samples', () => {
  const p = profileCandidate('t', [1, 0, null, 1, 0]);
  assert.equal(p.n, 4);
  assert.equal(p.masked, 1);
  assert.equal(p.mu, 0.5);
  assert.equal(p.var, 0.25);
});

test('pivot iff var > 0 and mu < lambda_diff', () => {
  assert.equal(classify(profileCandidate('a', [0, 0, 0, 0]), 0.6), 'all_zero');
  assert.equal(classify(profileCandidate('b', [1, 1, 1, 1]), 0.6), 'all_one');
  assert.equal(classify(profileCandidate('c', [1, 0, 0, 0]), 0.6), 'pivot');
  assert.equal(classify(profileCandidate('d', [1, 1, 1, 0]), 0.6), 'too_easy');
  assert.equal(classify(profileCandidate('d', [1, 1, 1, 0]), 1), 'pivot');
  assert.equal(classify(profileCandidate('e', [null, null]), 0.6), 'unverified');
});

test('summary splits the candidates', () => {
  const s = summarisePivots(
    [profileCandidate('a', [0, 0]), profileCandidate('b', [1, 1]), profileCandidate('c', [1, 0]), profileCandidate('d', [1, 0])],
    0.6,
  );
  assert.deepEqual(
    { ...s, meanReward: undefined },
    { candidates: 4, pivots: 2, allZero: 1, allOne: 1, tooEasy: 0, unverified: 0, pivotRate: 0.5, meanReward: undefined },
  );
  assert.equal(s.meanReward, 0.5);
});
