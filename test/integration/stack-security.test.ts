// The production stack's secure defaults (deploy/prod/up.sh), on a stack of the test's own (own state, free ports,
// services on 127.0.0.1): no default secret (refused, or generated into a 0600 file) and none on a command line; every
// service on the configured address only; the workers' S3 key limited to the bucket; the UI behind the login proxy,
// viewers refused write calls, ops passing them to the real UI server and Temporal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { startProdStack, type ProdStack } from '../../harness/hosts';
import { prodUpFailing, readStackEnv, readStackSecrets, stackSettings, type StackEnv, type StackSecrets } from '../../harness/prod-stack';
import { HttpsSession } from '../support/https';
import { tempDir } from '../../harness/temp-dir';

const run = promisify(execFile);
// Ports of their own (default + offset), apart from the stacks of cluster-chaos and of ops.
const PORT_OFFSETS = [12000, 12050, 12100];

let stack: ProdStack;
let env: StackEnv;
let secrets: StackSecrets;

before(async () => {
  stack = await startProdStack(PORT_OFFSETS, '127.0.0.1');
  env = readStackEnv(join(stack.state, 'prod', 'stack.env'));
  secrets = readStackSecrets(join(stack.state, 'prod', 'secrets.env'));
});
after(async () => {
  await stack?.down();
});

