// Worker-thread entry of the policy engine (see engine.ts): runs LocalEngine calls posted by the parent.
import { parentPort, workerData } from 'node:worker_threads';
import type { ErrorShape } from './spawn';
import { LocalEngine } from './local';
import type { MicroGrads } from './train';

const port = parentPort!;
const engine = new LocalEngine({
  store: workerData.store,
  threads: workerData.threads,
  onLog: (msg) => port.postMessage({ type: 'log', msg }),
});

const METHODS = new Set([
  'backend',
  'sample',
  'trainSft',
  'trainGrpo',
  'sequenceNll',
  'init',
  'checkpointHash',
  'close',
  'microGrads',
  'adopt',
]);

/** Buffers a result hands over instead of copying (a helper's gradients: copies cost milliseconds per MB here). */
const transferOf = (method: string, result: unknown): ArrayBuffer[] =>
  method === 'microGrads' ? [...new Set((result as MicroGrads[]).flatMap((p) => p.grads.map((g) => g.buffer as ArrayBuffer)))] : [];

port.on('message', async (req: { id: number; method: string; args: unknown[] }) => {
  try {
    if (!METHODS.has(req.method)) throw new Error(`unknown engine method '${req.method}'`);
    const fn = (engine as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[req.method];
    // A training call's last argument is its cancellation flag (engine.ts): the engine asks it between micro-batches.
    const args = req.args.map((a) => (a instanceof Int32Array ? () => Atomics.load(a, 0) === 1 : a));
    const result = await fn.apply(engine, args);
    port.postMessage({ type: 'result', id: req.id, result }, transferOf(req.method, result));
  } catch (err) {
    const e = err as Error;
    const error: ErrorShape = { name: e?.name ?? 'Error', message: e?.message ?? String(err), stack: e?.stack };
    port.postMessage({ type: 'error', id: req.id, error });
  }
});
