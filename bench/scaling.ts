// The policy engine's data-parallel scaling against the machine's ceiling, measured fairly in one run:
// `npx tsx bench/scaling.ts [--reps 7]` (bench/policy.ts includes the same figures in its JSON).
//
// Two engines stay open side by side, 1 and 2 threads, each warmed with a call of the measured size. Each rep then
// times, back to back and in alternating order, the same sampling call (prompts x samples at temperature 1) on both,
// one SFT step of a lineage (c/r -> c/r+1, as a campaign's update steps go) on both, and the ceiling's fixed loops in 1
// and 2 threads (bench/ceiling.ts: the model's matmul shapes, a memory-bound add, multiply-adds in registers). A figure
// is the median over reps of that rep's ratio (rate with 2 threads / rate with 1, by wall time: the threads run at
// once), so load that comes and goes shifts both sides of a ratio alike. The two engines must give the same samples and
// checkpoint hashes (else they would not be doing the same work). `of_ceiling`: the median over reps of the engine's
// ratio over the matmul ceiling's in the same rep: 1 at best, give or take noise (an engine's serial part and splitting
// cost are extra). `cpu_efficiency` is the process CPU time of the 1-thread call over the 2-thread call's: below 1 by
// what splitting costs, whatever the load. `by_thread_cpu` gives each figure again with the on-CPU time of the call's
// busiest thread (Linux schedstat) in place of wall time: what the ratio would be with two free cores, when other
// processes keep the machine busy (time spent waiting for a core is left out; cores slowing each other down, as the
// ceiling's loops show, is not).
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openPolicyEngine, type PolicyEngine } from '../policy/engine';
import { DEFAULT_MODEL, ModelConfig, type SampleOptions, type SftExample } from '../policy/schemas';
import { charTokenizer } from '../policy/tokenizer';
import { rng } from '../policy/rng';
import { calibrated, modelMatmuls, startCeilingThreads } from './ceiling';
import { tempDir } from '../harness/temp-dir';

export interface ScalingSetup {
  config: ModelConfig;
  prompts: string[];
  sampling: SampleOptions;
  examples: SftExample[];
  microBatchTokens: number;
  reps: number;
}

/** Wall, process CPU and busiest thread's on-CPU seconds of one call. */
interface Timing {
  wall: number;
  cpu: number;
  thread: number;
}

/** On-CPU seconds of each thread of this process by id (empty where /proc has no schedstat). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      out.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9);
    }
  } catch {
    // a thread that ended between the listing and the read, or no /proc: what was read so far
  }
  return out;
}

/** The most on-CPU time any one thread had between two readings. */
function busiest(before: Map<string, number>, after: Map<string, number>): number {
  return Math.max(0, ...[...after].map(([tid, t]) => t - (before.get(tid) ?? t)));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, d = 2) => Number(x.toFixed(d));

async function timed<T>(fn: () => Promise<T>): Promise<{ out: T } & Timing> {
  const c0 = process.cpuUsage();
  const th0 = threadCpu();
  const t0 = performance.now();
  const out = await fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { out, wall, cpu: (c.user + c.system) / 1e6, thread: busiest(th0, threadCpu()) };
}

