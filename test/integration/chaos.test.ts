// Chaos: workers killed with SIGKILL mid-stage, the Temporal server stopped mid-campaign, an update that fails
// right after writing its checkpoint. Real dev server (with a database file), real Docker, real tensors; the
// workers are child processes (npx tsx workers/cpu.ts | workers/gpu.ts), two CPU workers and one GPU worker, as
// ops run them. Each time the campaign finishes with the checkpoint an uninterrupted run with the same seed
// reaches (same final hash), one checkpoint per update step, and no sandbox container left behind. The campaigns
// continue as new after every step, and the server refuses payloads over 256 KB.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DockerClient } from '../../sandboxes/engine';
import { Client, Connection, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { CampaignConfig } from '../../core/config';
import { createGpuActivities } from '../../activities';
import { createCpuWorker } from '../../workers/build';
import { openPolicyEngine, type PolicyEngine } from '../../policy/engine';
import { checkpointHash } from '../../policy/checkpoint';
import { LocalStore, getJson, type StoreConfig } from '../../store';
import { campaignKeys } from '../../pipeline/keys';
import { partsOf } from '../../pipeline/parts';
import type { CampaignResult } from '../../pipeline/campaign-state';
import { pivotCampaign, progressQuery } from '../../workflows/campaign';
import { spawnDevServer, type DevServerProcess } from '../../harness/temporal';
import { requireDocker } from '../../harness/docker';
import { tinyCampaign, type TinyCampaign } from '../../harness/campaign';
import { processGroupOf, startWorkerProcess, type WorkerProcess } from '../../harness/worker-process';
import { attemptsOf, eventsOf as eventsOfRuns, pendingActivity, resultsOf, sleep, waitFor } from '../../harness/campaign-events';
import { isLiveProcess } from '../../sandboxes/reaper';
import { tempDir } from '../../harness/temp-dir';

const STEPS = 2;
const QUEUE = 'chaos';

let docker: DockerClient;
let server: DevServerProcess;
let connection: Connection;
let client: Client;
let tiny: TinyCampaign;
let store: LocalStore;
const workers: WorkerProcess[] = [];
let baseline: { result: CampaignResult; hashes: string[] };

function configFor(queue: string): CampaignConfig {
  const c = tiny.config;
  return {
    ...c,
    // One profiling shard of all 32 candidates: its verification is two stored parts (VERIFY_PART_TURNS = 16).
    data: { ...c.data, shardSize: 32 },
    // Updates on 8 pivots x 8 samples: long enough to be caught mid-way.
    train: { ...c.train, steps: STEPS, batchPivots: 8, groupSize: 8 },
    // A run per step: the interruptions also hit campaigns that continued as new.
    temporal: { ...c.temporal, address: server.address, cpuQueue: `${queue}-cpu`, gpuQueue: `${queue}-gpu`, stepsPerRun: 1 },
  };
}

/** This run's sandboxes only: other campaigns on the machine neither count nor get reaped. */
const OWNER = `test-chaos-${process.pid}`;
const workerEnv = (queue: string) => ({
  TEMPORAL_ADDRESS: server.address,
  PIVOTRL_CPU_QUEUE: `${queue}-cpu`,
  PIVOTRL_GPU_QUEUE: `${queue}-gpu`,
  PIVOTRL_ALLOW_CPU: '1',
  PIVOTRL_SANDBOX_OWNER: OWNER,
  // Every run repeats the baseline's actions: without the memo the verify activities do real work to interrupt.
  PIVOTRL_VERIFY_MEMO: '0',
});

let logFile: string;
async function startWorker(kind: 'cpu' | 'gpu'): Promise<WorkerProcess> {
  const w = await startWorkerProcess(kind, workerEnv(QUEUE), { logFile });
  workers.push(w);
  return w;
}

async function start(workflowId: string, queue = QUEUE): Promise<WorkflowHandleWithFirstExecutionRunId<typeof pivotCampaign>> {
  return client.workflow.start(pivotCampaign, {
    taskQueue: `${queue}-cpu`,
    workflowId,
    args: [{ campaignId: workflowId, config: configFor(queue) }],
  });
}

/** The campaign's checkpoints: exactly one per update step (and pi0 as step 0), each with the hash it reported. */
async function checkpointsOf(campaignId: string): Promise<string[]> {
  const dir = join(store.root, campaignKeys(campaignId).root, 'checkpoints');
  const steps = readdirSync(dir).sort();
  assert.deepEqual(
    steps,
    Array.from({ length: STEPS + 1 }, (_, i) => `step-${String(i).padStart(6, '0')}`),
    'one checkpoint per update step',
  );
  const hashes: string[] = [];
  for (let step = 1; step <= STEPS; step++) {
    const key = campaignKeys(campaignId).checkpoint(step);
    const recorded = await getJson(store, `${key}/update.json`, (v) => v as { hash: string });
    const hash = await checkpointHash(store, key);
    assert.equal(recorded.hash, hash, `the hash reported for step ${step} is that of the stored checkpoint`);
    hashes.push(hash);
  }
  return hashes;
}

const eventsOf = (handle: WorkflowHandleWithFirstExecutionRunId) => eventsOfRuns(client, handle.workflowId, handle.firstExecutionRunId);
const attempts = async (handle: WorkflowHandleWithFirstExecutionRunId, activity: string) => attemptsOf(await eventsOf(handle), activity);

/** Results of completed activities of one type, decoded. */
const results = async <T>(handle: WorkflowHandleWithFirstExecutionRunId, activity: string): Promise<T[]> =>
  resultsOf<T>(await eventsOf(handle), activity);

const ourSandboxes = async () => docker.listContainers({ all: true, filters: { label: ['pivotrl.sandbox=1', `pivotrl.owner=${OWNER}`] } });
/** Sandboxes whose worker is gone (live workers keep a few warm between activities; those are not left over). */
const orphanSandboxes = async () => (await ourSandboxes()).filter((c) => !isLiveProcess(c.Labels['pivotrl.pid'])).length;

const started = Date.now();
const mark = (what: string) => console.log(`[chaos +${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);

async function assertSameAsBaseline(workflowId: string, result: CampaignResult): Promise<void> {
  assert.equal(result.stage, 'done');
  assert.equal(result.step, STEPS);
  assert.deepEqual(await checkpointsOf(workflowId), baseline.hashes, 'every step reaches the checkpoint of the uninterrupted run');
  assert.equal(result.finalHash, baseline.result.finalHash);
  assert.deepEqual(result.pivots?.summary, baseline.result.pivots?.summary);
  assert.deepEqual(
    result.history.map((h) => h.batchReward),
    baseline.result.history.map((h) => h.batchReward),
  );
}

before(async () => {
  docker = await requireDocker();
  const dir = tempDir('pivotrl-chaos-');
  logFile = join(dir, 'workers.log');
  console.log(`chaos: worker output in ${logFile}`);
  // Payloads over 256 KB are refused: the campaign passes keys, never data (its continue-as-new state included).
  server = await spawnDevServer({
    dbFilename: join(dir, 'temporal.db'),
    extraArgs: ['--dynamic-config-value', 'limit.blobSize.error=262144'],
  });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
  tiny = tinyCampaign({ address: server.address, queue: QUEUE, steps: STEPS, trainTasks: 16 });
  store = new LocalStore((tiny.config.store as { root: string }).root);
  await Promise.all([startWorker('cpu'), startWorker('cpu'), startWorker('gpu')]);
  // The uninterrupted run every other run is compared with (same config and seed, another workflow id).
  mark('workers up');
  const handle = await start('chaos-baseline');
  const result = await handle.result();
  mark('baseline done');
  baseline = { result, hashes: await checkpointsOf('chaos-baseline') };
  assert.equal(result.stage, 'done');
  assert.equal(result.run, STEPS, 'the campaign continued as new after each step');
});

after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await connection?.close();
  await server?.stop();
  assert.equal((await ourSandboxes()).length, 0, 'no sandbox container is left behind');
});

test(
  'the GPU worker killed with SIGKILL mid-update: a new one finishes the campaign with the same checkpoints',
  { timeout: 300_000 },
  async () => {
    const handle = await start('chaos-gpu');
    await waitFor('an update in flight', () => pendingActivity(handle, 'update'));
    const gpu = workers.find((w) => w.kind === 'gpu')!;
    await gpu.kill9();
    mark('killed the GPU worker mid-update');
    workers.splice(workers.indexOf(gpu), 1);
    await startWorker('gpu');
    mark('a new GPU worker polls');
    const result = await handle.result();
    mark('campaign done');
    assert.ok(
      (await attempts(handle, 'update')).some((a) => a >= 2),
      'the interrupted update was retried',
    );
    await assertSameAsBaseline('chaos-gpu', result);
    assert.equal(await orphanSandboxes(), 0, 'no sandbox container is left behind');
  },
);

test(
  'a CPU worker killed with SIGKILL mid-verify: the retry resumes from the stored parts; same checkpoints',
  { timeout: 300_000 },
  async () => {
    const handle = await start('chaos-cpu');
    const firstPart = join(store.root, partsOf(campaignKeys('chaos-cpu').profileVerdicts(0)), 'part-000000.jsonl');
    await waitFor('the first part of the profiling verdicts', async () => existsSync(firstPart));
    const verify = await waitFor('the verify activity in flight', () => pendingActivity(handle, 'verify'));
    const pid = Number(verify.lastWorkerIdentity?.split('@')[0]);
    const victim = workers.find((w) => w.kind === 'cpu' && w.pgid === processGroupOf(pid));
    assert.ok(victim, `the worker running verify (${verify.lastWorkerIdentity}) is one of ours`);
    await victim.kill9();
    mark('killed a CPU worker mid-verify');
    workers.splice(workers.indexOf(victim), 1);
    await startWorker('cpu'); // reaps the sandboxes the killed worker left
    mark('a new CPU worker polls');
    const result = await handle.result();
    mark('campaign done');
    assert.ok(
      (await attempts(handle, 'verify')).some((a) => a >= 2),
      'the interrupted verify was retried',
    );
    const resumed = (await results<{ resumedParts?: number }>(handle, 'verify')).map((r) => r.resumedParts ?? 0);
    assert.equal(resumed[0], 1, 'the retried profiling verify read its first part back instead of verifying it again');
    await assertSameAsBaseline('chaos-cpu', result);
    assert.equal(await orphanSandboxes(), 0, 'no sandbox container is left behind');
  },
);

test(
  'the Temporal server stopped mid-campaign and started again on its database: the campaign finishes the same',
  { timeout: 300_000 },
  async () => {
    const handle = await start('chaos-server');
    await waitFor('the update stage', async () => (await handle.query(progressQuery)).stage === 'update');
    await server.stop();
    mark('server stopped');
    await sleep(2000);
    await server.start();
    mark('server started again');
    // Workers reconnect on their own; any that gave up is started again.
    for (const w of [...workers]) {
      const code = await Promise.race([w.exited, sleep(0).then(() => 'running' as const)]);
      if (code !== 'running') {
        mark(`a ${w.kind} worker exited (${code}); starting another`);
        workers.splice(workers.indexOf(w), 1);
        await startWorker(w.kind);
      }
    }
    const result = await handle.result();
    mark('campaign done');
    await assertSameAsBaseline('chaos-server', result);
    assert.equal(await orphanSandboxes(), 0, 'no sandbox container is left behind');
  },
);

test(
  'an update that fails right after writing its checkpoint is retried into the same, single checkpoint',
  { timeout: 300_000 },
  async () => {
    // In-process workers on their own queues: the GPU worker's update fails on its first attempt of each step after
    // the checkpoint files are written: at step 1 before its metrics and summary (they are removed, as if the worker
    // died between the writes), at step 2 after everything.
    const queue = 'chaos-inject';
    const native = await NativeConnection.connect({ address: server.address });
    const cpu = await createCpuWorker({ connection: native, namespace: 'default', taskQueue: `${queue}-cpu` });
    const engines = new Map<string, PolicyEngine>();
    const engineFor = (s: StoreConfig) => {
      const key = JSON.stringify(s);
      if (!engines.has(key)) engines.set(key, openPolicyEngine({ store: s, onLog: () => {} }));
      return engines.get(key)!;
    };
    const real = createGpuActivities(engineFor);
    const injected: string[] = [];
    const gpu = await Worker.create({
      connection: native,
      taskQueue: `${queue}-gpu`,
      activities: {
        ...real,
        async update(input: Parameters<typeof real.update>[0]) {
          const result = await real.update(input);
          if (Context.current().info.attempt === 1) {
            if (input.step === 1) {
              await store.delete(`${input.out}/metrics.json`);
              await store.delete(`${input.out}/update.json`);
            }
            injected.push(`step ${input.step}`);
            throw new Error(`injected: the worker is lost after writing checkpoint ${input.out}`);
          }
          return result;
        },
      },
    });
    try {
      const handle = await start('chaos-inject', queue);
      const result = await gpu.runUntil(cpu.worker.runUntil(handle.result()));
      assert.deepEqual(injected, ['step 1', 'step 2']);
      assert.deepEqual(await attempts(handle, 'update'), [2, 2]);
      await assertSameAsBaseline('chaos-inject', result);
    } finally {
      await cpu.close();
      await Promise.all([...engines.values()].map((e) => e.close()));
      await native.close();
    }
  },
);
