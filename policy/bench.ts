// Policy throughput on this machine: `npx tsx policy/bench.ts [--width 128 --layers 2 --heads 4 --ctx 256]`.
// Prints sampling tokens/s (64 prompts of ~150 chars, 32 new tokens, KV cache) and train-step times
// (SFT: 64 sequences of ~180 tokens; GRPO: 4 prompts x 16 samples).
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './backend';
import { countParams, initParams, makeModel, paramsFrom } from './model';
import { sample } from './sample';
import { DEFAULT_MODEL, ModelConfig } from './schemas';
import { charTokenizer } from './tokenizer';
import { trainStep, zeroAdam } from './train';
import { rng } from './rng';

const { values } = parseArgs({
  options: {
    width: { type: 'string' },
    layers: { type: 'string' },
    heads: { type: 'string' },
    ctx: { type: 'string' },
    reps: { type: 'string', default: '3' },
  },
});
const cfg = ModelConfig.parse({
  ...DEFAULT_MODEL,
  ...Object.fromEntries((['width', 'layers', 'heads', 'ctx'] as const).filter((k) => values[k]).map((k) => [k, Number(values[k])])),
});
const backend = await initBackend();
const named = initParams(cfg, 1);
const model = makeModel(cfg, charTokenizer(), paramsFrom(cfg, named));
tf.dispose(Object.values(named));
const tr = { model, adam: zeroAdam(model), step: 0 };
const next = rng(7);
const text = (n: number) => Array.from({ length: n }, () => 'abcdefghij klmnop\n$/.'[Math.floor(next() * 21)]).join('');
const reps = Number(values.reps);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`backend ${backend}; model ${JSON.stringify(cfg)}; ${countParams(cfg)} parameters`);

// Sampling: 64 prompts x 1 sample, 32 new tokens, no stop (every row runs the full 32 tokens).
const prompts = Array.from({ length: 64 }, () => text(150));
const rates: number[] = [];
for (let r = 0; r < reps; r++) {
  const t0 = performance.now();
  const out = sample(model, prompts, { n: 1, temperature: 1, topP: 1, maxTokens: 32, stop: [], seed: r });
  rates.push(out.tokens / ((performance.now() - t0) / 1000));
}
console.log(`sample 64x150 chars, 32 new tokens: ${median(rates).toFixed(0)} tok/s (median of ${reps})`);

// Sampling n=16 of 4 prompts (shared prefill), as in GRPO rollouts.
const rates16: number[] = [];
for (let r = 0; r < reps; r++) {
  const t0 = performance.now();
  const out = sample(model, prompts.slice(0, 4), { n: 16, temperature: 1, topP: 1, maxTokens: 32, stop: [], seed: r });
  rates16.push(out.tokens / ((performance.now() - t0) / 1000));
}
console.log(`sample 4 prompts x 16, 32 new tokens: ${median(rates16).toFixed(0)} tok/s`);

// SFT step: 64 distinct sequences of ~180 tokens (150 prompt + 30 completion).
const sft = Array.from({ length: 64 }, () => ({ prompt: text(150), completion: text(29) + '\n' }));
const sftTimes: number[] = [];
for (let r = 0; r < reps; r++) sftTimes.push(trainStep(tr, 'sft', sft, { lr: 1e-4 }).seconds);
console.log(`SFT step, 64 x ~180 tokens: ${median(sftTimes).toFixed(2)} s (${((64 * 180) / median(sftTimes)).toFixed(0)} tok/s)`);

// GRPO step: 4 prompts x 16 samples of 20 tokens (64 sequences of ~170 tokens, prefix shared per group).
const grpo = prompts.slice(0, 4).flatMap((p) =>
  Array.from({ length: 16 }, () => ({
    prompt: p,
    completion: text(19) + '\n',
    advantage: next() - 0.5,
    oldLogprobs: Array(20).fill(-3),
  })),
);
const grpoTimes: number[] = [];
for (let r = 0; r < reps; r++) grpoTimes.push(trainStep(tr, 'grpo', grpo, { lr: 1e-5 }).seconds);
console.log(`GRPO step, 4 prompts x 16 samples: ${median(grpoTimes).toFixed(2)} s`);
console.log(`tensors alive: ${tf.memory().numTensors}`);
