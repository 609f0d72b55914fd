// A tiny campaign whose artefact store is S3 (a real versitygw on a free 127.0.0.1 port), run by a CPU and a GPU worker
// as child processes the way ops run them. While an update writes its checkpoint the object store is stopped, and
// started again a few seconds later: the update fails retryably, is retried, and the campaign finishes with exactly
// one checkpoint per step in the bucket and the same final hash as the same campaign on the local store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { CampaignConfig } from '../../core/config';
import { S3Store, S3StoreConfig } from '../../store';
import { campaignKeys } from '../../pipeline/keys';
import { pivotCampaign } from '../../workflows/campaign';
import { startTestTemporal, type TestTemporal } from '../../harness/temporal';
import { requireDocker } from '../../harness/docker';
import { tinyCampaign, type TinyCampaign } from '../../harness/campaign';
import { startWorkerProcess, type WorkerProcess } from '../../harness/worker-process';
import { startVersitygw, type TestObjectStore } from '../../harness/versitygw';
import { sleep, waitFor } from '../../harness/campaign-events';
import { tempDir } from '../../harness/temp-dir';

const QUEUE = 's3camp';
const STEPS = 2;
const BUCKET = 'pivotrl';

let temporal: TestTemporal;
let client: Client;
let s3: TestObjectStore;
let tiny: TinyCampaign;
let s3Store: S3Store;
const workers: WorkerProcess[] = [];

