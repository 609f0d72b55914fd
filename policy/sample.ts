// Batched sampling with the KV cache: temperature, top-p, stop strings, token limit, seeded draws.
//
// logprobs: for every generated token, log pi(token | prefix) under the distribution it was drawn from (policy/nucleus.ts:
// softmax(z / T) within the top-p nucleus, renormalised), which the trainer's PPO ratio uses too. Greedy (T = 0)
// samples store the model's own log-probabilities (T = 1); they are never trained on.
// Seeds: sample j of prompt i draws from its own generator seeded by (promptSeed(seed, i), j), so a row's draws do
// not depend on the other rows, and a prompt sampled alone with its prompt seed draws the same. Temperature 0 = greedy (no draws).
// Prompts keep their start: a prompt is left-truncated (the tail kept) only when it leaves no room for one token, and
// each row generates at most min(maxTokens, ctx - its prompt's tokens).
import * as tf from '@tensorflow/tfjs-core';
import { completionInputs, prefixInputs, prefixLayout, promptTokens } from './batch';
import { KV, Model, forward, logitsOf, repeatRows } from './model';
import { nucleus, nucleusLogprob, untempered, type Tempering } from './nucleus';
import { mixSeed, promptSeed, rng } from './rng';
import { Completion } from './schemas';

export interface SampleParams {
  n: number;
  temperature: number;
  topP: number;
  maxTokens: number;
  stop: string[];
  seed: number;
  /** One seed per prompt (default promptSeed(seed, i)). */
  promptSeeds?: number[];
}

export interface SampleResult {
  completions: Completion[][]; // [prompt][n]
  tokens: number; // generated tokens
  truncated: number; // prompts left-truncated
}

interface Row {
  prompt: number;
  /** Most tokens this row may generate: what its prompt leaves of the context, at most maxTokens. */
  limit: number;
  draw: () => number;
  tokens: number[];
  logprobs: number[];
  text: string;
  stop: string | null;
  done: boolean;
}

