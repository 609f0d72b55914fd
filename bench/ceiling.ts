// The machine's ceiling for data-parallel policy work: the same fixed tfjs loop in 1 and in 2 independent worker
// threads (nothing shared, no messages while they run). Throughput with 2 over with 1 is the most any data-parallel
// engine can reach on these cores at that moment; bench/scaling.ts measures it beside the engine's scaling.
import { Worker } from 'node:worker_threads';
import type { ModelConfig } from '../policy/schemas';

/**
 * A loop one thread runs: matmuls of the given [m, k, n] shapes, a memory-bound elementwise add, or floating-point
 * multiply-adds in registers (`compute`: what the cores give with nothing shared but the clock).
 */
export type CeilingWork =
  | { kind: 'matmul'; shapes: [number, number, number][]; iters: number }
  | { kind: 'stream'; elements: number; iters: number }
  | { kind: 'compute'; iters: number };

/** The model's layer products ([rows, W] x [W, W], [W, 4W], [4W, W], [W, vocab]) at each of `rows`. */
export function modelMatmuls(c: ModelConfig, rows: number[]): [number, number, number][] {
  const W = c.width;
  return rows.flatMap((m): [number, number, number][] => [
    [m, W, W],
    [m, W, 4 * W],
    [m, 4 * W, W],
    [m, W, c.vocab],
  ]);
}

// An eval'd CommonJS worker cannot load TypeScript; it registers tsx and then imports the thread's module.
const BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(
  new URL('./ceiling-thread.ts', import.meta.url).href,
)}); });`;

export interface CeilingThreads {
  size: number;
  /** Runs `work` in the first `k` threads at once; resolves with the wall seconds until the last is done. */
  run(work: CeilingWork, k: number): Promise<number>;
  close(): Promise<void>;
}

export function startCeilingThreads(n: number): CeilingThreads {
  const workers = Array.from({ length: n }, () => new Worker(BOOT, { eval: true }));
  const once = (w: Worker, work: CeilingWork) =>
    new Promise<void>((resolve, reject) => {
      const done = () => (w.off('error', fail), resolve());
      const fail = (err: Error) => (w.off('message', done), reject(err));
      w.once('message', done);
      w.once('error', fail);
      w.postMessage(work);
    });
  return {
    size: n,
    run: async (work, k) => {
      const t0 = performance.now();
      await Promise.all(workers.slice(0, k).map((w) => once(w, work)));
      return (performance.now() - t0) / 1000;
    },
    close: async () => void (await Promise.all(workers.map((w) => w.terminate()))),
  };
}

/** `work` with its iterations scaled so that one thread takes about `seconds` (threads warm after this). */
export async function calibrated(threads: CeilingThreads, work: CeilingWork, seconds: number): Promise<CeilingWork> {
  await threads.run({ ...work, iters: 1 }, threads.size); // warm-up: backends and kernels start in every thread
  const t = await threads.run(work, 1);
  return { ...work, iters: Math.max(1, Math.round((work.iters * seconds) / t)) };
}
