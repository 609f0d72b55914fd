// Worker-thread side of bench/ceiling.ts: runs a fixed tfjs loop on the backend the engine would pick, then answers.
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../policy/backend';
import type { CeilingWork } from './ceiling';

await initBackend(() => {});
parentPort!.on('message', (work: CeilingWork) => {
  run(work);
  parentPort!.postMessage('done');
});

function run(work: CeilingWork): void {
  if (work.kind === 'compute') return void registerFma(work.iters);
  const inputs =
    work.kind === 'matmul'
      ? work.shapes.map(([m, k, n]) => [tf.randomNormal([m, k]), tf.randomNormal([k, n])])
      : [[tf.randomNormal([work.elements]), tf.randomNormal([work.elements])]];
  const op = work.kind === 'matmul' ? tf.matMul : tf.add;
  for (let i = 0; i < work.iters; i++) {
    for (const [a, b] of inputs) {
      const c = op(a, b);
      c.dataSync(); // as the engine reads results: the work is done, not queued
      c.dispose();
    }
  }
  tf.dispose(inputs.flat());
}

/** 8 independent multiply-add chains, 1e6 rounds per iteration: floating-point throughput with no memory traffic. */
function registerFma(iters: number): number {
  let [a, b, c, d, e, f, g, h] = [1, 2, 3, 4, 5, 6, 7, 8];
  for (let i = 0; i < iters * 1e6; i++) {
    a = a * 0.999999 + 1e-7;
    b = b * 0.999999 + 1e-7;
    c = c * 0.999999 + 1e-7;
    d = d * 0.999999 + 1e-7;
    e = e * 0.999999 + 1e-7;
    f = f * 0.999999 + 1e-7;
    g = g * 0.999999 + 1e-7;
    h = h * 0.999999 + 1e-7;
  }
  return a + b + c + d + e + f + g + h;
}
