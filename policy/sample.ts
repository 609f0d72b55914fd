// Batched sampling with the KV cache: temperature, top-p, stop strings, token limit, seeded draws.
//
// logprobs: for every generated token, log pi(token | prefix) under the distribution it was drawn from (policy/nucleus.ts:
// softmax(z / T) within the top-p nucleus, renormalised), which the trainer's PPO ratio uses too. Greedy (T = 0)
// samples store the model's own log-probabilities (T = 1); they are never trained on.
// Seeds: sample j of prompt i draws from its own generator seeded by (promptSeed(seed, i), j), so a row's draws do
// not depend on the other rows, and a prompt sampled alone with its prompt seed draws the same. Temperature 0 = greedy (no draws).
// Prompts keep their start: a prompt is left-truncated (the tail kept) only when it leaves no room for one token, and
// each row generates at most min(maxTokens, ctx - its prompt's tokens).
import { prefixLayout, promptTokens } from './batch';
import { decodeLogits, decodeStep, disposeCache, keepRows, prefill } from './decode';
import { Model } from './model';
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
  /** Pad the prefix pass to at least this length (see SampleOptions). */
  prefixPad?: number;
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
  const { ctx, vocab: V } = m.config;
  const tok = m.tokenizer;
  if (o.maxTokens > ctx - 2) throw new Error(`maxTokens ${o.maxTokens} leaves no room for a prompt (ctx ${ctx})`);
  if (prompts.length === 0) return { completions: [], tokens: 0, truncated: 0 };
  if (o.promptSeeds && o.promptSeeds.length !== prompts.length) {
    throw new Error(`promptSeeds has ${o.promptSeeds.length} seeds for ${prompts.length} prompts`);
  }

  const pt = prompts.map((p) => promptTokens(tok, p, ctx - 1));
  const prefixes = pt.map((x) => x.tokens.slice(0, -1));
  const layout = prefixLayout(prefixes, alignedPrefixLength(Math.max(o.prefixPad ?? 0, ...prefixes.map((p) => p.length))));
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

  // Prefill once per prompt; its n samples share its keys/values (policy/decode.ts).
  const cache = prefill(m, prefixes, layout);
  try {
    let live = rows.map((_, r) => r); // rows in the batch (finished ones until compaction), in batch order
    for (let t = 0; t < o.maxTokens && live.some((r) => !rows[r].done); t++) {
      const ids = live.map((r) => (t === 0 ? pt[rows[r].prompt].tokens.at(-1)! : rows[r].tokens.at(-1)!));
      const pos = live.map((r) => Math.min(ctx - 1, layout.len[rows[r].prompt] + t));
      const h = decodeStep(m, cache, ids, pos, promptGroups(live.map((r) => rows[r].prompt)));
      const logits = decodeLogits(m, cache, h);
      h.dispose();
      // the one host read per step: the draws need the logits
      const z = logits.dataSync() as Float32Array;
      logits.dispose();

      live.forEach((r, i) => {
        const row = rows[r];
        if (row.done) return;
        const zi = z.subarray(i * V, (i + 1) * V);
        const { id, logprob } = o.temperature === 0 ? greedyToken(zi) : drawToken(zi, o, row.draw);
        row.tokens.push(id);
        row.logprobs.push(logprob);
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

      // Drop finished rows from the batch once they are a quarter of it (the recent cache shrinks with them).
      const keep = live.map((r, i) => [r, i] as const).filter(([r]) => !rows[r].done);
      if (keep.length > 0 && keep.length <= 0.75 * live.length) {
        keepRows(
          cache,
          keep.map(([, i]) => i),
        );
        live = keep.map(([r]) => r);
      }
    }
  } finally {
    disposeCache(cache);
  }

  const completions = prompts.map((_, i) =>
    rows.slice(i * o.n, (i + 1) * o.n).map((r) => ({ text: r.text, stop: r.stop, logprobs: r.logprobs })),
  );
  return {
    completions,
    tokens: rows.reduce((s, r) => s + r.tokens.length, 0),
    truncated: pt.filter((x) => x.truncated).length,
  };
}

/**
 * The prefix pass padded to a multiple of 8 (padding is masked, so invisible): the per-prompt products over the
 * prefix (policy/decode.ts) run ~1.3x faster on wasm's XNNPACK when their width is a multiple of its 8-column tiles.
 */
function alignedPrefixLength(longest: number): number {
  return Math.ceil(longest / 8) * 8;
}

/** Length of the prompts' prefix pass: what a share of them needs as prefixPad to compute as the whole batch does. */
export function prefixPassLength(m: Model, prompts: string[]): number {
  return Math.max(0, ...prompts.map((p) => promptTokens(m.tokenizer, p, m.config.ctx - 1).tokens.length - 1));
}

/** Contiguous runs of rows of one prompt, in batch order. */
function promptGroups(promptOf: number[]): { prompt: number; start: number; end: number }[] {
  const out: { prompt: number; start: number; end: number }[] = [];
  promptOf.forEach((prompt, i) => {
    if (out.at(-1)?.prompt === prompt) out.at(-1)!.end = i + 1;
    else out.push({ prompt, start: i, end: i + 1 });
  });
  return out;
}

function firstStop(text: string, stops: string[]): { at: number; stop: string } | null {
  let best: { at: number; stop: string } | null = null;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0 && (best === null || at < best.at)) best = { at, stop };
  }
  return best;
}

/** The most likely token, with the model's own log-probability. */
function greedyToken(z: Float32Array): { id: number; logprob: number } {
  const id = argmax(z);
  return { id, logprob: z[id] - logSumExp(z) };
}

function argmax(z: Float32Array): number {
  let best = 0;
  for (let i = 1; i < z.length; i++) if (z[i] > z[best]) best = i;
  return best;
}

function logSumExp(z: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if (z[i] > max) max = z[i];
  let s = 0;
  for (let i = 0; i < z.length; i++) s += Math.exp(z[i] - max);
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
  // untempered, the nucleus' weights and mass are exactly logSumExp's terms and sum: the model's own log-probability
  return { id, logprob: untempered(o) ? z[id] - (n.max + Math.log(n.mass)) : nucleusLogprob(z, n, id, o.temperature) };
}