const started = Date.now();
const mark = (what: string) => console.log(`[s3-campaign +${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);

const s3Config = () => S3StoreConfig.parse({ kind: 's3', bucket: BUCKET, endpoint: s3.endpoint, prefix: 'campaigns-test' });

function start(workflowId: string, store: CampaignConfig['store']) {
  return client.workflow.start(pivotCampaign, {
    taskQueue: `${QUEUE}-cpu`,
    workflowId,
    args: [{ campaignId: workflowId, config: { ...tiny.config, store } }],
  });
}

async function pendingUpdate(handle: WorkflowHandle) {
  const pending = (await handle.describe()).raw.pendingActivities ?? [];
  return pending.find((p) => p.activityType?.name === 'update');
}

before(async () => {
  await requireDocker();
  s3 = await startVersitygw();
  await s3.createBucket(BUCKET);
  Object.assign(process.env, s3.env);
  s3Store = new S3Store(s3Config());
  temporal = await startTestTemporal();
  client = new Client({ connection: temporal.env.connection });
  // The chaos tests' campaign (16 tasks, one profiling shard): it finds pivots, and its updates take a few seconds.
  tiny = tinyCampaign({ address: temporal.address, queue: QUEUE, steps: STEPS, trainTasks: 16 });
  tiny.config = {
    ...tiny.config,
    data: { ...tiny.config.data, shardSize: 32 },
    train: { ...tiny.config.train, batchPivots: 8, groupSize: 8 },
  };
  const logFile = join(tempDir('pivotrl-s3-campaign-'), 'workers.log');
  console.log(`s3-campaign: worker output in ${logFile}`);
  const env = {
    ...s3.env,
    TEMPORAL_ADDRESS: temporal.address,
    PIVOTRL_CPU_QUEUE: `${QUEUE}-cpu`,
    PIVOTRL_GPU_QUEUE: `${QUEUE}-gpu`,
    PIVOTRL_ALLOW_CPU: '1',
  };
  workers.push(...(await Promise.all([startWorkerProcess('cpu', env, { logFile }), startWorkerProcess('gpu', env, { logFile })])));
  mark('workers up');
});

after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  s3Store?.close();
  await temporal?.stop();
  await s3?.stop();
});

test(
  'the object store down while an update writes its checkpoint: retried, same result as on the local store',
  { timeout: 900_000 },
  async () => {
    const local = await (await start('s3-baseline-local', tiny.config.store)).result();
    mark(`baseline on the local store done: ${local.finalHash}`);
    assert.equal(local.stage, 'done');

    const handle = await start('s3-outage', s3Config());
    // Stop the store once an update is training (its inputs are read); keep it down until that update failed on a
    // checkpoint write, then a few seconds more. An attempt that failed on something else is let through and the
    // next one is caught instead.
    let outage: string | undefined;
    for (let attempt = 1; !outage && attempt <= 4; attempt++) {
      const running = await waitFor(
        'an update in flight',
        async () => {
          const p = await pendingUpdate(handle);
          return p && Number(p.state) === 2 ? p : undefined; // PENDING_ACTIVITY_STATE_STARTED
        },
        300_000,
      );
      await sleep(300);
      await s3.stop();
      mark(`object store stopped during update attempt ${running.attempt}`);
      const failed = await waitFor(
        'the update to fail while the store is down',
        async () => {
          const p = await pendingUpdate(handle);
          return p?.lastFailure && (p.attempt ?? 0) > (running.attempt ?? 1) ? p.lastFailure : undefined;
        },
        120_000,
      );
      mark(`update failed: ${failed.message}`);
      if (/unavailable \(put '[^']*\/checkpoints\/step-\d+\//.test(failed.message ?? '')) outage = failed.message!;
      await sleep(3000);
      await s3.start();
      mark('object store started again');
    }
    assert.ok(outage, 'an update failed writing its checkpoint while the object store was down');
    assert.match(outage, /ObjectStoreUnavailableError|is unavailable/);

    const result = await handle.result();
    mark(`campaign on S3 done: ${result.finalHash}`);
    assert.equal(result.stage, 'done');
    assert.equal(result.step, STEPS);
    assert.equal(result.finalHash, local.finalHash, 'same final checkpoint as the same campaign on the local store');
    assert.deepEqual(
      result.history.map((h) => h.batchReward),
      local.history.map((h) => h.batchReward),
    );

    const root = campaignKeys('s3-outage').root;
    const keys = await s3Store.list(`${root}/checkpoints/`);
    const steps = [...new Set(keys.map((k) => k.slice(`${root}/checkpoints/`.length).split('/')[0]))];
    assert.deepEqual(
      steps,
      Array.from({ length: STEPS + 1 }, (_, i) => `step-${String(i).padStart(6, '0')}`),
      'exactly one checkpoint per step (and pi0 as step 0) in the bucket',
    );
    for (const step of steps) {
      const files = keys.filter((k) => k.startsWith(`${root}/checkpoints/${step}/`));
      for (const f of ['model.json', 'weights.bin', 'SHA256'])
        assert.ok(files.includes(`${root}/checkpoints/${step}/${f}`), `${step}/${f}`);
      let bytes = 0;
      for (const f of files.filter((k) => /\/(model\.json|weights\.bin|SHA256)$/.test(k))) bytes += (await s3Store.get(f)).length;
      console.log(`s3-campaign: ${step}: ${bytes} bytes of checkpoint (model.json + weights.bin + SHA256) in the bucket`);
    }
  },
);

test('a campaign whose bucket does not exist fails at once, naming the bucket, without retries', { timeout: 120_000 }, async () => {
  const store = S3StoreConfig.parse({ kind: 's3', bucket: 'no-such-bucket', endpoint: s3.endpoint });
  const handle = await start('s3-missing-bucket', store);
  const err = await handle.result().then(
    () => assert.fail('the campaign finished without its bucket'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  const messages: string[] = [];
  for (let e: Error | undefined = err; e; e = e.cause as Error | undefined) messages.push(e.message);
  const expected = `bucket no-such-bucket does not exist at endpoint ${s3.endpoint}: create it or fix store.bucket`;
  assert.ok(messages.includes(expected), `the failure says "${expected}": ${messages.join(' <- ')}`);
  const failed = (await handle.fetchHistory()).events!.filter((e) => e.activityTaskFailedEventAttributes);
  assert.equal(failed.length, 1);
  assert.equal(failed[0].activityTaskFailedEventAttributes!.failure!.applicationFailureInfo!.type, 'ObjectStoreSetupError');
  const startedAttempts = (await handle.fetchHistory()).events!.flatMap((e) => e.activityTaskStartedEventAttributes?.attempt ?? []);
  assert.deepEqual(startedAttempts, [1], 'not retried');
});