export function sample(m: Model, prompts: string[], o: SampleParams): SampleResult {
  const { ctx, width: W, vocab: V } = m.config;
  const tok = m.tokenizer;
  if (o.maxTokens > ctx - 2) throw new Error(`maxTokens ${o.maxTokens} leaves no room for a prompt (ctx ${ctx})`);
  if (prompts.length === 0) return { completions: [], tokens: 0, truncated: 0 };
  if (o.promptSeeds && o.promptSeeds.length !== prompts.length) {
    throw new Error(`promptSeeds has ${o.promptSeeds.length} seeds for ${prompts.length} prompts`);
  }

  const pt = prompts.map((p) => promptTokens(tok, p, ctx - 1));
  const prefixes = pt.map((x) => x.tokens.slice(0, -1));
  const layout = prefixLayout(prefixes);
  const rows: Row[] = [];
  prompts.forEach((_, i) => {
    const seed = o.promptSeeds?.[i] ?? promptSeed(o.seed, i);
    for (let j = 0; j < o.n; j++) {
      rows.push({
        prompt: i,
        limit: Math.min(o.maxTokens, ctx - pt[i].tokens.length),
        draw: rng(mixSeed(seed, j)),
        tokens: [],
        logprobs: [],
        text: '',
        stop: null,
        done: false,
      });
    }
  });

  // Prefill: one forward over the prompt prefixes, keys/values repeated for the n samples of each prompt.
  let kv: KV[] | undefined;
  if (layout.L > 0) {
    tf.tidy(() => {
      const inp = prefixInputs(prefixes, layout, tok.pad);
      kv = keepKV(forward(m, inp.ids, inp.pos, inp.bias).kv.map(({ k, v }) => ({ k: repeatRows(k, o.n), v: repeatRows(v, o.n) })));
    });
  }

  let live = rows.map((_, r) => r); // rows in the batch (finished ones until compaction), in batch order
  for (let t = 0; t < o.maxTokens && live.some((r) => !rows[r].done); t++) {
    const inputs = live.map((r) => [t === 0 ? pt[rows[r].prompt].tokens.at(-1)! : rows[r].tokens.at(-1)!]);
    const prefixOf = live.map((r) => rows[r].prompt);
    const past = kv;
    let logits!: tf.Tensor;
    tf.tidy(() => {
      const inp = completionInputs(inputs, prefixOf, layout, t, 1, ctx, tok.pad);
      const out = forward(m, inp.ids, inp.pos, inp.bias, past);
      logits = tf.keep(logitsOf(m, tf.reshape(out.h, [live.length, W]) as tf.Tensor2D));
      kv = keepKV(out.kv);
    });
    disposeKV(past);
    const z = logits.dataSync() as Float32Array;
    logits.dispose();

    live.forEach((r, i) => {
      const row = rows[r];
      if (row.done) return;
      const zi = z.subarray(i * V, (i + 1) * V);
      const { id, logprob } = o.temperature === 0 ? { id: argmax(zi), logprob: NaN } : drawToken(zi, o, row.draw);
      row.tokens.push(id);
      row.logprobs.push(o.temperature === 0 || untempered(o) ? zi[id] - logSumExp(zi) : logprob);
      const text = tok.decode(row.tokens);
      const hit = firstStop(text, o.stop);
      if (hit) {
        row.text = text.slice(0, hit.at);
        row.stop = hit.stop;
        row.done = true;
      } else {
        row.text = text;
        row.done = row.tokens.length >= row.limit;
      }
    });

    // Drop finished rows from the batch once they are a quarter of it (the cache shrinks with them).
    const keep = live.map((r, i) => [r, i] as const).filter(([r]) => !rows[r].done);
    if (keep.length > 0 && keep.length <= 0.75 * live.length) {
      const idx = keep.map(([, i]) => i);
      const old = kv!;
      tf.tidy(() => {
        const at = tf.tensor1d(idx, 'int32');
        kv = keepKV(old.map(({ k, v }) => ({ k: tf.gather(k, at) as tf.Tensor4D, v: tf.gather(v, at) as tf.Tensor4D })));
      });
      disposeKV(old);
      live = keep.map(([r]) => r);
    }
  }
  disposeKV(kv);

  const completions = prompts.map((_, i) =>
    rows.slice(i * o.n, (i + 1) * o.n).map((r) => ({ text: r.text, stop: r.stop, logprobs: r.logprobs })),
  );
  return {
    completions,
    tokens: rows.reduce((s, r) => s + r.tokens.length, 0),
    truncated: pt.filter((x) => x.truncated).length,
  };
}

function keepKV(kv: KV[]): KV[] {
  return kv.map(({ k, v }) => ({ k: tf.keep(k), v: tf.keep(v) }));
}

function disposeKV(kv: KV[] | undefined): void {
  for (const { k, v } of kv ?? []) tf.dispose([k, v]);
}

function firstStop(text: string, stops: string[]): { at: number; stop: string } | null {
  let best: { at: number; stop: string } | null = null;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0 && (best === null || at < best.at)) best = { at, stop };
  }
  return best;
}

function argmax(z: Float32Array): number {
  let best = 0;
  for (let i = 1; i < z.length; i++) if (z[i] > z[best]) best = i;
  return best;
}

function logSumExp(z: Float32Array): number {
  let max = -Infinity;
  for (const x of z) if (x > max) max = x;
  let s = 0;
  for (const x of z) s += Math.exp(x - max);
  return max + Math.log(s);
}

/** Draws from the nucleus of softmax(z / temperature) at topP (policy/nucleus.ts); with the token's log-probability there. */
function drawToken(z: Float32Array, o: Tempering, draw: () => number): { id: number; logprob: number } {
  const n = nucleus(z, o);
  let u = draw() * n.mass;
  let id = n.ids[n.ids.length - 1]; // rounding: u ran past the last token
  for (const i of n.ids) {
    u -= n.weights[i];
    if (u < 0) {
      id = i;
      break;
    }
  }
  return { id, logprob: nucleusLogprob(z, n, id, o.temperature) };
}
