// Policy throughput and memory on this machine, from one run:
// `npx tsx bench/policy.ts [--reps 3 --scaling-reps 9 --batch 8 --train-batch 4 --roofline-prompts 8 --samples 8 --wide 4]`.
//
// Roofline: the backend's peak matmul rate (GFLOP/s, the best of 512x512x512 and the model's own shapes) measured in
// the same run (its best shape again before each rep, see roofline()), and sampling (`sample_roofline_frac`, a batch
// of --roofline-prompts prompts x --samples samples at temperature 1) and SFT training (`train_mfu`) as fractions of it, counting the model's FLOPs (policy/flops.ts), at
// pi0's shape and at a --wide times wider model.
//
// Sampling: a batch of prompts of 256 tokens (BOS included), 64 new tokens each, greedy (the same tokens either way,
// checked), with the KV cache (policy/sample.ts) and with full recomputation (every step re-runs the whole sequence:
// the baseline). Training: SFT steps of one batch (256-token prompts + 64-token actions) on the WebAssembly backend
// and on the plain CPU backend (the baseline), each on a fresh model of the same seed. Peak RSS is the process's
// (getrusage); peak tensor bytes is tf.profile's peak over one sampling call and one training step on wasm, and the
// training step's on its own (`train_peak_bytes`, and per token of the step's sequences, prompt and action:
// `train_peak_bytes_per_token`).
// Rates and ratios are by process CPU time (the cores are often shared here; both backends run single-threaded),
// with the wall-time ratios printed beside them.
// Thread scaling (`sample_scaling_2`, `train_scaling_2`) is bench/scaling.ts's: the engine with 1 and 2 threads, rep by
// rep beside the machine's ceiling (`hw_scaling_2`: the same matmul loop in 2 independent threads), wall time.
// The shipped pi0 has a 256-token context, too short for 256 + 64 tokens, so the model is a fresh randomly
// initialised one of pi0's width and depth with a longer context (speed does not depend on the weights' values).
// The last line is one JSON object.
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../policy/backend';
import { countParams, disposeModel, forward, initParams, logitsOf, makeModel, paramsFrom, type Model } from '../policy/model';
import { sample } from '../policy/sample';
import { DEFAULT_MODEL, ModelConfig } from '../policy/schemas';
import { charTokenizer } from '../policy/tokenizer';
import { disposeAdam, trainStep, zeroAdam, type Trainee } from '../policy/train';
import { rng } from '../policy/rng';
import { sampleFlops, trainFlops } from '../policy/flops';
import { defaultSetup, measureScaling } from './scaling';

const PROMPT_TOKENS = 256; // BOS + 255 characters
const ACTION_TOKENS = 64;
const CACHE_TARGET = 5;

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    // The 2-thread ratios move by +-0.2 from rep to rep with the host's load here: 3 reps do not make a figure.
    'scaling-reps': { type: 'string', default: '9' },
    batch: { type: 'string', default: '8' },
    'train-batch': { type: 'string', default: '4' },
    'roofline-prompts': { type: 'string', default: '8' },
    samples: { type: 'string', default: '8' },
    wide: { type: 'string', default: '4' },
  },
});
const RP = Number(values['roofline-prompts']);
const K = Number(values.samples);
const WIDE = Number(values.wide);
const reps = Number(values.reps);
const B = Number(values.batch);
const TB = Number(values['train-batch']);

// The backend the engine would pick (policy/backend.ts: tfjs-node-gpu, tfjs-node, wasm, cpu; PIVOTRL_TF_BACKEND forces one):
// on a GPU host the same figures come from tfjs-node(-gpu). Figures named *_wasm_* are this backend's.
const backend = await initBackend(() => {});
const tfBackend = tf.getBackend(); // its tf.js registry name ('tensorflow' for tfjs-node)
const tok = charTokenizer();
const cfg = ModelConfig.parse({ ...DEFAULT_MODEL, vocab: tok.vocabSize, ctx: 384 });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const next = rng(7);
const text = (n: number) => Array.from({ length: n }, () => 'abcdefghij klmnop\n$/.'[Math.floor(next() * 21)]).join('');
const fresh = (c: ModelConfig = cfg): Trainee => {
  const named = initParams(c, 1);
  const model = makeModel(c, tok, paramsFrom(c, named));
  tf.dispose(Object.values(named));
  return { model, adam: zeroAdam(model), step: 0 };
};
const release = (tr: Trainee) => {
  disposeModel(tr.model);
  disposeAdam(tr.adam);
};
console.log(
  `backend ${backend}; model: fresh random init of pi0's shape with a longer context ` +
    `(pi0's ctx ${DEFAULT_MODEL.ctx} < ${PROMPT_TOKENS} + ${ACTION_TOKENS}): ${JSON.stringify(cfg)}, ${countParams(cfg)} parameters`,
);

