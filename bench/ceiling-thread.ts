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
