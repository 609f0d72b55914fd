// The GRPO maths of pivotrl/grpo.ts against its equations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../policy/backend';
import '../../policy/gradients';
import { groupAdvantages, grpoItems, grpoTokenLoss, sftTokenLoss } from '../../pivotrl/grpo';

await initBackend(() => {});

const close = (a: number, b: number, tol: number, msg = '') =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b)), `${msg} ${a} vs ${b}`);

test('advantages are (r - mean) / (std + eps) over the non-masked rewards', () => {
  const a = groupAdvantages([1, 0, 0, 1, null, 1], { eps: 0 });
  // kept: 1,0,0,1,1 -> mean 0.6, std sqrt(0.24)
  const std = Math.sqrt(0.24);
  assert.deepEqual(
    a.map((x) => (x === null ? null : Number(x.toFixed(12)))),
    [0.4 / std, -0.6 / std, -0.6 / std, 0.4 / std, null, 0.4 / std].map((x) => (x === null ? null : Number(x.toFixed(12)))),
  );
  const kept = a.filter((x): x is number => x !== null);
  close(
    kept.reduce((s, x) => s + x, 0),
    0,
    1e-12,
    'advantages sum to zero',
  );
});

test('a masked reward changes nothing for the others and gets no advantage', () => {
  const base = groupAdvantages([1, 0, 1, 0]);
  const withMasked = groupAdvantages([1, 0, null, 1, 0]);
  assert.equal(withMasked[2], null);
  assert.deepEqual([withMasked[0], withMasked[1], withMasked[3], withMasked[4]], base);
  assert.deepEqual(groupAdvantages([null, null]), [null, null]);
});

test('a group whose rewards are all equal gets exactly zero advantages', () => {
  assert.deepEqual(groupAdvantages([1, 1, 1, null]), [0, 0, 0, null]);
  assert.deepEqual(groupAdvantages([0, 0]), [0, 0]);
  assert.deepEqual(groupAdvantages([0.1, 0.1, 0.1]), [0, 0, 0]); // no rounding residue from the mean
});

test('leave-one-out baseline uses the mean of the other samples', () => {
  const a = groupAdvantages([1, 0, 0, 0], { leaveOneOut: true, scaleByStd: false });
  assert.deepEqual(a, [1, -1 / 3, -1 / 3, -1 / 3]);
});

test('grpoItems drops masked samples and pairs advantages with samples', () => {
  const samples = [
    { id: 'a', completion: 'a\n', logprobs: [-1, -1], reward: 1 },
    { id: 'b', completion: 'b\n', logprobs: [-2, -2], reward: null },
    { id: 'c', completion: 'c\n', logprobs: [-3, -3], reward: 0 },
  ];
  const items = grpoItems(
    [samples.map(({ id, reward }) => ({ id, reward }))],
    samples.map((s) => ({ rollout: s.id, prompt: 'p', completion: s.completion, logprobs: s.logprobs })),
  );
  assert.deepEqual(
    items.map((i) => [i.completion, Math.sign(i.advantage), i.oldLogprobs.length]),
    [
      ['a\n', 1, 2],
      ['c\n', -1, 2],
    ],
  );
});

/** The loss as a function of logp only (the tensors it depends on). */
function lossOf(logp: number[][], old: number[][], adv: number[], mask: number[][], beta = 0, ref?: number[][]) {
  const tokens = mask.flat().reduce((s, x) => s + x, 0);
  const f = (lp: tf.Tensor) =>
    grpoTokenLoss(
      {
        logp: lp as tf.Tensor2D,
        oldLogp: tf.tensor2d(old),
        advantages: tf.tensor1d(adv),
        mask: tf.tensor2d(mask),
        refLogp: ref ? tf.tensor2d(ref) : undefined,
      },
      { clipEps: 0.2, beta },
      tokens,
    );
  return f;
}