// ---- sampling: KV cache vs full recomputation (greedy: both must produce the same tokens)

/** Greedy decoding that re-runs the whole sequence at every step (no cache). Prompts must have equal length. */
function greedyByRecomputation(m: Model, prompts: string[], maxTokens: number): string[] {
  const seqs = prompts.map((p) => [tok.bos, ...tok.encode(p)]);
  const out = prompts.map(() => [] as number[]);
  for (let t = 0; t < maxTokens; t++) {
    const T = seqs[0].length;
    const ids = tf.tidy(() => {
      const bias = new Float32Array(T * T).fill(-1e9);
      for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) bias[q * T + k] = 0;
      const { h } = forward(
        m,
        tf.tensor2d(seqs.flat(), [seqs.length, T], 'int32'),
        tf.tensor2d(
          seqs.flatMap((s) => s.map((_, j) => j)),
          [seqs.length, T],
          'int32',
        ),
        tf.tensor4d(bias, [1, 1, T, T]),
      );
      const last = tf.reshape(tf.slice(h, [0, T - 1, 0], [-1, 1, -1]), [seqs.length, -1]) as tf.Tensor2D;
      return tf.argMax(logitsOf(m, last), -1).dataSync();
    });
    seqs.forEach((s, i) => (s.push(ids[i]), out[i].push(ids[i])));
  }
  return out.map((ids) => tok.decode(ids));
}

/** Wall-clock and process CPU seconds of fn (the work is single-threaded, so CPU time is the work's own time even when
 * other processes share the cores; wall time is what a user waits). */
function timed<T>(fn: () => T): { out: T; wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { out, wall, cpu: (c.user + c.system) / 1e6 };
}
type Times = { wall: number[]; cpu: number[] };
const round = (x: number, d = 2) => Number(x.toFixed(d));
const list = (t: Times) => ({ wall: t.wall.map((x) => round(x, 3)), cpu: t.cpu.map((x) => round(x, 3)) });
const rates = (tokens: number, t: Times) => ({ wall: tokens / median(t.wall), cpu: tokens / median(t.cpu) });
const fmt = (t: Times) => `wall ${median(t.wall).toFixed(2)} s, cpu ${median(t.cpu).toFixed(2)} s`;

const prompts = Array.from({ length: B }, () => text(PROMPT_TOKENS - 1));
const sampleOpts = { n: 1, temperature: 0, topP: 1, maxTokens: ACTION_TOKENS, stop: [], seed: 1 };
const tr = fresh();
const cachedT: Times = { wall: [], cpu: [] };
let cached: string[] = [];
for (let r = 0; r < reps; r++) {
  const t = timed(() => sample(tr.model, prompts, sampleOpts).completions.map((g) => g[0].text));
  cached = t.out;
  cachedT.wall.push(t.wall);
  cachedT.cpu.push(t.cpu);
}
// The baseline runs once: it takes well over 5x as long, so one run is already a long measurement.
const rec = timed(() => greedyByRecomputation(tr.model, prompts, ACTION_TOKENS));
const recomputeT: Times = { wall: [rec.wall], cpu: [rec.cpu] };
if (!cached.every((c, i) => c === rec.out[i] && c.length === ACTION_TOKENS))
  throw new Error('KV-cached and recomputed greedy samples differ: the comparison would not measure the same work');
