// The embedded default: one process polls both queues (CPU backend allowed for "GPU" work).
import { NativeConnection } from '@temporalio/worker';
import { createCpuWorker, createGpuWorker } from './build';
import { holdSignalsWhileClosing, workerEnv } from './env';
import { installRuntime } from './runtime';

const env = workerEnv();
const log = installRuntime(env).child({ name: 'all-in-one' });
const connection = await NativeConnection.connect(env.temporal.connection);
const cpu = await createCpuWorker({
  connection,
  namespace: env.temporal.namespace,
  taskQueue: env.PIVOTRL_CPU_QUEUE,
  maxActivities: env.PIVOTRL_CPU_ACTIVITIES,
  reapIntervalMs: env.PIVOTRL_REAP_INTERVAL * 1000,
  reapAfterMs: env.PIVOTRL_REAP_AFTER * 1000,
});
const gpu = await createGpuWorker({
  connection,
  namespace: env.temporal.namespace,
  taskQueue: env.PIVOTRL_GPU_QUEUE,
  gpus: env.PIVOTRL_GPUS,
  allowCpu: true,
});
log.info(
  `polling ${env.PIVOTRL_CPU_QUEUE} and ${env.PIVOTRL_GPU_QUEUE} on ${env.temporal.address}${env.temporal.tls ? ' (TLS)' : ''}, namespace ${env.temporal.namespace}`,
);
holdSignalsWhileClosing(log);
await Promise.all([cpu.worker.run(), gpu.worker.run()]);
await Promise.all([cpu.close(), gpu.close()]);
await connection.close();
