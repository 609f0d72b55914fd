// A raw Temporal client skips the CLI's config checks: the workflows and the activities check their inputs
// themselves. A hostile config (a sampler key read from the worker's AWS secret, a plain-http endpoint, a data path
// outside the data roots, unbounded concurrency, a timeout past setTimeout's limit) fails as bad input, and nothing
// reaches the endpoint. Also the path confinement and the S3 endpoint rule, unit by unit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ingestStage } from '../../activities/ingest';
import { createGenerateActivities } from '../../activities/generate';
import { createVerifyActivities } from '../../activities/verify';
import { assertUnderDataRoots, dataRoots } from '../../pipeline/data-roots';
import { BadInputError } from '../../pipeline/ingest';
import { StoreEndpointError, storeAsWorkerReachesIt } from '../../store/worker-endpoint';
import { WORKFLOW_OF } from '../../workflows/methods';
import { startTestTemporal, type TestTemporal } from '../../harness/temporal';
import { mockActivities, mockConfig, withMockWorkers } from '../support/mock-campaign';
import { tempDir } from '../../harness/temp-dir';

let temporal: TestTemporal;
let server: Server;
let requests = 0;
let endpoint: string;
before(async () => {
  temporal = await startTestTemporal();
  server = createServer((req, res) => {
    requests++;
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`;
  process.env.AWS_SECRET_ACCESS_KEY = 'canary-secret';
});
after(async () => {
  await temporal?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

const hostileSampler = () => ({ kind: 'openai' as const, baseUrl: endpoint, model: 'm', apiKeyEnv: 'AWS_SECRET_ACCESS_KEY' });

/** A config as a raw client could send it: a hostile sampler, data path, concurrency and timeout, no train steps. */
function hostileConfig(queue: string, method: 'pivotrl' | 'sft' | 'e2e-rl') {
  const config = mockConfig({ steps: 0, queue, address: temporal.address });
  return {
    ...config,
    method,
    data: { ...config.data, trajectories: ['/proc/self/environ'] },
    policy: { ...config.policy, sampler: hostileSampler() },
    verify: { ...config.verify, concurrency: 1_000_000, actionTimeoutMs: 2 ** 31 },
  };
}

for (const method of ['pivotrl', 'sft', 'e2e-rl'] as const) {
  test(`${method}: a workflow started by a raw client with a hostile config fails at once as invalid, before any activity`, async () => {
    const calls: string[] = [];
    const queue = `hostile-${method}`;
    const acts = mockActivities(calls);
    // The real generate activity: were it reached, it would send the AWS secret to the counting server.
    Object.assign(
      acts.gpu,
      createGenerateActivities(() => assert.fail('no local engine in this test')),
    );
    const err = await withMockWorkers(temporal.env.nativeConnection, queue, acts, async () => {
      const handle = await temporal.env.client.workflow.start(WORKFLOW_OF[method], {
        taskQueue: `${queue}-cpu`,
        workflowId: `wf-${queue}`,
        args: [{ campaignId: `wf-${queue}`, config: hostileConfig(queue, method) as never }],
      });
      return handle.result().then(
        () => assert.fail('the workflow completed'),
        (e: unknown) => e,
      );
    });
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const cause = err.cause;
    assert.ok(cause instanceof ApplicationFailure, String(cause));
    assert.equal(cause.type, 'InvalidConfig');
    assert.equal(cause.nonRetryable, true);
    const where = `campaign wf-${queue}`;
    for (const line of [
      'invalid campaign config',
      `${where}: policy.sampler.apiKeyEnv: must start with PIVOTRL_SAMPLER_`,
      `${where}: verify.concurrency: Too big`,
      `${where}: verify.actionTimeoutMs: Too big`,
    ])
      assert.ok(cause.message.includes(line), `${line}\nnot in\n${cause.message}`);
    assert.deepEqual(calls, []);
    assert.equal(requests, 0);
  });
}

test('a plain-http sampler endpoint that is not loopback is refused with the message the CLI prints', async () => {
  const calls: string[] = [];
  const config = mockConfig({ steps: 0, queue: 'hostile-url', address: temporal.address });
  const sampler = { kind: 'openai', baseUrl: 'http://example.com/v1', model: 'm', apiKeyEnv: 'PIVOTRL_SAMPLER_KEY' };
  const err = await withMockWorkers(temporal.env.nativeConnection, 'hostile-url', mockActivities(calls), () =>
    temporal.env.client.workflow
      .execute(WORKFLOW_OF.pivotrl, {
        taskQueue: 'hostile-url-cpu',
        workflowId: 'wf-hostile-url',
        args: [{ campaignId: 'c', config: { ...config, policy: { ...config.policy, sampler } } as never }],
      })
      .catch((e: unknown) => e),
  );
  assert.ok(err instanceof WorkflowFailedError);
  assert.equal(
    err.cause?.message,
    'invalid campaign config\ncampaign c: policy.sampler.baseUrl: must be https unless its host is loopback (127.0.0.0/8, localhost, ::1)',
  );
  assert.deepEqual(calls, []);
});

/** The activity's failure, checked to be non-retryable bad input; returns its message. */
async function badInputOf(run: Promise<unknown>): Promise<string> {
  const err = await run.then(
    () => assert.fail('the activity succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.nonRetryable, true);
  assert.equal(err.type, 'BadInput');
  return err.message;
}

test('the activities re-check the settings they get: a hostile sampler or verify setting fails for good, nothing is sent', async () => {
  const { generate } = createGenerateActivities(() => assert.fail('no local engine in this test'));
  const sampling = { n: 2, temperature: 1, topP: 1, seed: 1, sampler: hostileSampler() };
  const store = { kind: 'local' as const, root: tempDir('pivotrl-hostile-') };
  const input = { campaignId: 'c', store, checkpoint: 'x', prompts: 'p', out: 'o', sampling };
  const message = await badInputOf(new MockActivityEnvironment().run(generate, input as never));
  assert.match(message, /generate input: sampling: sampler\.apiKeyEnv: must start with PIVOTRL_SAMPLER_/);
  assert.equal(requests, 0);

  const { verify } = createVerifyActivities(() => assert.fail('no verifier in this test'));
  const verifyInput = {
    campaignId: 'c',
    store,
    turns: 't',
    samples: 's',
    out: 'o',
    verifier: 'functional',
    concurrency: 1e6,
    actionTimeoutMs: 2 ** 31,
  };
  const verifyMessage = await badInputOf(new MockActivityEnvironment().run(verify, verifyInput as never));
  assert.match(verifyMessage, /verify input: concurrency: Too big/);
  assert.match(verifyMessage, /verify input: actionTimeoutMs: Too big/);
});

test('the ingest activity opens data only under PIVOTRL_DATA_ROOTS: a path outside fails for good, naming field and path', async () => {
  const root = tempDir('pivotrl-roots-');
  process.env.PIVOTRL_DATA_ROOTS = root;
  const input = {
    campaignId: 'c',
    store: { kind: 'local' as const, root: join(root, 'store') },
    trajectories: ['/proc/self/environ'],
    heldoutTasks: join(root, 'h.jsonl'),
    ood: join(root, 'o.jsonl'),
    shardSize: 4,
    heldoutLimit: 1,
    oodLimit: 1,
    baseCheckpoint: join(root, 'pi0'),
  };
  const message = await badInputOf(new MockActivityEnvironment().run(ingestStage, input));
  assert.match(message, /^data\.trajectories\.0: \/proc\/self\/environ is outside the data roots/);
  assert.ok(message.includes(`(${root};`), message);
});

test('data paths are confined after resolving .. and symlinks; PIVOTRL_DATA_ROOTS lists the roots, the working directory by default', () => {
  const root = tempDir('pivotrl-roots-');
  mkdirSync(join(root, 'data'));
  writeFileSync(join(root, 'data', 'train.jsonl'), '');
  symlinkSync('/etc/hostname', join(root, 'data', 'escape.jsonl'));
  symlinkSync(join(root, 'data'), join(root, 'linked'));
  const roots = [join(root, 'data')];
  assertUnderDataRoots([['a', join(root, 'data', 'train.jsonl')]], roots);
  assertUnderDataRoots([['a', join(root, 'linked', 'train.jsonl')]], roots); // a symlink to inside stays inside
  assertUnderDataRoots([['a', join(root, 'data', 'not-yet.jsonl')]], roots); // missing: ingest names it
  for (const outside of [
    join(root, 'data', '..', 'x.jsonl'),
    join(root, 'data', 'escape.jsonl'),
    '/proc/self/environ',
    `${root}/data-other/x`,
  ]) {
    assert.throws(
      () => assertUnderDataRoots([['data.ood', outside]], roots),
      (err: Error) => err instanceof BadInputError && err.message.startsWith(`data.ood: ${outside} is outside the data roots`),
      outside,
    );
  }
  assert.deepEqual(dataRoots({}), [process.cwd()]);
  assert.deepEqual(dataRoots({ PIVOTRL_DATA_ROOTS: `${root}/data::${root}/linked` }), [join(root, 'data'), join(root, 'data')]);
});

test('a worker sends its S3 keys only to its own endpoint, or without one to an https or loopback endpoint', () => {
  const s3 = (endpoint?: string) => ({ kind: 's3' as const, bucket: 'b', endpoint, region: 'us-east-1', prefix: '', forcePathStyle: true });
  const local = { kind: 'local' as const, root: '/tmp/store' };
  assert.deepEqual(storeAsWorkerReachesIt(local, 'http://s3:7070'), local);
  // With the worker's endpoint: it is always the one used; the config's may name it, or the loopback the client saw.
  for (const asked of [undefined, 'http://s3:7070', 'http://s3:7070/', 'http://127.0.0.1:7070'])
    assert.deepEqual(storeAsWorkerReachesIt(s3(asked), 'http://s3:7070'), s3('http://s3:7070'));
  assert.throws(() => storeAsWorkerReachesIt(s3('https://evil.example.com'), 'http://s3:7070'), StoreEndpointError);
  // Without: https or loopback only (absent: AWS S3 itself).
  for (const asked of [undefined, 'https://s3.example.com', 'http://127.0.0.1:7070', 'http://localhost:9000'])
    assert.deepEqual(storeAsWorkerReachesIt(s3(asked), undefined), s3(asked));
  assert.throws(
    () => storeAsWorkerReachesIt(s3('http://evil.example.com'), undefined),
    /store\.endpoint: http:\/\/evil\.example\.com must be https or loopback, or this worker's PIVOTRL_S3_ENDPOINT/,
  );
});
