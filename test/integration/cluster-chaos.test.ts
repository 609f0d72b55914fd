// Chaos on the production stack: Temporal's server on PostgreSQL, S3 (versitygw) for the artefacts, and worker
// hosts that reach them only over the network, each in its own network namespace (two CPU hosts, one GPU host;
// deploy/hosts/hosts.sh). The campaign config names the bucket at 127.0.0.1, as its client sees it; the hosts reach it
// at the bridge address (PIVOTRL_S3_ENDPOINT), their loopback having nothing. Each fault hits its own campaign (same config and seed as an uninterrupted one): the GPU
// host's link cut mid-update and restored later; every process of a CPU host killed mid-verify and a fresh host
// started in its place; the Temporal server restarted mid-campaign. Each time the campaign reaches the uninterrupted
// run's final checkpoint, the bucket holds exactly one checkpoint per update step, and no sandbox is left.
// Needs root (network namespaces), Docker with the sandbox image, Go-built binaries and Debian's PostgreSQL (deploy/prod).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DockerClient } from '../../sandboxes/engine';
import { Client, Connection, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { CampaignConfig } from '../../core/config';
import { checkpointHash } from '../../policy/checkpoint';
import { openStore, type ArtefactStore } from '../../store';
import { campaignKeys } from '../../pipeline/keys';
import { partsOf } from '../../pipeline/parts';
import { HOST_LABEL, SANDBOX_LABEL, isLiveProcess } from '../../sandboxes/reaper';
import type { CampaignResult } from '../../pipeline/campaign-state';
import { pivotCampaign, progressQuery } from '../../workflows/campaign';
import { requireDocker } from '../../harness/docker';
import { tinyCampaign, type TinyCampaign } from '../../harness/campaign';
import { attemptsOf, eventsOf, pendingActivity, waitFor } from '../../harness/campaign-events';
import { hostsIn, startProdStack, type Hosts, type ProdStack, type WorkerKind } from '../../harness/hosts';
import { tempDir } from '../../harness/temp-dir';

const STEPS = 2;
const QUEUE = 'cluster';
// Ports of this test's own stack: the defaults + one of these (a stack on the default ports is left alone).
const PORT_OFFSETS = [10_000, 10_100, 10_200, 10_300];
const HOSTS: { name: string; n: number; kind: WorkerKind }[] = [
  { name: 'cpu1', n: 11, kind: 'cpu' },
  { name: 'cpu2', n: 12, kind: 'cpu' },
  { name: 'gpu1', n: 21, kind: 'gpu' },
];
const CPU_HOSTS = HOSTS.filter((h) => h.kind === 'cpu').map((h) => h.name);
// Workflow ids unique to this run (the namespace keeps closed campaigns for its retention period).
const RUN = Date.now().toString(36);

let docker: DockerClient;
let stack: ProdStack;
let hosts: Hosts;
let connection: Connection;
let client: Client;
let tiny: TinyCampaign;
let store: ArtefactStore;
let baseline: { result: CampaignResult; checkpoints: string[][]; hashes: string[] };

const started = Date.now();
const mark = (what: string) => console.log(`[cluster +${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);

function config(): CampaignConfig {
  const c = tiny.config;
  return {
    ...c,
    // One profiling shard of all 32 candidates: its verification is two stored parts (VERIFY_PART_TURNS = 16).
    data: { ...c.data, shardSize: 32 },
    store: stack.store,
    train: { ...c.train, steps: STEPS, batchPivots: 8, groupSize: 8 },
    temporal: { ...c.temporal, address: stack.hostAddress, namespace: stack.namespace, stepsPerRun: 1 },
  };
}

async function startHost(name: string): Promise<void> {
  const { n, kind } = HOSTS.find((h) => h.name === name)!;
  await hosts.add(name, n);
  await hosts.start(name, kind, {
    ...stack.workerEnv,
    PIVOTRL_CPU_QUEUE: `${QUEUE}-cpu`,
    PIVOTRL_GPU_QUEUE: `${QUEUE}-gpu`,
    PIVOTRL_ALLOW_CPU: '1',
    // Every run repeats the baseline's actions: without the memo the verify activities do real work to interrupt.
    PIVOTRL_VERIFY_MEMO: '0',
  });
}

async function start(name: string): Promise<WorkflowHandleWithFirstExecutionRunId<typeof pivotCampaign>> {
  const workflowId = `cluster-${name}-${RUN}`;
  return client.workflow.start(pivotCampaign, {
    taskQueue: `${QUEUE}-cpu`,
    workflowId,
    args: [{ campaignId: workflowId, config: config() }],
  });
}

/**
 * The campaign's checkpoints in the bucket: exactly steps 0..STEPS, each with its objects (names), and the hash of
 * each trained step.
 */
async function checkpointsOf(campaignId: string): Promise<{ checkpoints: string[][]; hashes: string[] }> {
  const prefix = `${campaignKeys(campaignId).root}/checkpoints/`;
  const byStep = new Map<string, string[]>();
  for (const key of await store.list(prefix)) {
    const [step, ...rest] = key.slice(prefix.length).split('/');
    byStep.set(step, [...(byStep.get(step) ?? []), rest.join('/')]);
  }
  assert.deepEqual(
    [...byStep.keys()].sort(),
    Array.from({ length: STEPS + 1 }, (_, i) => `step-${String(i).padStart(6, '0')}`),
    'one checkpoint per update step in the bucket',
  );
  const hashes = [];
  for (let step = 1; step <= STEPS; step++) hashes.push(await checkpointHash(store, campaignKeys(campaignId).checkpoint(step)));
  return { checkpoints: [...byStep.entries()].sort().map(([, objects]) => objects.sort()), hashes };
}

/** Sandboxes our CPU hosts made whose worker process is gone (live workers keep a few warm between activities). */
async function leftoverSandboxes(): Promise<number> {
  const ours = await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABEL}=1`] } });
  return ours.filter((c) => CPU_HOSTS.includes(c.Labels[HOST_LABEL]) && !isLiveProcess(c.Labels['pivotrl.pid'])).length;
}

