// GPU worker: generation and GRPO updates, at most PIVOTRL_GPUS at once.
import { NativeConnection } from '@temporalio/worker';
import { createGpuWorker } from './build';
import { holdSignalsWhileClosing, workerEnv } from './env';
import { serveHealth } from './health';
import { installRuntime } from './runtime';

const env = workerEnv();
const log = installRuntime(env).child({ name: 'gpu-worker' });
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
const { worker, close } = await createGpuWorker({
  connection,
  namespace: env.TEMPORAL_NAMESPACE,
  taskQueue: env.PIVOTRL_GPU_QUEUE,
  gpus: env.PIVOTRL_GPUS,
  allowCpu: env.PIVOTRL_ALLOW_CPU === '1',
});
log.info(`polling ${env.PIVOTRL_GPU_QUEUE} on ${env.TEMPORAL_ADDRESS}`);
holdSignalsWhileClosing(log);
serveHealth(worker, env.PIVOTRL_HEALTH_PORT);
await worker.run();
await close();
await connection.close();
