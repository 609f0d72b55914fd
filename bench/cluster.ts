// The production stack against the dev server (run as root: `npx tsx bench/cluster.ts [--steps 2] [--train-tasks 16] [--repeats 1]`).
//
//  (a) baseline: the small campaign on a throwaway dev server (SQLite), local artefact store, two CPU workers and a
//      GPU worker as local processes (workers/*.ts);
//  (b) the same campaign (same config and seed) on the production stack (deploy/prod: Temporal on PostgreSQL, S3 on
//      versitygw) with the same workers each on its own host in a network namespace (deploy/hosts), reaching the
//      server and the bucket only over the network; ratio = wall(b) / wall(a), from start to result (stack and worker
//      start-up not counted). Runs alternate (a), (b), ...; the medians count.
//  From the histories of every run (all continued-as-new runs of a campaign): activity schedule-to-start latency
//  (ActivityTaskScheduled -> ActivityTaskStarted of the attempt that ran, p50 / p99), activities and history events
//  per 1,000 verified samples (the `samples` of every completed verify) and per update step (from the first
//  activity of step 1 to the completion of the last update, divided by the steps), and object-store bytes per
//  checkpoint (the S3 listing of a trained step's checkpoint).
// The last line printed is one JSON object.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import type { CampaignConfig } from '../core/config';
import { campaignKeys } from '../pipeline/keys';
import { pivotCampaign } from '../workflows/campaign';
import { tinyCampaign } from '../harness/campaign';
import { eventsOf, type HistoryEvent } from '../harness/campaign-events';
import { hostsIn, startProdStack, type WorkerKind } from '../harness/hosts';
import { spawnDevServer } from '../harness/temporal';
import { startWorkerProcess, type WorkerProcess } from '../harness/worker-process';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '2' },
    'train-tasks': { type: 'string', default: '16' },
    repeats: { type: 'string', default: '1' },
  },
});
const STEPS = Number(args.steps);
const REPEATS = Number(args.repeats);
const QUEUE = 'bench-cluster';
const PORT_OFFSETS = [20_000, 20_100, 20_200]; // the stack's ports: the defaults + one of these (apart from the test's)
const HOSTS: { name: string; n: number; kind: WorkerKind }[] = [
  { name: 'bcpu1', n: 31, kind: 'cpu' },
  { name: 'bcpu2', n: 32, kind: 'cpu' },
  { name: 'bgpu1', n: 41, kind: 'gpu' },
];
const RUN = Date.now().toString(36);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2;
};
const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const queues = { PIVOTRL_CPU_QUEUE: `${QUEUE}-cpu`, PIVOTRL_GPU_QUEUE: `${QUEUE}-gpu`, PIVOTRL_ALLOW_CPU: '1' };

function benchConfig(base: CampaignConfig, address: string, namespace: string, store: CampaignConfig['store']): CampaignConfig {
  return {
    ...base,
    data: { ...base.data, shardSize: 32 },
    store,
    train: { ...base.train, steps: STEPS, batchPivots: 8, groupSize: 8 },
    temporal: { ...base.temporal, address, namespace, stepsPerRun: 1 },
  };
}

interface RunStats {
  seconds: number;
  finalHash: string | null;
  events: HistoryEvent[];
}

async function runCampaign(client: Client, id: string, config: CampaignConfig): Promise<RunStats> {
  const t0 = performance.now();
  const handle = await client.workflow.start(pivotCampaign, {
    taskQueue: `${QUEUE}-cpu`,
    workflowId: id,
    args: [{ campaignId: id, config }],
  });
  const result = await handle.result();
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, finalHash: result.finalHash ?? null, events: await eventsOf(client, id, handle.firstExecutionRunId) };
}

const decode = (data: Uint8Array | null | undefined) => (data ? JSON.parse(Buffer.from(data).toString('utf8')) : undefined);
const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

/** What the histories say: schedule-to-start latencies, activity and event counts, verified samples, per-step counts. */
function analyse(events: HistoryEvent[]) {
  // By event id, which starts again at 1 in each continued-as-new run: read in order, the latest is the one meant.
  const scheduled = new Map<string, { at: number; type: string }>();
  const latencies: number[] = [];
  let activities = 0;
  let verified = 0;
  let firstStep = -1;
  let lastUpdate = -1;
  events.forEach((e, i) => {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      activities++;
      scheduled.set(String(e.eventId), { at: ms(e.eventTime), type: s.activityType?.name ?? '' });
      if (firstStep < 0 && String(decode(e.userMetadata?.summary?.data) ?? '').startsWith('step 1:')) firstStep = i;
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) latencies.push(ms(e.eventTime) - scheduled.get(String(started.scheduledEventId))!.at);
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const type = scheduled.get(String(done.scheduledEventId))?.type;
      if (type === 'verify') verified += (decode(done.result?.payloads?.[0]?.data) as { samples: number }).samples;
      if (type === 'update') lastUpdate = i;
    }
  });
  const stepEvents = events.slice(firstStep, lastUpdate + 1);
  return {
    latencies,
    activities,
    events: events.length,
    verified,
    stepActivities: stepEvents.filter((e) => e.activityTaskScheduledEventAttributes).length / STEPS,
    stepEvents: stepEvents.length / STEPS,
  };
}

