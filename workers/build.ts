// Builds the CPU and GPU workers. Entry points (cpu.ts, gpu.ts, all-in-one.ts), the CLI's embedded mode
// and the integration tests all use these, so every deployment runs the same wiring.
import { hostname } from 'node:os';
import Docker from 'dockerode';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createCpuActivities, createGpuActivities } from '../activities';
import { createVerifier } from '../verifiers/verifier';
import { reapSandboxes } from '../sandboxes/sandbox';
import { DomainEpisodeRunner } from '../sandboxes/episodes';
import { openPolicyEngine, assertAcceleratorOrAllowed, type PolicyEngine } from '../policy/engine';
import type { StoreConfig } from '../store';
import { WORKFLOWS_PATH } from './workflows-path';

/** Heartbeats (the activities' resumable cursors) reach the server at least this often: fresh in the UI, little to redo. */
const HEARTBEAT_THROTTLE = '5 seconds';

export interface WorkerCommon {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
}

export interface CpuWorkerOptions extends WorkerCommon {
  /** Concurrent CPU activities (each verify activity runs its own sandbox concurrency inside). */
  maxActivities?: number;
  docker?: Docker;
  sandboxImage?: string;
  /** Sandbox image of the SWE domain (default pivotrl/swe:latest). */
  sweSandboxImage?: string;
}

/** A worker and what must be released after it stops (sandboxes, model threads). */
export interface OwnedWorker {
  worker: Worker;
  close(): Promise<void>;
}

export async function createCpuWorker(opts: CpuWorkerOptions): Promise<OwnedWorker> {
  const docker = opts.docker ?? new Docker();
  const removed = await reapSandboxes(docker, hostname(), { spareLiveProcesses: true });
  if (removed > 0) console.log(`[cpu-worker] removed ${removed} leftover sandbox container(s)`);
  const image = opts.sandboxImage ?? 'pivotrl/terminal:latest';
  const sweImage = opts.sweSandboxImage;
  const episodes = new DomainEpisodeRunner({ docker, image, sweImage });
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createCpuActivities({
      makeVerifier: (kind, o) => createVerifier(kind, { docker, image, sweImage, ...o }),
      episodes,
    }),
    maxConcurrentActivityTaskExecutions: opts.maxActivities ?? 4,
    maxConcurrentWorkflowTaskExecutions: 4,
    maxCachedWorkflows: 100,
    maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
  });
  return { worker, close: () => episodes.close() };
}

export interface GpuWorkerOptions extends WorkerCommon {
  /** GPUs on this host: the worker runs at most this many GPU activities at once. */
  gpus?: number;
  /** Tests and the demo may run "GPU" activities on a CPU backend. */
  allowCpu?: boolean;
}

export async function createGpuWorker(opts: GpuWorkerOptions): Promise<OwnedWorker> {
  const engines = new Map<string, PolicyEngine>();
  const engineFor = (store: StoreConfig) => {
    const key = JSON.stringify(store);
    let engine = engines.get(key);
    if (!engine) {
      engine = openPolicyEngine({ store, onLog: (msg) => console.log(`[gpu-worker] ${msg}`) });
      engines.set(key, engine);
    }
    return engine;
  };
  const probe = openPolicyEngine({ store: { kind: 'local', root: '.pivotrl/store' } });
  try {
    assertAcceleratorOrAllowed(await probe.backend(), opts.allowCpu ?? false);
  } finally {
    await probe.close();
  }
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createGpuActivities(engineFor),
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