test('GRPO loss gradient matches finite differences (ratios away from the clip kinks)', () => {
  const logp = [
    [-1.0, -2.0, -0.5],
    [-0.3, -1.2, -2.2],
  ];
  const old = [
    [-1.1, -1.5, -0.6], // ratios 1.105, 0.607 (clipped side), 1.105
    [-0.1, -1.4, -2.2], // ratios 0.819, 1.221 (clipped side), 1
  ];
  const adv = [0.7, -1.3];
  const mask = [
    [1, 1, 1],
    [1, 1, 0],
  ];
  const ref = [
    [-0.9, -2.1, -0.4],
    [-0.5, -1.0, -2.0],
  ];
  for (const beta of [0, 0.1]) {
    const f = lossOf(logp, old, adv, mask, beta, ref);
    const grad = tf
      .grad((lp: tf.Tensor) => f(lp).loss)(tf.tensor2d(logp))
      .arraySync() as number[][];
    const value = (lp: number[][]) => f(tf.tensor2d(lp)).loss.dataSync()[0];
    const h = 1e-3;
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const up = logp.map((r) => [...r]);
        const down = logp.map((r) => [...r]);
        up[i][j] += h;
        down[i][j] -= h;
        const fd = (value(up) - value(down)) / (2 * h);
        close(grad[i][j], fd, 2e-3, `beta ${beta} d/dlogp[${i}][${j}]`);
      }
    }
    assert.equal(grad[1][2], 0, 'a masked token gets no gradient');
  }
});

test('the clip engages exactly where PPO says', () => {
  // one token per row; ratio r, advantage A
  const cases = [
    { r: 1.5, A: 1, clipped: true }, // A > 0, r > 1 + eps: no incentive to go further
    { r: 0.5, A: 1, clipped: false }, // A > 0, r < 1 - eps: unclipped term is the min, gradient flows
    { r: 0.5, A: -1, clipped: true }, // A < 0, r < 1 - eps
    { r: 1.5, A: -1, clipped: false }, // A < 0, r > 1 + eps: pessimistic term keeps the gradient
    { r: 1.1, A: 1, clipped: false }, // inside the trust region
  ];
  for (const c of cases) {
    const f = lossOf([[Math.log(c.r)]], [[0]], [c.A], [[1]]);
    const g = tf
      .grad((lp: tf.Tensor) => f(lp).loss)(tf.tensor2d([[Math.log(c.r)]]))
      .dataSync()[0];
    if (c.clipped) assert.equal(g, 0, `r=${c.r} A=${c.A} should be clipped`);
    else close(g, -c.A * c.r, 1e-5, `r=${c.r} A=${c.A}: d/dlogp of -r*A`);
    const terms = f(tf.tensor2d([[Math.log(c.r)]]));
    assert.equal(terms.clipfrac.dataSync()[0], Math.abs(c.r - 1) > 0.2 ? 1 : 0);
    close(terms.approxKl.dataSync()[0], c.r - 1 - Math.log(c.r), 1e-5, 'approx_kl = (r - 1) - log r');
  }
});

test('all-equal rewards give exactly zero gradient through the loss', () => {
  const adv = groupAdvantages([1, 1, 1]) as number[];
  const f = lossOf(
    [
      [-1, -2],
      [-0.5, -0.1],
      [-3, -1],
    ],
    [
      [-1.2, -2],
      [-0.4, -0.3],
      [-3, -1.5],
    ],
    adv,
    [
      [1, 1],
      [1, 1],
      [1, 0],
    ],
  );
  const g = tf
    .grad((lp: tf.Tensor) => f(lp).loss)(
      tf.tensor2d([
        [-1, -2],
        [-0.5, -0.1],
        [-3, -1],
      ]),
    )
    .dataSync();
  assert.ok(
    g.every((x) => x === 0),
    `gradient ${Array.from(g)}`,
  );
});

test('SFT loss is the mean negative log-likelihood of the masked (action) tokens only', () => {
  const logp = tf.tensor2d([
    [-1, -2, -3],
    [-4, -5, -6],
  ]);
  const mask = tf.tensor2d([
    [0, 1, 1],
    [0, 0, 1],
  ]);
  close(sftTokenLoss(logp, mask, 3).dataSync()[0], (2 + 3 + 6) / 3, 1e-6);
  const g = (
    tf
      .grad((lp: tf.Tensor) => sftTokenLoss(lp as tf.Tensor2D, mask, 3))(logp)
      .arraySync() as number[][]
  ).map(
    (r) => r.map((x) => x + 0), // -0 -> 0
  );
  assert.deepEqual(
    g,
    [
      [0, -1 / 3, -1 / 3],
      [0, 0, -1 / 3],
    ].map((r) => r.map((x) => Math.fround(x))),
  );
});
