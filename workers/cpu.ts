// CPU worker: the campaign workflow, ingest, verification (Docker sandboxes), scoring.
import { NativeConnection } from '@temporalio/worker';
import { createCpuWorker } from './build';
import { holdSignalsWhileClosing, workerEnv } from './env';
import { serveHealth } from './health';

const env = workerEnv();
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
const { worker, close } = await createCpuWorker({
  connection,
  namespace: env.TEMPORAL_NAMESPACE,
  taskQueue: env.PIVOTRL_CPU_QUEUE,
  maxActivities: env.PIVOTRL_CPU_ACTIVITIES,
  sandboxImage: env.PIVOTRL_SANDBOX_IMAGE,
  sweSandboxImage: env.PIVOTRL_SWE_SANDBOX_IMAGE,
});
console.log(`[cpu-worker] polling ${env.PIVOTRL_CPU_QUEUE} on ${env.TEMPORAL_ADDRESS}`);
holdSignalsWhileClosing('cpu-worker');
serveHealth(worker, env.PIVOTRL_HEALTH_PORT);
await worker.run();
await close();
await connection.close();