function summary(runs: RunStats[]) {
  const all = runs.map((r) => analyse(r.events));
  const latencies = all.flatMap((a) => a.latencies);
  const per1000 = (k: 'activities' | 'events') => median(all.map((a) => (a[k] * 1000) / a.verified));
  return {
    wall_s: round(median(runs.map((r) => r.seconds))),
    schedule_to_start_p50_ms: round(quantile(latencies, 0.5)),
    schedule_to_start_p99_ms: round(quantile(latencies, 0.99)),
    verified_samples: all[0].verified,
    activities: all[0].activities,
    events: all[0].events,
    activities_per_1000_samples: round(per1000('activities')),
    events_per_1000_samples: round(per1000('events')),
    activities_per_step: round(median(all.map((a) => a.stepActivities))),
    events_per_step: round(median(all.map((a) => a.stepEvents))),
  };
}

async function checkpointBytes(endpoint: string, bucket: string, campaignId: string): Promise<number> {
  const s3 = new S3Client({ endpoint, region: process.env.AWS_REGION, forcePathStyle: true });
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${campaignKeys(campaignId).checkpoint(1)}/` }));
  s3.destroy();
  return (listed.Contents ?? []).reduce((a, o) => a + (o.Size ?? 0), 0);
}

// (a) the dev server and local worker processes.
const dev = await spawnDevServer({ dbFilename: join(mkdtempSync(join(tmpdir(), 'pivotrl-bench-cluster-')), 'temporal.db') });
const devConnection = await Connection.connect({ address: dev.address });
const devClient = new Client({ connection: devConnection });
const tiny = tinyCampaign({ address: dev.address, queue: QUEUE, steps: STEPS, trainTasks: Number(args['train-tasks']) });
const devConfig = benchConfig(tiny.config, dev.address, 'default', tiny.config.store);
const devWorkers: WorkerProcess[] = await Promise.all(
  HOSTS.map((h) => startWorkerProcess(h.kind, { TEMPORAL_ADDRESS: dev.address, TEMPORAL_NAMESPACE: 'default', ...queues })),
);

// (b) the production stack and the hosts.
const stack = await startProdStack(PORT_OFFSETS);
const hosts = hostsIn(mkdtempSync(join(tmpdir(), 'pivotrl-bench-hosts-')));
for (const h of HOSTS) {
  await hosts.remove(h.name);
  await hosts.add(h.name, h.n);
}
await Promise.all(HOSTS.map((h) => hosts.start(h.name, h.kind, { ...stack.workerEnv, ...queues })));
const prodConnection = await Connection.connect(stack.connection);
const prodClient = new Client({ connection: prodConnection, namespace: stack.namespace, dataConverter: stack.dataConverter });
const prodConfig = benchConfig(tiny.config, stack.hostAddress, stack.namespace, stack.store);

const devRuns: RunStats[] = [];
const prodRuns: RunStats[] = [];
try {
  for (let r = 0; r < REPEATS; r++) {
    devRuns.push(await runCampaign(devClient, `bench-dev-${RUN}-${r}`, devConfig));
    console.log(`dev server, run ${r + 1}: ${devRuns.at(-1)!.seconds.toFixed(1)} s`);
    prodRuns.push(await runCampaign(prodClient, `bench-prod-${RUN}-${r}`, prodConfig));
    console.log(`production stack + hosts, run ${r + 1}: ${prodRuns.at(-1)!.seconds.toFixed(1)} s`);
  }
  const hashes = new Set([...devRuns, ...prodRuns].map((r) => r.finalHash));
  if (hashes.size !== 1) throw new Error(`the runs reached different final checkpoints: ${[...hashes].join(', ')}`);
  const a = summary(devRuns);
  const b = summary(prodRuns);
  const s3 = stack.store as { endpoint: string; bucket: string };
  const bytes = await checkpointBytes(s3.endpoint, s3.bucket, `bench-prod-${RUN}-0`);
  console.log(`steps ${STEPS}, repeats ${REPEATS}; (a) dev server + local processes, (b) production stack + hosts in namespaces`);
  for (const [label, s] of [
    ['(a)', a],
    ['(b)', b],
  ] as const) {
    console.log(
      `${label} wall ${s.wall_s} s; schedule-to-start p50 ${s.schedule_to_start_p50_ms} ms, p99 ${s.schedule_to_start_p99_ms} ms; ` +
        `${s.activities} activities, ${s.events} events for ${s.verified_samples} verified samples ` +
        `(${s.activities_per_1000_samples} / ${s.events_per_1000_samples} per 1,000); per update step ${s.activities_per_step} activities, ${s.events_per_step} events`,
    );
  }
  console.log(`ratio (b)/(a) = ${(b.wall_s / a.wall_s).toFixed(2)}; checkpoint in the bucket: ${bytes} bytes`);
  console.log(
    JSON.stringify({
      steps: STEPS,
      repeats: REPEATS,
      dev_wall_s: a.wall_s,
      prod_wall_s: b.wall_s,
      ratio: round(b.wall_s / a.wall_s, 2),
      schedule_to_start_p50_ms: b.schedule_to_start_p50_ms,
      schedule_to_start_p99_ms: b.schedule_to_start_p99_ms,
      dev_schedule_to_start_p50_ms: a.schedule_to_start_p50_ms,
      dev_schedule_to_start_p99_ms: a.schedule_to_start_p99_ms,
      verified_samples: b.verified_samples,
      activities_per_1000_samples: b.activities_per_1000_samples,
      events_per_1000_samples: b.events_per_1000_samples,
      activities_per_step: b.activities_per_step,
      events_per_step: b.events_per_step,
      checkpoint_bytes: bytes,
    }),
  );
} finally {
  await Promise.all(devWorkers.map((w) => w.stop()));
  for (const h of HOSTS) await hosts.stop(h.name);
  for (const h of HOSTS) await hosts.remove(h.name);
  await Promise.all([devConnection.close(), prodConnection.close()]);
  await dev.stop();
  await stack.down();
}