async function assertSameAsBaseline(handle: WorkflowHandleWithFirstExecutionRunId, result: CampaignResult): Promise<void> {
  assert.equal(result.stage, 'done');
  assert.equal(result.step, STEPS);
  const { checkpoints, hashes } = await checkpointsOf(handle.workflowId);
  assert.deepEqual(checkpoints, baseline.checkpoints, 'each checkpoint holds the same objects as in the uninterrupted run');
  assert.deepEqual(hashes, baseline.hashes, 'every step reaches the checkpoint of the uninterrupted run');
  assert.equal(result.finalHash, baseline.result.finalHash);
  assert.equal(await leftoverSandboxes(), 0, 'no sandbox is left behind');
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'network namespaces need root');
  docker = await requireDocker();
  stack = await startProdStack(PORT_OFFSETS);
  mark(`production stack up (state ${stack.state})`);
  const logs = tempDir('pivotrl-hosts-');
  hosts = hostsIn(logs);
  for (const h of HOSTS) await hosts.remove(h.name); // leftovers of an interrupted earlier run
  await Promise.all(HOSTS.map((h) => startHost(h.name)));
  mark(`hosts up (worker logs in ${logs}/hosts)`);
  connection = await Connection.connect(stack.connection);
  client = new Client({ connection, namespace: stack.namespace, dataConverter: stack.dataConverter });
  tiny = tinyCampaign({ address: stack.hostAddress, queue: QUEUE, steps: STEPS, trainTasks: 16 });
  store = openStore(stack.store);
  const handle = await start('baseline');
  const result = await handle.result();
  mark('baseline done');
  assert.equal(result.stage, 'done');
  baseline = { result, ...(await checkpointsOf(handle.workflowId)) };
});

after(async () => {
  await Promise.all(HOSTS.map((h) => hosts?.stop(h.name)));
  const left = docker
    ? (await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABEL}=1`] } })).filter((c) =>
        CPU_HOSTS.includes(c.Labels[HOST_LABEL]),
      )
    : [];
  for (const h of HOSTS) await hosts?.remove(h.name);
  await connection?.close();
  await stack?.down();
  assert.equal(left.length, 0, 'the hosts stopped leave no sandbox');
});

test("the GPU host's link cut mid-update and restored later: the same checkpoints", { timeout: 300_000 }, async () => {
  const handle = await start('gpu-link');
  await waitFor('an update in flight', () => pendingActivity(handle, 'update'));
  await hosts.cut('gpu1');
  mark('cut the GPU host mid-update');
  // Restored once the server has taken the host as lost (no heartbeat) and scheduled the update again.
  await waitFor(
    'the update scheduled again',
    async () => ((await pendingActivity(handle, 'update', 'scheduled'))?.attempt ?? 0) >= 2,
    90_000,
  );
  await hosts.restore('gpu1');
  mark('restored the link');
  const result = await handle.result();
  mark('campaign done');
  assert.ok(
    attemptsOf(await eventsOf(client, handle.workflowId, handle.firstExecutionRunId), 'update').some((a) => a >= 2),
    'the cut-off update was retried',
  );
  await assertSameAsBaseline(handle, result);
});

test('every process of a CPU host killed mid-verify, a fresh host in its place: the same checkpoints', { timeout: 300_000 }, async () => {
  const handle = await start('cpu-kill');
  const firstPart = `${partsOf(campaignKeys(handle.workflowId).profileVerdicts(0))}/part-000000.jsonl`;
  await waitFor('the first part of the profiling verdicts', () => store.exists(firstPart));
  const verify = await waitFor('the verify activity in flight', () => pendingActivity(handle, 'verify'));
  const victim = verify.lastWorkerIdentity?.split('@')[1] ?? '';
  assert.ok(CPU_HOSTS.includes(victim), `verify runs on one of our CPU hosts (identity ${verify.lastWorkerIdentity})`);
  await hosts.kill(victim);
  mark(`killed every process of ${victim} mid-verify`);
  await hosts.remove(victim);
  await startHost(victim); // a fresh namespace and worker under the same host name: it removes what its predecessor left
  mark(`a fresh ${victim} polls`);
  assert.match(hosts.log(victim, 'cpu'), /removed \d+ leftover sandbox/, 'the fresh host removed its predecessor’s sandboxes');
  const result = await handle.result();
  mark('campaign done');
  assert.ok(
    attemptsOf(await eventsOf(client, handle.workflowId, handle.firstExecutionRunId), 'verify').some((a) => a >= 2),
    'the interrupted verify was retried',
  );
  await assertSameAsBaseline(handle, result);
});

test('the Temporal server restarted mid-campaign: the same checkpoints', { timeout: 300_000 }, async () => {
  const handle = await start('server-restart');
  await waitFor('the update stage', async () => (await handle.query(progressQuery)).stage === 'update');
  await stack.restartTemporal();
  mark('server restarted');
  // Workers reconnect on their own; a host whose worker gave up gets a new one.
  for (const h of HOSTS) {
    if ((await hosts.processes(h.name)) === 0) {
      mark(`the worker of ${h.name} exited; starting another`);
      await startHost(h.name);
    }
  }
  const result = await handle.result();
  mark('campaign done');
  await assertSameAsBaseline(handle, result);
});