const sampled = B * ACTION_TOKENS;
const cachedRate = rates(sampled, cachedT);
const recomputeRate = rates(sampled, recomputeT);
const cacheSpeedup = cachedRate.cpu / recomputeRate.cpu;
console.log(
  `sampling ${B} x (${PROMPT_TOKENS}-token prompt + ${ACTION_TOKENS} new tokens): ` +
    `KV cache ${cachedRate.cpu.toFixed(0)} tok/s of CPU time (${fmt(cachedT)}, median of ${reps}); ` +
    `full recomputation ${recomputeRate.cpu.toFixed(1)} tok/s (${fmt(recomputeT)}, one run): ` +
    `cache ${cacheSpeedup.toFixed(1)}x faster by CPU time, ${(cachedRate.wall / recomputeRate.wall).toFixed(1)}x by wall time (target >= ${CACHE_TARGET}x)`,
);
// read at once: tf.profile returns the engine's one profile object, which the next tf.profile call overwrites
const samplePeakBytes = (await tf.profile(() => void sample(tr.model, prompts, sampleOpts))).peakBytes;
release(tr);

// ---- training: the same SFT batch on wasm and on plain CPU

const batch = Array.from({ length: TB }, () => ({ prompt: text(PROMPT_TOKENS - 1), completion: text(ACTION_TOKENS - 1) + '\n' }));
const seqTokens = TB * (PROMPT_TOKENS + ACTION_TOKENS);
async function trainTimes(name: string, steps: number): Promise<Times & { peakBytes?: number }> {
  if (name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} did not start`);
  const t = fresh();
  if (name === tfBackend) trainStep(t, 'sft', batch, { lr: 1e-4 }); // warm-up (kernel set-up), not timed
  const times: Times = { wall: [], cpu: [] };
  for (let s = 0; s < steps; s++) {
    const x = timed(() => trainStep(t, 'sft', batch, { lr: 1e-4 }));
    times.wall.push(x.wall);
    times.cpu.push(x.cpu);
  }
  const peakBytes = name === tfBackend ? (await tf.profile(() => void trainStep(t, 'sft', batch, { lr: 1e-4 }))).peakBytes : undefined;
  release(t);
  return { ...times, peakBytes };
}
const wasmT = await trainTimes(tfBackend, reps);
const cpuT = await trainTimes('cpu', Math.min(2, reps)); // an order of magnitude slower: fewer steps
await tf.setBackend(tfBackend);
const wasmRate = rates(seqTokens, wasmT);
const cpuRate = rates(seqTokens, cpuT);
const wasmOverCpu = wasmRate.cpu / cpuRate.cpu;
console.log(
  `SFT step, ${TB} x ${PROMPT_TOKENS + ACTION_TOKENS} tokens (${TB * ACTION_TOKENS} action tokens): ` +
    `${backend} ${wasmRate.cpu.toFixed(0)} tok/s of CPU time (${fmt(wasmT)}, median of ${wasmT.wall.length}), ` +
    `cpu ${cpuRate.cpu.toFixed(1)} tok/s (${fmt(cpuT)}, median of ${cpuT.wall.length}): ` +
    `${backend}/cpu ${wasmOverCpu.toFixed(1)}x by CPU time, ${(wasmRate.wall / cpuRate.wall).toFixed(1)}x by wall time`,
);

// ---- roofline: peak matmul rate, then sampling and training as fractions of it (pi0's shape and WIDE x wider)

/** GFLOP/s of CPU time of an [m, k] x [k, n] product: the best of 3 trials of enough repetitions for ~0.2 s. */
function matmulRate(m: number, k: number, n: number): number {
  const [a, b] = [tf.randomNormal([m, k]), tf.randomNormal([k, n])];
  tf.matMul(a, b).dispose(); // warm-up
  let best = 0;
  for (let trial = 0; trial < 3; trial++) {
    let r = 0;
    const t = timed(() => {
      const c0 = process.cpuUsage();
      for (; r < 2 || process.cpuUsage(c0).user < 0.2e6; r++) {
        const c = tf.matMul(a, b);
        c.dataSync();
        c.dispose();
      }
    });
    best = Math.max(best, (2 * m * k * n * r) / t.cpu / 1e9);
  }
  tf.dispose([a, b]);
  return best;
}

/** Peak matmul GFLOP/s: 512^3 and the products of the model's layers at a training step's and a decoding step's rows. */
function peakMatmul(cs: ModelConfig[]): { gflops: number; shape: [number, number, number]; shapes: Record<string, number> } {
  const shapes: Record<string, number> = { '512x512x512': matmulRate(512, 512, 512) };
  for (const c of cs) {
    const W = c.width;
    for (const rows of [TB * (PROMPT_TOKENS + ACTION_TOKENS), RP * K]) {
      for (const [k, n] of [
        [W, W],
        [W, 4 * W],
        [4 * W, W],
        [W, c.vocab],
      ])
        shapes[`${rows}x${k}x${n}`] ??= matmulRate(rows, k, n);
    }
  }
  const [best, gflops] = Object.entries(shapes).reduce((a, b) => (b[1] > a[1] ? b : a));
  return { gflops, shape: best.split('x').map(Number) as [number, number, number], shapes };
}

/**
 * Sampling (RP prompts x K samples, temperature 1, no stop) and SFT training rates of a config, as fractions of the
 * peak: each rep re-measures the peak's shape just before its sampling call and training step, and a figure is the
 * median over reps of that rep's fraction (this machine's speed moves by a third within a minute; a peak measured
 * once, before everything else, made the fractions move by as much).
 */
function roofline(c: ModelConfig, peak: { gflops: number; shape: [number, number, number] }) {
  const t = fresh(c);
  const rPrompts = Array.from({ length: RP }, () => text(PROMPT_TOKENS - 1));
  const opts = { n: K, temperature: 1, topP: 1, maxTokens: ACTION_TOKENS, stop: [], seed: 3 };
  sample(t.model, rPrompts.slice(0, 1), { ...opts, maxTokens: 2 }); // warm-up
  trainStep(t, 'sft', batch, { lr: 1e-4 }); // warm-up
  // the prompt's prefill runs once per prompt, the decoding once per sample
  const prefill = sampleFlops(c, PROMPT_TOKENS, 0);
  const sFlops = RP * prefill + RP * K * (sampleFlops(c, PROMPT_TOKENS, ACTION_TOKENS) - prefill);
  const tFlops = TB * trainFlops(c, PROMPT_TOKENS, ACTION_TOKENS);
  const sT: Times = { wall: [], cpu: [] };
  const tT: Times = { wall: [], cpu: [] };
  const peaks: number[] = [];
  const fracs: { sample: number[]; train: number[] } = { sample: [], train: [] };
  for (let r = 0; r < reps; r++) {
    const p = matmulRate(...peak.shape);
    peaks.push(p);
    const x = timed(() => sample(t.model, rPrompts, opts).tokens);
    if (x.out !== RP * K * ACTION_TOKENS) throw new Error(`sampled ${x.out} tokens, expected ${RP * K * ACTION_TOKENS}`);
    sT.wall.push(x.wall);
    sT.cpu.push(x.cpu);
    const y = timed(() => trainStep(t, 'sft', batch, { lr: 1e-4 }));
    tT.wall.push(y.wall);
    tT.cpu.push(y.cpu);
    fracs.sample.push(sFlops / x.cpu / 1e9 / p);
    fracs.train.push(tFlops / y.cpu / 1e9 / p);
  }
  release(t);
  return {
    width: c.width,
    params: countParams(c),
    sample_tok_s: round(rates(RP * K * ACTION_TOKENS, sT).cpu, 1),
    sample_gflops: round(sFlops / median(sT.cpu) / 1e9),
    sample_roofline_frac: round(median(fracs.sample), 3),
    train_tok_s: round(rates(seqTokens, tT).cpu, 1),
    train_gflops: round(tFlops / median(tT.cpu) / 1e9),
    train_mfu: round(median(fracs.train), 3),
    /** The peak's shape re-measured before each rep (GFLOP/s of CPU time). */
    peak_gflops_by_rep: peaks.map((g) => round(g)),
    seconds: { sample: list(sT), train: list(tT) },
  };
}

const wideCfg = ModelConfig.parse({ ...cfg, width: cfg.width * WIDE, heads: cfg.heads * WIDE });
const peak = peakMatmul([cfg, wideCfg]);
console.log(
  `peak matmul ${peak.gflops.toFixed(1)} GFLOP/s of CPU time (best of ${Object.entries(peak.shapes)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ')})`,
);
const pi0Roof = roofline(cfg, peak);
const wideRoof = roofline(wideCfg, peak);
for (const [name, r] of [
  ['pi0 shape', pi0Roof],
  [`${WIDE}x wider`, wideRoof],
] as const) {
  console.log(
    `${name} (width ${r.width}, ${r.params} parameters): sampling ${RP}x${K} ${r.sample_tok_s} tok/s = ${r.sample_gflops} GFLOP/s ` +
      `(roofline fraction ${r.sample_roofline_frac}); SFT ${r.train_tok_s} tok/s = ${r.train_gflops} GFLOP/s (MFU ${r.train_mfu})`,
  );
}

// ---- scaling: the engine with 1 and 2 threads against the machine's ceiling, rep by rep (bench/scaling.ts)

const scalingReps = Number(values['scaling-reps']);
const scaling = await measureScaling({ ...defaultSetup({ reps: scalingReps, prompts: RP, samples: K, trainBatch: TB }), config: cfg });
console.log(
  `engine threads, median of ${scalingReps} reps by wall time: sampling ${RP}x${K} ${scaling.sample_scaling_2}x, SFT ${scaling.train_scaling_2}x ` +
    `on 2 threads; the ceiling, the same loops in 2 independent threads: matmul ${scaling.hw_scaling_2}x, ` +
    `memory-bound ${scaling.hw_stream_scaling_2}x; the engine's ratio over the ceiling's, rep by rep: sampling ` +
    `${scaling.of_ceiling.sample}, SFT ${scaling.of_ceiling.train}` +
    (backend === 'wasm' ? ' (the wasm backend itself runs single-threaded in Node: WASM_HAS_MULTITHREAD_SUPPORT is false there)' : ''),
);

const peakRssMiB = process.resourceUsage().maxRSS / 1024;
const trainPeakBytes = wasmT.peakBytes ?? 0;
const peakTfBytes = Math.max(samplePeakBytes, trainPeakBytes);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
console.log(
  `peak RSS ${peakRssMiB.toFixed(0)} MiB; peak tensor bytes (${backend}) ${mib(peakTfBytes)}: ` +
    `sampling ${mib(samplePeakBytes)}, SFT step ${mib(trainPeakBytes)} (${(trainPeakBytes / seqTokens / 1024).toFixed(1)} KiB per token of its ${seqTokens})`,
);
console.log(
  JSON.stringify({
    backend,
    peak_matmul_gflops: round(peak.gflops),
    sample_roofline_frac: pi0Roof.sample_roofline_frac,
    train_mfu: pi0Roof.train_mfu,
    sample_scaling_2: scaling.sample_scaling_2,
    train_scaling_2: scaling.train_scaling_2,
    hw_scaling_2: scaling.hw_scaling_2,
    hw_stream_scaling_2: scaling.hw_stream_scaling_2,
    engine_tok_s: scaling.engine_tok_s,
    scaling,
    roofline_sample_batch: `${RP}x${K}`,
    roofline: {
      pi0: pi0Roof,
      wide: wideRoof,
      matmul_gflops: Object.fromEntries(Object.entries(peak.shapes).map(([k, v]) => [k, round(v)])),
    },
    model: { ...cfg, params: countParams(cfg), weights: 'random init (pi0 shape, longer ctx)' },
    prompt_tokens: PROMPT_TOKENS,
    action_tokens: ACTION_TOKENS,
    sample_batch: B,
    sample_cached_tok_s: round(cachedRate.cpu, 1),
    sample_recompute_tok_s: round(recomputeRate.cpu, 1),
    cache_speedup: round(cacheSpeedup),
    cache_speedup_wall: round(cachedRate.wall / recomputeRate.wall),
    cache_speedup_target: CACHE_TARGET,
    train_batch: TB,
    train_wasm_tok_s: round(wasmRate.cpu, 1),
    train_cpu_tok_s: round(cpuRate.cpu, 1),
    wasm_over_cpu_train: round(wasmOverCpu),
    wasm_over_cpu_train_wall: round(wasmRate.wall / cpuRate.wall),
    rates_by: 'process CPU time (wall-time ratios beside them)',
    seconds: { sample_cached: list(cachedT), sample_recompute: list(recomputeT), train_wasm: list(wasmT), train_cpu: list(cpuT) },
    peak_rss_mib: round(peakRssMiB, 1),
    peak_tf_bytes: peakTfBytes,
    sample_peak_bytes: samplePeakBytes,
    train_peak_bytes: trainPeakBytes,
    train_peak_bytes_per_token: Math.round(trainPeakBytes / seqTokens),
    reps,
  }),
);