/** An engine on its own temporary store, with checkpoint c/0 of `config` (seed 1). */
async function openEngine(config: ModelConfig, threads: number) {
  const dir = tempDir('pivotrl-bench-scaling-'); // removed on close; at exit too if a run breaks off
  const engine = openPolicyEngine({ store: { kind: 'local', root: dir }, onLog: () => {}, threads });
  await engine.init({ out: 'c/0', config, seed: 1 });
  return {
    engine,
    close: async () => {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function measureScaling(s: ScalingSetup) {
  const engines = [await openEngine(s.config, 1), await openEngine(s.config, 2)];
  const ceiling = startCeilingThreads(2);
  try {
    const hp = { lr: 1e-4, microBatchTokens: s.microBatchTokens };
    const sampleOn = (e: PolicyEngine, checkpoint: string) => e.sample(checkpoint, s.prompts, s.sampling);
    const stepOn = (e: PolicyEngine, step: number) =>
      e.trainSft({ checkpoint: `c/${step}`, out: `c/${step + 1}`, examples: s.examples, hp });
    // Warm-up at the measured size: threads, backends, kernels and the helpers' resident model.
    for (const { engine } of engines) {
      await sampleOn(engine, 'c/0');
      await stepOn(engine, 0);
    }
    const sampleRows = (s.prompts.length * s.sampling.n) / 2; // decoding rows per thread with 2 threads
    const trainRows = s.microBatchTokens; // about one micro-batch's rows of tokens
    const works = {
      matmul: await calibrated(ceiling, { kind: 'matmul', shapes: modelMatmuls(s.config, [trainRows, sampleRows]), iters: 4 }, 0.4),
      stream: await calibrated(ceiling, { kind: 'stream', elements: 1 << 22, iters: 4 }, 0.4),
      compute: await calibrated(ceiling, { kind: 'compute', iters: 20 }, 0.4),
    };

    const parts = ['sample', 'train', 'hw_matmul', 'hw_stream', 'hw_compute'] as const;
    const times = Object.fromEntries(parts.map((p) => [p, [[], []]])) as unknown as Record<(typeof parts)[number], [Timing[], Timing[]]>;
    for (let r = 0; r < s.reps; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0]; // neither side always runs first
      const step = r + 1;
      const samples: string[] = [];
      const hashes: string[] = [];
      for (const i of order) {
        const x = await timed(() => sampleOn(engines[i].engine, `c/${step}`));
        samples[i] = JSON.stringify(x.out);
        times.sample[i].push(x);
      }
      for (const i of order) {
        times.train[i].push(await timed(() => stepOn(engines[i].engine, step)));
        hashes[i] = await engines[i].engine.checkpointHash(`c/${step + 1}`);
      }
      if (samples[0] !== samples[1] || hashes[0] !== hashes[1])
        throw new Error(`rep ${r}: the 1- and 2-thread engines gave different samples or checkpoints`);
      for (const kind of Object.keys(works) as (keyof typeof works)[]) {
        for (const i of order) {
          const x = await timed(() => ceiling.run(works[kind], i + 1));
          times[`hw_${kind}`][i].push({ wall: x.wall / (i + 1), cpu: x.cpu, thread: x.thread / (i + 1) }); // per loop: rates compare
        }
      }
    }
    const repRatio = (p: (typeof parts)[number], r: number, of: (t: Timing) => number = (t) => t.wall) =>
      of(times[p][0][r]) / of(times[p][1][r]);
    const ratio = (p: (typeof parts)[number], of: (t: Timing) => number) => round(median(times[p][0].map((_, r) => repRatio(p, r, of))));
    const ofCeiling = (p: 'sample' | 'train') => round(median(times[p][0].map((_, r) => repRatio(p, r) / repRatio('hw_matmul', r))));
    const sampled = s.prompts.length * s.sampling.n * s.sampling.maxTokens;
    const trained = s.examples.reduce((n, e) => n + e.prompt.length + 1 + e.completion.length, 0);
    const rate = (tokens: number, p: 'sample' | 'train', i: number) => round(tokens / median(times[p][i].map((t) => t.wall)), 1);
    return {
      sample_scaling_2: ratio('sample', (t) => t.wall),
      train_scaling_2: ratio('train', (t) => t.wall),
      hw_scaling_2: ratio('hw_matmul', (t) => t.wall),
      hw_stream_scaling_2: ratio('hw_stream', (t) => t.wall),
      hw_compute_scaling_2: ratio('hw_compute', (t) => t.wall),
      of_ceiling: { sample: ofCeiling('sample'), train: ofCeiling('train') },
      cpu_efficiency: { sample: ratio('sample', (t) => t.cpu), train: ratio('train', (t) => t.cpu) },
      by_thread_cpu: {
        sample_scaling_2: ratio('sample', (t) => t.thread),
        train_scaling_2: ratio('train', (t) => t.thread),
        hw_scaling_2: ratio('hw_matmul', (t) => t.thread),
        hw_stream_scaling_2: ratio('hw_stream', (t) => t.thread),
        hw_compute_scaling_2: ratio('hw_compute', (t) => t.thread),
      },
      engine_tok_s: {
        sample_1: rate(sampled, 'sample', 0),
        sample_2: rate(sampled, 'sample', 1),
        train_1: rate(trained, 'train', 0),
        train_2: rate(trained, 'train', 1),
      },
      /** Per rep: [1 thread, 2 threads] wall seconds (hw_*: per loop, so that 2 threads at full speed equal 1). */
      seconds: Object.fromEntries(parts.map((p) => [p, times[p][0].map((one, r) => [round(one.wall, 3), round(times[p][1][r].wall, 3)])])),
      hw_work: { matmul_shapes: (works.matmul as { shapes: number[][] }).shapes.map((x) => x.join('x')), stream_elements: 1 << 22 },
      reps: s.reps,
    };
  } finally {
    await ceiling.close();
    for (const e of engines) await e.close();
  }
}

/** The setup bench/policy.ts measures: pi0's shape, 256-token prompts, 64 new tokens, SFT of 320-token sequences. */
export function defaultSetup(o: { reps: number; prompts?: number; samples?: number; trainBatch?: number }): ScalingSetup {
  const tok = charTokenizer();
  const next = rng(7);
  const text = (n: number) => Array.from({ length: n }, () => 'abcdefghij klmnop\n$/.'[Math.floor(next() * 21)]).join('');
  const batch = Array.from({ length: o.trainBatch ?? 4 }, () => ({ prompt: text(255), completion: text(63) + '\n' }));
  return {
    config: ModelConfig.parse({ ...DEFAULT_MODEL, vocab: tok.vocabSize, ctx: 384 }),
    prompts: Array.from({ length: o.prompts ?? 8 }, () => text(255)),
    sampling: { n: o.samples ?? 8, temperature: 1, topP: 1, maxTokens: 64, stop: [], seed: 3 },
    examples: [...batch, ...batch], // 2 x train-batch sequences in micro-batches of 2: 2 x train-batch / 2 micro-batches
    microBatchTokens: 2 * 320,
    reps: o.reps,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '7' } } });
  const result = await measureScaling(defaultSetup({ reps: Number(values.reps) }));
  console.log(
    `scaling on 2 threads (median of ${result.reps} reps, wall time): sampling ${result.sample_scaling_2}x, SFT ${result.train_scaling_2}x; ` +
      `ceiling (same loops in 2 independent threads): matmul ${result.hw_scaling_2}x, memory-bound ${result.hw_stream_scaling_2}x, ` +
      `registers only ${result.hw_compute_scaling_2}x; ` +
      `engine over ceiling: sampling ${result.of_ceiling.sample}, SFT ${result.of_ceiling.train}; ` +
      `by the busiest thread's CPU time: sampling ${result.by_thread_cpu.sample_scaling_2}x, SFT ${result.by_thread_cpu.train_scaling_2}x, ` +
      `ceiling ${result.by_thread_cpu.hw_scaling_2}x / ${result.by_thread_cpu.hw_stream_scaling_2}x`,
  );
  console.log(JSON.stringify(result));
}
