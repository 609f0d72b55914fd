// Builds the CPU and GPU workers. Entry points (cpu.ts, gpu.ts, all-in-one.ts), the CLI's embedded mode
// and the integration tests all use these, so every deployment runs the same wiring.
import { connectEngine, type DockerClient } from '../sandboxes/engine';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { createCpuActivities, createGpuActivities } from '../activities';
import { createVerifier } from '../verifiers';
import { reapSandboxes, sandboxHost, sandboxOwner, startPeriodicReaper } from '../sandboxes/reaper';
import { DEFAULT_IMAGE } from '../sandboxes/sandbox';
import { DomainEpisodeRunner } from '../sandboxes/episodes';
import { Memo } from '../core/memo';
import type { ReplayResult } from '../sandboxes/terminal';
import type { VerdictOutcome } from '../verifiers/executing';
import { openPolicyEngine, assertAcceleratorOrAllowed, type PolicyEngine } from '../policy/engine';
import type { StoreConfig } from '../store';
import { StoreEndpointError, storeAsWorkerReachesIt } from '../store/worker-endpoint';
import { workflowBundle } from './workflows-path';
import { workerLogger } from './runtime';
import { gaugeLiveSandboxes } from './metrics';
import { dataConverterFromEnv } from './data-converter';

/** Heartbeats (the activities' resumable cursors) reach the server at least this often: fresh in the UI, little to redo. */
const HEARTBEAT_THROTTLE = '5 seconds';

/** pid@host, with the worker host's name (PIVOTRL_HOST) so the UI shows which host ran an activity. */
const workerIdentity = () => `${process.pid}@${sandboxHost()}`;

/**
 * The activities with the store as this worker reaches it (store/worker-endpoint.ts): PIVOTRL_S3_ENDPOINT, when set,
 * replaces the endpoint of an S3 store in each input (the campaign config names it as its client saw it; a host
 * behind another address, e.g. in a network namespace, reaches the same bucket there). An endpoint the worker will
 * not send its keys to fails the activity for good.
 */
function reachingStore<A extends Record<string, (input: never) => Promise<unknown>>>(
  activities: A,
  endpoint = process.env.PIVOTRL_S3_ENDPOINT,
): A {
  const reached = (input: { store?: StoreConfig }) => {
    if (!input?.store) return input;
    try {
      return { ...input, store: storeAsWorkerReachesIt(input.store, endpoint) };
    } catch (err) {
      if (err instanceof StoreEndpointError) throw ApplicationFailure.nonRetryable(err.message, 'StoreEndpoint');
      throw err;
    }
  };
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [name, async (input: never) => fn(reached(input) as never)]),
  ) as A;
}

export interface WorkerCommon {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
}

export interface CpuWorkerOptions extends WorkerCommon {
  /** Concurrent CPU activities (each verify activity runs its own sandbox concurrency inside). */
  maxActivities?: number;
  docker?: DockerClient;
  sandboxImage?: string;
  /** Sandbox image of the SWE domain (default pivotrl/swe:latest). */
  sweSandboxImage?: string;
  /** Removes stopped sandboxes of any owner and host this often (PIVOTRL_REAP_INTERVAL; default 60 s; 0: never)... */
  reapIntervalMs?: number;
  /** ...once they have been stopped this long (PIVOTRL_REAP_AFTER; default 10 min). */
  reapAfterMs?: number;
}

/** A worker and what must be released after it stops (sandboxes, model threads). */
export interface OwnedWorker {
  worker: Worker;
  close(): Promise<void>;
}

/**
 * Verdicts a CPU worker remembers (PIVOTRL_VERIFY_MEMO, default 200000; episode replays: a tenth of it). 0 turns the
 * memo off: every action then runs in a sandbox, e.g. where an environment's actions are not deterministic.
 */
export function verifyMemoSize(value = process.env.PIVOTRL_VERIFY_MEMO): number {
  if (value === undefined || value === '') return 200_000;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10_000_000) {
    throw new Error(`PIVOTRL_VERIFY_MEMO must be a whole number of verdicts from 0 (off) to 10000000, got ${JSON.stringify(value)}`);
  }
  return n;
}