test('up.sh refuses a default or weak secret, says how to set one, and sets nothing up', async () => {
  const state = tempDir('pivotrl-weak-');
  try {
    for (const [name, value, why] of [
      ['PIVOTRL_PG_PASSWORD', 'temporal', /it is a known default \('temporal'\)/],
      ['PIVOTRL_S3_SECRET_KEY', 'pivotrl-secret', /it is a known default \('pivotrl-secret'\)/],
      ['PIVOTRL_S3_ACCESS_KEY', 'pivotrl', /it is a known default \('pivotrl'\)/],
      ['PIVOTRL_UI_OPS_PASSWORD', 'short', /it is shorter than 16 characters/],
    ] as const) {
      const failed = await prodUpFailing({ ...process.env, PIVOTRL_STATE: state, [name]: value });
      assert.notEqual(failed.code, 0);
      assert.match(failed.stderr, new RegExp(`ERROR: ${name} from the environment is refused: `));
      assert.match(failed.stderr, why);
      assert.match(failed.stderr, new RegExp(`Unset it to have deploy/prod/up.sh generate one .*openssl rand -hex 24`));
    }
    assert.deepEqual(readdirSync(state), [], 'nothing generated, built or started');
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('the secrets are generated into a 0600 file; workers get their own S3 key; no secret is on any command line', async () => {
  const prod = join(stack.state, 'prod');
  assert.equal(statSync(join(prod, 'secrets.env')).mode & 0o777, 0o600);
  assert.equal(statSync(join(prod, 'stack.env')).mode & 0o777, 0o600);
  assert.equal(statSync(join(prod, 'worker.env')).mode & 0o777, 0o600);
  assert.equal(env.AWS_ACCESS_KEY_ID, secrets.PIVOTRL_S3_WORKER_ACCESS_KEY);
  assert.equal(readStackEnv(join(prod, 'worker.env')).AWS_ACCESS_KEY_ID, secrets.PIVOTRL_S3_WORKER_ACCESS_KEY);
  for (const file of ['stack.env', 'worker.env']) {
    const text = readFileSync(join(prod, file), 'utf8');
    for (const root of [secrets.PIVOTRL_S3_SECRET_KEY, secrets.PIVOTRL_PG_PASSWORD, secrets.PIVOTRL_UI_OPS_PASSWORD]) {
      assert.ok(!text.includes(root), `${file} (for clients and workers) holds no root secret`);
    }
  }
  const { stdout: commandLines } = await run('ps', ['-eo', 'args'], { maxBuffer: 16 << 20 });
  assert.match(commandLines, new RegExp(`versitygw --port 127\\.0\\.0\\.1:\\d+ .*--iam-dir ${join(prod, 's3-iam')}`), 'the stack runs');
  // The payload key and the codec token (codec.env) are secrets too.
  const all = {
    ...secrets,
    PIVOTRL_PAYLOAD_KEYS: env.PIVOTRL_PAYLOAD_KEYS.split(':')[1],
    PIVOTRL_CODEC_TOKEN: env.TEMPORAL_CODEC_AUTH.slice(7),
  };
  for (const [name, value] of Object.entries(all)) {
    if (name.endsWith('ACCESS_KEY')) continue; // key ids are not secret
    assert.ok(!commandLines.includes(value), `${name} is on a command line`);
  }
  const logs = join(prod, 'logs');
  for (const log of readdirSync(logs)) {
    const text = readFileSync(join(logs, log), 'utf8');
    for (const [name, value] of Object.entries(all)) {
      if (!name.endsWith('ACCESS_KEY')) assert.ok(!text.includes(value), `${name} in ${log}`);
    }
  }
});

test('every service of the stack listens on the configured address (127.0.0.1) only', async () => {
  const prod = join(stack.state, 'prod');
  const run_ = join(prod, 'run');
  const pids = readdirSync(run_).map((f) => readFileSync(join(run_, f), 'utf8').trim());
  pids.push(readFileSync(join(prod, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  assert.equal(pids.length, 6, `temporal, ui, ui-proxy, codec, s3 and postgres: ${readdirSync(run_).join(', ')}`);
  const { stdout } = await run('ss', ['-ltnpH']);
  const sockets = stdout.split('\n').filter((line) => pids.some((pid) => line.includes(`pid=${pid},`)));
  assert.ok(sockets.length >= 9, `the stack's listeners:\n${sockets.join('\n')}`);
  for (const line of sockets) assert.match(line.split(/\s+/)[3], /^127\.0\.0\.1:\d+$/, line);
});

test("the workers' S3 key reaches the bucket and nothing else", async () => {
  const client = (accessKeyId: string, secretAccessKey: string) =>
    new S3Client({
      endpoint: env.PIVOTRL_S3_ENDPOINT,
      region: env.AWS_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
    });
  const worker = client(env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY);
  const root = client(secrets.PIVOTRL_S3_ACCESS_KEY, secrets.PIVOTRL_S3_SECRET_KEY);
  const denied = async (what: string, p: Promise<unknown>) =>
    assert.rejects(p, (e: Error & { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode === 403, what);
  try {
    await worker.send(new PutObjectCommand({ Bucket: env.PIVOTRL_S3_BUCKET, Key: 'probe', Body: 'hello' }));
    const got = await worker.send(new GetObjectCommand({ Bucket: env.PIVOTRL_S3_BUCKET, Key: 'probe' }));
    assert.equal(await got.Body!.transformToString(), 'hello');
    await denied('creating a bucket', worker.send(new CreateBucketCommand({ Bucket: 'worker-made' })));
    await root.send(new CreateBucketCommand({ Bucket: 'other' }));
    await root.send(new PutObjectCommand({ Bucket: 'other', Key: 'private', Body: 'root only' }));
    await denied('reading another bucket', worker.send(new GetObjectCommand({ Bucket: 'other', Key: 'private' })));
    await denied('listing another bucket', worker.send(new ListObjectsV2Command({ Bucket: 'other' })));
    await denied('writing another bucket', worker.send(new PutObjectCommand({ Bucket: 'other', Key: 'x', Body: 'x' })));
  } finally {
    worker.destroy();
    root.destroy();
  }
});

test('the UI: login required; a viewer reads but cannot terminate; ops can, through the real UI server', async () => {
  const ca = readFileSync(env.PIVOTRL_UI_CERT);
  assert.match(env.PIVOTRL_UI_URL, /^https:\/\/127\.0\.0\.1:\d+$/);
  const anonymous = new HttpsSession(env.PIVOTRL_UI_URL, ca);
  const page = await anonymous.call('GET', '/namespaces/pivotrl/workflows', { accept: 'text/html' });
  assert.equal(page.status, 303);
  assert.match(String(page.headers.location), /^\/_pivotrl\/login\?next=/);
  assert.equal((await anonymous.call('GET', '/api/v1/namespaces/pivotrl/workflows')).status, 401);
  assert.equal((await anonymous.login('viewer', 'not-the-password-at-all')).status, 401);

  const connection = await Connection.connect(stackSettings(env).connection);
  const temporal = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  // No worker polls this queue: the workflow stays running until someone terminates it.
  const handle = await temporal.workflow.start('nothing', { taskQueue: 'stack-security-none', workflowId: `ui-auth-${Date.now()}` });
  const terminate = `/api/v1/namespaces/pivotrl/workflows/${handle.workflowId}/terminate`;
  const status = async () => (await handle.describe()).status.name;
  try {
    const viewer = new HttpsSession(env.PIVOTRL_UI_URL, ca);
    assert.equal((await viewer.login('viewer', secrets.PIVOTRL_UI_VIEWER_PASSWORD)).status, 303);
    const html = await viewer.call('GET', '/namespaces/pivotrl/workflows', { accept: 'text/html' });
    assert.equal(html.status, 200);
    assert.match(html.body, /<html/i);
    const list = await viewer.call(
      'GET',
      `/api/v1/namespaces/pivotrl/workflows?query=${encodeURIComponent(`WorkflowId="${handle.workflowId}"`)}`,
    );
    assert.equal(list.status, 200, list.body);
    assert.ok(list.body.includes(handle.workflowId), 'the UI server lists the workflow');
    const csrf = { 'content-type': 'application/json', 'x-csrf-token': viewer.cookies.get('_csrf') ?? '' };
    assert.ok(csrf['x-csrf-token'], 'the UI server set its CSRF cookie');
    const refused = await viewer.call('POST', terminate, csrf, '{"reason":"viewer"}');
    assert.equal(refused.status, 403, refused.body);
    assert.equal(await status(), 'RUNNING');

    const ops = new HttpsSession(env.PIVOTRL_UI_URL, ca);
    assert.equal((await ops.login('ops', secrets.PIVOTRL_UI_OPS_PASSWORD)).status, 303);
    await ops.call('GET', '/api/v1/settings');
    const done = await ops.call(
      'POST',
      terminate,
      { 'content-type': 'application/json', 'x-csrf-token': ops.cookies.get('_csrf')! },
      '{"reason":"ops"}',
    );
    assert.equal(done.status, 200, done.body);
    assert.equal(await status(), 'TERMINATED');
  } finally {
    await handle.terminate('test cleanup').catch(() => {});
    await connection.close();
  }
});
