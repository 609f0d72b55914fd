// The training forward's hand-written block backward (policy/train-forward.ts) against tfjs autodiff through
// model.ts's forward: the same hidden states and gradients, in less memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../policy/backend';
import { completionInputs, prefixInputs, prefixLayout } from '../../policy/batch';
import { attentionTuning, forward, initParams, makeModel, namedParams, paramsFrom, repeatRows, type Model } from '../../policy/model';
import { rng } from '../../policy/rng';
import { ModelConfig } from '../../policy/schemas';
import { charTokenizer } from '../../policy/tokenizer';
import { trainForward } from '../../policy/train-forward';

await initBackend(() => {});
const tok = charTokenizer();

function model(config: ModelConfig): Model {
  const named = initParams(config, 5);
  const m = makeModel(config, tok, paramsFrom(config, named));
  tf.dispose(Object.values(named));
  return m;
}
const release = (m: Model) => tf.dispose([...namedParams(m.params).map(([, v]) => v), m.headMask]);

/** U prompt prefixes of ragged lengths (0 = no prefix pass), G completion rows each, ragged too. */
function microBatch(U: number, G: number, prefixLen: number, T: number) {
  const next = rng(11);
  const token = () => 3 + Math.floor(next() * 90);
  const prefixes = Array.from({ length: U }, (_, u) => Array.from({ length: Math.max(0, prefixLen - 3 * u) }, token));
  const rows = Array.from({ length: U * G }, (_, r) => Array.from({ length: T - (r % 3) }, token));
  return { prefixes, rows, prefixOf: rows.map((_, r) => Math.floor(r / G)), G, T };
}

/** Hidden states [R, T, W] the training way or by autodiff through model.ts's forward (as training did before). */
function hidden(m: Model, mb: ReturnType<typeof microBatch>, how: 'train' | 'autodiff'): tf.Tensor3D {
  const lay = prefixLayout(mb.prefixes);
  const prefix = lay.L > 0 ? prefixInputs(mb.prefixes, lay, tok.pad) : undefined;
  const c = completionInputs(mb.rows, mb.prefixOf, lay, 0, mb.T, m.config.ctx, tok.pad);
  if (how === 'train') return trainForward(m, prefix, c, mb.G);
  const past =
    prefix && forward(m, prefix.ids, prefix.pos, prefix.bias).kv.map(({ k, v }) => ({ k: repeatRows(k, mb.G), v: repeatRows(v, mb.G) }));
  return forward(m, c.ids, c.pos, c.bias, past).h;
}

/** A loss reading every hidden state, its value, h and the gradients of every parameter; and the peak tensor bytes. */
async function gradients(m: Model, mb: ReturnType<typeof microBatch>, how: 'train' | 'autodiff') {
  const vars = namedParams(m.params).map(([, v]) => v);
  let out: { h: Float32Array; loss: number; grads: Float32Array[] } | undefined;
  const profile = await tf.profile(() => {
    let h: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const x = hidden(m, mb, how);
      h = tf.keep(x);
      const weights = tf.tensor(
        Float32Array.from({ length: x.size }, (_, i) => Math.sin(i)),
        x.shape,
      );
      return tf.sum(tf.mul(tf.square(x), weights)) as tf.Scalar;
    }, vars);
    out = { h: h!.dataSync() as Float32Array, loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
    tf.dispose([h!, value, ...Object.values(grads)]);
  });
  return { ...out!, peakBytes: profile.peakBytes };
}

function assertClose(a: Float32Array, b: Float32Array, what: string) {
  assert.equal(a.length, b.length, what);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= 1e-5 * Math.max(1, Math.abs(b[i])), `${what}[${i}]: ${x} vs ${b[i]}`));
}

const TINY: ModelConfig = { vocab: tok.vocabSize, ctx: 64, layers: 2, width: 32, heads: 2 };

for (const [name, mb] of [
  ['prompt prefixes, 3 completion rows each', microBatch(2, 3, 20, 9)],
  ['no prefix pass (prompts of BOS only)', microBatch(2, 2, 0, 7)],
] as const) {
  test(`hand-written backward equals autodiff: ${name}, per-head and batched attention`, async () => {
    const m = model(TINY);
    try {
      for (const perHeadMin of [0, Infinity]) {
        attentionTuning.perHeadMin = perHeadMin;
        const ours = await gradients(m, mb, 'train');
        const auto = await gradients(m, mb, 'autodiff');
        assertClose(ours.h, auto.h, 'h');
        assert.ok(Math.abs(ours.loss - auto.loss) <= 1e-5 * Math.abs(auto.loss));
        namedParams(m.params).forEach(([p], i) => {
          assert.ok(
            auto.grads[i].some((g) => g !== 0),
            `${p}: a gradient that is all zero would test nothing`,
          );
          assertClose(ours.grads[i], auto.grads[i], p);
        });
      }
    } finally {
      attentionTuning.perHeadMin = 100_000;
      release(m);
    }
  });
}

test("a training step's peak tensor bytes are at most half of autodiff's", async () => {
  const m = model({ vocab: tok.vocabSize, ctx: 160, layers: 2, width: 64, heads: 2 });
  try {
    const mb = microBatch(4, 1, 120, 32);
    const ours = await gradients(m, mb, 'train');
    const auto = await gradients(m, mb, 'autodiff');
    assert.ok(ours.peakBytes <= auto.peakBytes / 2, `peak ${ours.peakBytes} bytes vs autodiff's ${auto.peakBytes}`);
  } finally {
    release(m);
  }
});
