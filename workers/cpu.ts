// CPU worker: the campaign workflow, ingest, verification (Docker sandboxes), scoring.
import { NativeConnection } from '@temporalio/worker';
import { createCpuWorker } from './build';
import { holdSignalsWhileClosing, workerEnv } from './env';
import { serveHealth } from './health';
import { installRuntime } from './runtime';

const env = workerEnv();
const log = installRuntime(env).child({ name: 'cpu-worker' });
const connection = await NativeConnection.connect(env.temporal.connection);
const { worker, close } = await createCpuWorker({
  connection,
  namespace: env.temporal.namespace,
  taskQueue: env.PIVOTRL_CPU_QUEUE,
  maxActivities: env.PIVOTRL_CPU_ACTIVITIES,
  reapIntervalMs: env.PIVOTRL_REAP_INTERVAL * 1000,
  reapAfterMs: env.PIVOTRL_REAP_AFTER * 1000,
  sandboxImage: env.PIVOTRL_SANDBOX_IMAGE,
  sweSandboxImage: env.PIVOTRL_SWE_SANDBOX_IMAGE,
});
log.info(
  `polling ${env.PIVOTRL_CPU_QUEUE} on ${env.temporal.address}${env.temporal.tls ? ' (TLS)' : ''}, namespace ${env.temporal.namespace}`,
);
holdSignalsWhileClosing(log);
serveHealth(worker, env.PIVOTRL_HEALTH_PORT);
await worker.run();
await close();
await connection.close();
