// GPU worker: generation and GRPO updates, at most PIVOTRL_GPUS at once.
import { NativeConnection } from '@temporalio/worker';
import { createGpuWorker } from './build';
import { holdSignalsWhileClosing, workerEnv } from './env';
import { serveHealth } from './health';
import { installRuntime } from './runtime';

const env = workerEnv();
const log = installRuntime(env).child({ name: 'gpu-worker' });
const connection = await NativeConnection.connect(env.temporal.connection);
const { worker, close } = await createGpuWorker({
  connection,
  namespace: env.temporal.namespace,
  taskQueue: env.PIVOTRL_GPU_QUEUE,
  gpus: env.PIVOTRL_GPUS,
  allowCpu: env.PIVOTRL_ALLOW_CPU === '1',
});
log.info(
  `polling ${env.PIVOTRL_GPU_QUEUE} on ${env.temporal.address}${env.temporal.tls ? ' (TLS)' : ''}, namespace ${env.temporal.namespace}`,
);
holdSignalsWhileClosing(log);
serveHealth(worker, env.PIVOTRL_HEALTH_PORT);
await worker.run();
await close();
await connection.close();