export async function createCpuWorker(opts: CpuWorkerOptions): Promise<OwnedWorker> {
  const docker = opts.docker ?? connectEngine();
  // A host named by PIVOTRL_HOST that comes back removes what its earlier incarnation left, besides dead processes'
  // sandboxes. Unnamed, the host is the machine, whose other live workers' sandboxes must be spared.
  const host = process.env.PIVOTRL_HOST || undefined;
  const removed = await reapSandboxes(docker, sandboxOwner(), { spareLiveProcesses: true, host });
  const log = workerLogger().child({ name: 'cpu-worker' });
  if (removed > 0) log.info(`removed ${removed} leftover sandbox container(s)`);
  const reapIntervalMs = opts.reapIntervalMs ?? 60_000;
  const reaper =
    reapIntervalMs > 0
      ? startPeriodicReaper(docker, {
          intervalMs: reapIntervalMs,
          afterMs: opts.reapAfterMs ?? 600_000,
          onRemoved: (n) => log.info(`removed ${n} stopped sandbox container(s)`),
          onError: (err) => log.error(`periodic reaper: ${(err as Error).message}`),
        })
      : null;
  const image = opts.sandboxImage ?? DEFAULT_IMAGE;
  const sweImage = opts.sweSandboxImage;
  // Measured verdicts and episode replays, reused by every activity of this worker (core/memo.ts).
  const memoSize = verifyMemoSize();
  const verdicts = memoSize > 0 ? new Memo<VerdictOutcome>(memoSize) : undefined;
  const replays = memoSize > 0 ? new Memo<ReplayResult>(Math.ceil(memoSize / 10)) : undefined;
  const episodes = new DomainEpisodeRunner({ docker, image, sweImage, memo: replays });
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    identity: workerIdentity(),
    dataConverter: dataConverterFromEnv(),
    workflowBundle: await workflowBundle(),
    activities: reachingStore(
      createCpuActivities({
        makeVerifier: (kind, o) => createVerifier(kind, { docker, image, sweImage, memo: verdicts, ...o }),
        episodes,
      }),
    ),
    maxConcurrentActivityTaskExecutions: opts.maxActivities ?? 4,
    maxConcurrentWorkflowTaskExecutions: 4,
    maxCachedWorkflows: 100,
    maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
  });
  const stopGauge = gaugeLiveSandboxes();
  return {
    worker,
    close: async () => {
      await reaper?.stop();
      await episodes.close();
      stopGauge();
    },
  };
}

export interface GpuWorkerOptions extends WorkerCommon {
  /** GPUs on this host: the worker runs at most this many GPU activities at once. */
  gpus?: number;
  /** Tests and the demo may run "GPU" activities on a CPU backend. */
  allowCpu?: boolean;
}

export async function createGpuWorker(opts: GpuWorkerOptions): Promise<OwnedWorker> {
  const engines = new Map<string, PolicyEngine>();
  const log = workerLogger().child({ name: 'gpu-worker' });
  const onLog = (msg: string) => log.info(msg);
  const engineFor = (store: StoreConfig) => {
    const key = JSON.stringify(store);
    let engine = engines.get(key);
    if (!engine) {
      engine = openPolicyEngine({ store, onLog });
      engines.set(key, engine);
    }
    return engine;
  };
  const probe = openPolicyEngine({ store: { kind: 'local', root: '.pivotrl/store' }, onLog });
  try {
    assertAcceleratorOrAllowed(await probe.backend(), opts.allowCpu ?? false);
  } finally {
    await probe.close();
  }
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    identity: workerIdentity(),
    dataConverter: dataConverterFromEnv(),
    activities: reachingStore(createGpuActivities(engineFor)),
    maxConcurrentActivityTaskExecutions: opts.gpus ?? 1,
    maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
  });
  return {
    worker,
    close: async () => {
      await Promise.all([...engines.values()].map((e) => e.close()));
    },
  };
}
