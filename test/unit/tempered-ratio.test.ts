// The PPO ratio where sampling is tempered: the sampler stores the log-probabilities of the distribution it drew
// from (softmax(z / T) within the top-p nucleus) and the GRPO trainer computes them the same way, so the ratio of
// the first minibatch is 1 for every token; the model's own log-probabilities (the old computation) are not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../policy/backend';
import { sample } from '../../policy/sample';
import { Trainee, completionLogprobs, trainStep } from '../../policy/train';
import { generatedText } from '../../policy/schemas';
import { disposeTrainee as dispose, tinyModel } from '../support/tiny-model';

await initBackend(() => {});
const PROMPTS = ['G: copy notes.txt to out/\n$ ls\nnotes.txt\n$ ', 'Q: add 2 3\nA: ', '$ '];

/** Samples of PROMPTS at `tempering` as GRPO sequences (alternating advantages), with their stored logprobs. */
function sampled(tr: Trainee, tempering: { temperature: number; topP: number }) {
  const out = sample(tr.model, PROMPTS, { n: 4, ...tempering, maxTokens: 12, stop: ['\n'], seed: 11 });
  return out.completions.flatMap((cs, i) =>
    cs.map((c, j) => ({ prompt: PROMPTS[i], completion: generatedText(c), oldLogprobs: c.logprobs, advantage: j % 2 ? 1 : -1 })),
  );
}

const ratios = (tr: Trainee, seqs: ReturnType<typeof sampled>, tempering?: { temperature: number; topP: number }) =>
  completionLogprobs(tr.model, seqs, undefined, tempering).flatMap((lp, i) => lp.map((x, j) => Math.exp(x - seqs[i].oldLogprobs[j])));

test('temperature 1.3, top-p 0.9: the PPO ratio of the first minibatch is 1 for every token; under the model own logprobs it is not', () => {
  const tr = tinyModel(4);
  const tempering = { temperature: 1.3, topP: 0.9 };
  const seqs = sampled(tr, tempering);
  const tokens = ratios(tr, seqs, tempering);
  assert.ok(tokens.length > 40, `${tokens.length} tokens`);
  tokens.forEach((r, i) => assert.ok(Math.abs(r - 1) < 1e-5, `token ${i}: ratio ${r}`));
  // The old computation (logits at temperature 1, no nucleus) is off by far more than the tolerance.
  const old = ratios(tr, seqs);
  assert.ok(Math.max(...old.map((r) => Math.abs(r - 1))) > 0.05, 'the untempered ratio differs from 1');

  // The trainer's first step on these items sees ratio 1: no token clipped, approx_kl 0.
  const hp = { lr: 1e-3, clipEps: 0.2, beta: 0 };
  const step = trainStep(tr, 'grpo', seqs, { ...hp, ...tempering });
  assert.equal(step.clipfrac, 0);
  assert.ok(Math.abs(step.approx_kl) < 1e-9, `approx_kl ${step.approx_kl}`);
  const untempered = tinyModel(4);
  const before = trainStep(untempered, 'grpo', seqs, hp);
  assert.ok(before.approx_kl > 1e-4, `the old computation's approx_kl ${before.approx_kl}`);
  dispose(tr);
  dispose(untempered);
});

test('temperature 1, top-p 1: stored logprobs are the model log-softmax, as before tempering was accounted for', () => {
  const tr = tinyModel(5);
  const seqs = sampled(tr, { temperature: 1, topP: 1 });
  const own = completionLogprobs(tr.model, seqs);
  seqs.forEach((s, i) => s.oldLogprobs.forEach((lp, j) => assert.ok(Math.abs(lp - own[i][j]) < 1e-5, `${lp} vs ${own[i][j]}`)));
  dispose(tr);
});

test('GRPO refuses greedy samples (temperature 0) with a clear error', () => {
  const tr = tinyModel(6);
  const seqs = sampled(tr, { temperature: 1, topP: 1 });
  assert.throws(
    () => trainStep(tr, 'grpo', seqs, { lr: 1e-3, clipEps: 0.2, beta: 0, temperature: 0 }),
    /greedy samples \(hp.temperature 0\)/,
  );
  dispose(tr);
});
