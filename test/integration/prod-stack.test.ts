// The production stack on one machine (deploy/prod/up.sh): Temporal's own server on PostgreSQL, its standalone Web UI
// server, versitygw S3. Real everything: the stack this checkout runs (a second up.sh is a no-op; a stack that was up
// before the test stays up, one the test started is stopped at the end, so the next `make test`, here or in another
// checkout, finds the default ports free), a tiny campaign with in-process workers (real Docker sandboxes, real
// tensors) storing its artefacts in S3, and headless Debian chromium (playwright-core) on the standalone UI.
// Screenshots go to .pivotrl/prod-ui-*.png (git-ignored).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { defaultPayloadConverter } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { createCpuWorker, createGpuWorker, type OwnedWorker } from '../../workers/build';
import { pauseUpdate, progressQuery, stopUpdate } from '../../workflows/campaign';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { openStore } from '../../store';
import { campaignKeys } from '../../pipeline/keys';
import { requireDocker } from '../../harness/docker';
import { tinyCampaign } from '../../harness/campaign';
import { startCampaign } from '../../cli/campaigns';
import { currentDetails, launchChromium, requireChromium } from '../support/browser';
import { HttpsSession } from '../support/https';
import { freePort, installTestRuntime, temporalCliPath } from '../../harness/temporal';
import { dataConverterFromEnv } from '../../workers/data-converter';
import {
  REPO,
  prodStateDir,
  prodUp,
  prodUpFailing,
  readStackEnv,
  stackSettings,
  readStackSecrets,
  type StackEnv,
  type UpRun,
} from '../../harness/prod-stack';
import { tempDir } from '../../harness/temp-dir';

const run = promisify(execFile);
const SHOTS = join(REPO, '.pivotrl');
// The stack's ports (deploy/prod/common.sh), so that it can run beside another stack on the defaults.
const TEMPORAL_PORT = process.env.PIVOTRL_PROD_TEMPORAL_PORT ?? '7243';
const UI_PORT = process.env.PIVOTRL_PROD_UI_PORT ?? '8243';
const S3_PORT = process.env.PIVOTRL_S3_PORT ?? '7070';
// Unique per run: the stack keeps its history (7 days), so earlier runs' campaigns are still listed.
const RUN = `prod-${Date.now().toString(36)}`;

let stack: StackEnv;
let pgPassword: string;
let connection: Connection | undefined;
let client: Client;
let upRuns: UpRun[] = [];
let startedHere = false;

before(async () => {
  const first = await prodUp().catch(async (err: { stderr?: string }) => {
    if (startsAny(err.stderr)) await stopStack();
    throw err;
  });
  startedHere = startsAny(first.stderr);
  const second = await prodUp();
  upRuns = [first, second];
  stack = readStackEnv();
  pgPassword = readStackSecrets().PIVOTRL_PG_PASSWORD;
  connection = await Connection.connect(stackSettings(stack).connection);
  client = new Client({ connection, namespace: stack.TEMPORAL_NAMESPACE });
});
after(async () => {
  await connection?.close();
  if (startedHere) await stopStack();
});

/** Whether up.sh's log says it started a service (the stack, or part of it, was not up before). */
const startsAny = (stderr = '') => /\] starting /.test(stderr);
const stopStack = () => run(join(REPO, 'deploy/prod/down.sh'), { env: process.env });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pids = () => {
  const dir = join(prodStateDir(), 'run');
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8').trim()]));
};

test('up.sh brings the stack up, and a second run changes nothing', async (t) => {
  const [first, second] = upRuns;
  t.diagnostic(`up.sh: first run ${first.seconds} s (the stack may have been up already), second run ${second.seconds} s`);
  assert.match(
    first.stderr,
    new RegExp(
      `ready: Temporal at 127\\.0\\.0\\.1:${TEMPORAL_PORT} \\(namespace pivotrl\\), Web UI at https://127\\.0\\.0\\.1:${UI_PORT} `,
    ),
  );
  const out = second.stderr;
  assert.doesNotMatch(out, /\] (installing|building|creating|starting|setting up|registering)\b/i, out);
  for (const line of [
    /postgresql already running/,
    /temporal schema at version \d+\.\d+/,
    /temporal_visibility schema at version \d+\.\d+/,
    new RegExp(`temporal server already running \\(pid \\d+, 127\\.0\\.0\\.1:${TEMPORAL_PORT}\\)`),
    /namespace pivotrl present \(retention 7d\)/,
    new RegExp(`search attributes present \\(${ALL_SEARCH_ATTRIBUTES.length}\\)`),
    /ui server already running/,
    /ui proxy already running/,
    /object store already running/,
    /codec server already running/,
    /bucket pivotrl present/,
    /worker user \w+ present/,
    /bucket pivotrl owned by the workers' user/,
  ]) {
    assert.match(out, line);
  }
  const before = pids();
  await prodUp();
  assert.deepEqual(pids(), before, 'a re-run keeps every process');
  assert.deepEqual(Object.keys(before).sort(), ['codec.pid', 's3.pid', 'temporal.pid', 'ui-proxy.pid', 'ui.pid']);
  assert.equal(stack.TEMPORAL_ADDRESS, `127.0.0.1:${TEMPORAL_PORT}`);
  assert.equal(stack.PIVOTRL_S3_ENDPOINT, `http://127.0.0.1:${S3_PORT}`);
});

test('the namespace keeps history 7 days, has the project search attributes, and Temporal runs on PostgreSQL', async () => {
  const ns = await connection!.workflowService.describeNamespace({ namespace: 'pivotrl' });
  assert.equal(Number(ns.config?.workflowExecutionRetentionTtl?.seconds), 7 * 24 * 3600);

  const { customAttributes } = await connection!.operatorService.listSearchAttributes({ namespace: 'pivotrl' });
  for (const key of ALL_SEARCH_ATTRIBUTES) {
    assert.equal(customAttributes?.[key.name], encodeSearchAttributeIndexedValueType(key.type), key.name);
  }

  const info = await connection!.workflowService.getClusterInfo({});
  assert.equal(info.persistenceStore, 'postgres12');
  assert.equal(info.visibilityStore, 'postgres12');
  assert.equal(info.serverVersion, '1.29.1');
});

test('a wrong database password is a clear error naming what to do, not a hang', async () => {
  const failed = await prodUpFailing({ ...process.env, PIVOTRL_PG_PASSWORD: `not-${pgPassword}` });
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /ERROR: PostgreSQL refused the password for role temporal: PIVOTRL_PG_PASSWORD differs from the password/);
  assert.match(failed.stderr, /-c '\\password temporal'/);
  assert.ok(failed.seconds < 60, `failed within ${failed.seconds} s`);
  // The running stack is untouched.
  await connection!.workflowService.describeNamespace({ namespace: 'pivotrl' });
});

test('a port already in use is a clear error naming the port and its owner', async () => {
  const state = tempDir('pivotrl-prod-port-');
  const port = await freePort();
  const holder: Server = createServer();
  await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
  try {
    const failed = await prodUpFailing({ ...process.env, PIVOTRL_STATE: state, PIVOTRL_PG_PORT: String(port) });
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, new RegExp(`ERROR: port ${port} \\(for PostgreSQL\\) is already in use: 127\\.0\\.0\\.1:${port} .*node`));
    assert.ok(!existsSync(join(state, 'prod', 'pg')), 'nothing is set up before the check');
  } finally {
    holder.close();
    rmSync(state, { recursive: true, force: true });
  }
});

test(
  'a campaign runs on the production stack, stores its artefacts in S3, and the standalone UI finds it by its search attributes with its current details',
  { timeout: 15 * 60_000 },
  async (t) => {
    requireChromium();
    await requireDocker();
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: stack.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: stack.AWS_SECRET_ACCESS_KEY,
      AWS_REGION: stack.AWS_REGION,
    });
    const tiny = tinyCampaign({ address: stack.TEMPORAL_ADDRESS, queue: RUN, steps: 2 });
    const id = `${RUN}-campaign`;
    const config = {
      ...tiny.config,
      temporal: { ...tiny.config.temporal, namespace: stack.TEMPORAL_NAMESPACE },
      store: {
        kind: 's3' as const,
        bucket: stack.PIVOTRL_S3_BUCKET,
        endpoint: stack.PIVOTRL_S3_ENDPOINT,
        region: stack.AWS_REGION,
        prefix: `tests/${RUN}`,
        forcePathStyle: true,
      },
    };

    installTestRuntime();
    const native = await NativeConnection.connect(stackSettings(readStackEnv(join(prodStateDir(), 'worker.env'))).connection);
    const namespace = stack.TEMPORAL_NAMESPACE;
    const workers: OwnedWorker[] = [
      await createCpuWorker({ connection: native, namespace, taskQueue: config.temporal.cpuQueue }),
      await createGpuWorker({ connection: native, namespace, taskQueue: config.temporal.gpuQueue, allowCpu: true }),
    ];
    const running = Promise.all(workers.map((w) => w.worker.run()));
    const browser: Browser = await launchChromium();
    const handle = await startCampaign(client, config, id);
    try {
      // Ops pause it: it profiles, selects its pivots and holds before the first update step.
      let ended: string | undefined;
      void handle.result().then(
        (r) => (ended = `ended at stage ${r.stage}`),
        (e: Error) => (ended = `failed (${(e.cause as Error | undefined)?.message ?? e.message})`),
      );
      await handle.executeUpdate(pauseUpdate, { args: [true] });
      for (let i = 0; !(await handle.query(progressQuery)).now?.startsWith('paused'); i++) {
        assert.equal(ended, undefined, `the campaign ${ended} before its first step boundary`);
        assert.ok(i < 3000, 'the campaign reaches its first step boundary within 5 minutes');
        await sleep(100);
      }

      // Visibility on PostgreSQL: a list query by custom attributes finds it, and the row is in temporal_visibility.
      const query = `PivotStage = "update" AND PivotCampaign = "${id}"`;
      let found: string[] = [];
      for (let i = 0; i < 40 && found.length === 0; i++) {
        if (i > 0) await sleep(250);
        found = [];
        for await (const wf of client.workflow.list({ query })) found.push(wf.workflowId);
      }
      assert.deepEqual(found, [id]);
      const { stdout: row } = await run(
        'psql',
        [
          '-h',
          '127.0.0.1',
          '-p',
          process.env.PIVOTRL_PG_PORT ?? '5432',
          '-U',
          'temporal',
          '-d',
          'temporal_visibility',
          '-qAtX',
          '-c',
          `SELECT search_attributes::text FROM executions_visibility WHERE workflow_id = '${id}'`,
        ],
        { env: { ...process.env, PGPASSWORD: pgPassword } },
      );
      assert.match(row, new RegExp(`"${id}"`), 'the campaign row in PostgreSQL carries its search attributes');

      // The standalone UI server (not the dev server's), filtered by the campaign's search attributes.
      // The UI is behind the login proxy (https, a certificate of the stack's CA): log in as a viewer first.
      const page: Page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, ignoreHTTPSErrors: true });
      const ui = stack.PIVOTRL_UI_URL;
      await page.goto(`${ui}/namespaces/${namespace}/workflows`);
      await page.waitForURL(/\/_pivotrl\/login/);
      await page.getByLabel('User').fill('viewer');
      await page.getByLabel('Password').fill(readStackSecrets().PIVOTRL_UI_VIEWER_PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(new RegExp(`/namespaces/${namespace}/workflows`));
      const link = page.getByRole('link', { name: id, exact: true });
      // The list page loads ~170 files: on a busy 2-core machine it renders in 5-9 s, proxy or not.
      for (let i = 0; i < 8 && !(await link.isVisible()); i++) {
        await page.goto(`${ui}/namespaces/${namespace}/workflows?query=${encodeURIComponent(query)}`);
        await link.waitFor({ timeout: 15_000 }).catch(() => {});
      }
      assert.ok(await link.isVisible(), `the standalone UI's list filtered by ${query} shows the campaign`);
      assert.match(await page.innerText('main'), /^1\s+Workflow\b/m, 'exactly one workflow matches');
      assert.equal(new URL(page.url()).port, UI_PORT);
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, 'prod-ui-list.png') });

      await link.click();
      await page.waitForURL(new RegExp(`/namespaces/${namespace}/workflows/${id}/[^/]+/history`));
      await page.getByText('select pivots: var > 0').first().waitFor({ timeout: 15_000 });
      const text = await currentDetails(page, 'paused before step 1');
      await page.screenshot({ path: join(SHOTS, 'prod-ui-details.png') });
      t.diagnostic(`screenshots: ${join(SHOTS, 'prod-ui-list.png')}, ${join(SHOTS, 'prod-ui-details.png')}`);
      assert.match(text, new RegExp(`PivotRL campaign ${id} — stage update, step 0/2 — PAUSED`));
      assert.match(text, /now: paused before step 1/);
      assert.match(text, /pivots: \d+ of \d+ candidates/);
      await page.close();

      // Ops stop it: it ends at the step boundary and evaluates; its artefacts are in the bucket.
      await handle.executeUpdate(stopUpdate, { args: [] });
      const result = await handle.result();
      assert.equal(result.stage, 'stopped');
      assert.equal(result.candidates, tiny.candidates);
      const keys = campaignKeys(id);
      const stored = await openStore(config.store).list(`${keys.root}/`);
      for (const key of [keys.profiles, `${keys.checkpoint(0)}/weights.bin`]) {
        assert.ok(stored.includes(key), `${key} is in the bucket`);
      }
      t.diagnostic(`${stored.length} objects under s3://${config.store.bucket}/${config.store.prefix}/${keys.root}/`);
    } finally {
      await browser.close();
      await handle.terminate('test cleanup').catch(() => {}); // only if still running
      for (const w of workers) w.worker.shutdown();
      await running.catch(() => {});
      await Promise.all(workers.map((w) => w.close()));
      await native.close();
    }
  },
);

test("payloads are encrypted by default: stack.env holds the key, the temporal CLI decodes through the codec server with its token, the UI through the login proxy's /codec/ route", async () => {
  const marker = `${RUN}-secret-input`;
  const namespace = stack.TEMPORAL_NAMESPACE;
  const dataConverter = dataConverterFromEnv({ PIVOTRL_PAYLOAD_KEYS: stack.PIVOTRL_PAYLOAD_KEYS });
  const encrypting = new Client({ connection: connection!, namespace, dataConverter });
  // No worker needed: the started event holds the input as the client sent it.
  const handle = await encrypting.workflow.start('pivotCampaign', {
    taskQueue: `${RUN}-nobody`,
    workflowId: `${RUN}-codec`,
    args: [marker],
  });
  const show = async (codec: Record<string, string>) => {
    const args = ['workflow', 'show', '--workflow-id', handle.workflowId];
    // The CLI connects as stack.env says (address, namespace, its mTLS certificate), in Temporal's own variables.
    const connect = {
      TEMPORAL_ADDRESS: stack.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: stack.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
      TEMPORAL_TLS_CLIENT_CERT_PATH: stack.TEMPORAL_TLS_CLIENT_CERT_PATH,
      TEMPORAL_TLS_CLIENT_KEY_PATH: stack.TEMPORAL_TLS_CLIENT_KEY_PATH,
    };
    const env: NodeJS.ProcessEnv = { ...process.env, ...connect, ...codec };
    if (!codec.TEMPORAL_CODEC_ENDPOINT) delete env.TEMPORAL_CODEC_ENDPOINT; // a shell that sourced stack.env has it
    const { stdout } = await run(temporalCliPath(), [...args, '--output', 'json'], { env });
    return stdout;
  };
  try {
    const stored = await show({});
    assert.ok(!stored.includes(marker), 'without the codec server the CLI shows ciphertext');
    assert.match(stored, /"encoding": "YmluYXJ5L2VuY3J5cHRlZA=="/, 'the input is binary/encrypted');
    const decoded = await show({ TEMPORAL_CODEC_ENDPOINT: stack.TEMPORAL_CODEC_ENDPOINT, TEMPORAL_CODEC_AUTH: stack.TEMPORAL_CODEC_AUTH });
    assert.ok(
      decoded.includes(Buffer.from(JSON.stringify(marker)).toString('base64')),
      "with stack.env's codec settings the input is decoded",
    );
  } finally {
    await handle.terminate('test cleanup');
  }
  const refused = await fetch(`${stack.TEMPORAL_CODEC_ENDPOINT}/decode`, { method: 'POST', body: '{"payloads":[]}' });
  assert.equal(refused.status, 401, 'the codec server refuses a request without the token');

  // The UI's browsers decode through the login proxy's /codec/ route, which adds the token for any logged-in user.
  const ca = readFileSync(stack.PIVOTRL_UI_CERT);
  const anonymous = new HttpsSession(stack.PIVOTRL_UI_URL, ca);
  const body = JSON.stringify({ payloads: [] });
  const json = { 'content-type': 'application/json', 'x-namespace': namespace };
  assert.equal((await anonymous.call('POST', '/codec/decode', json, body)).status, 401, 'no session, no decoding');
  const viewer = new HttpsSession(stack.PIVOTRL_UI_URL, ca);
  assert.equal((await viewer.login('viewer', readStackSecrets().PIVOTRL_UI_VIEWER_PASSWORD)).status, 303);
  const settings = JSON.parse((await viewer.call('GET', '/api/v1/settings')).body) as { Codec: { Endpoint: string } };
  assert.equal(settings.Codec.Endpoint, `${stack.PIVOTRL_UI_URL}/codec`, "the UI's browsers decode through the proxy");
  const sealed = await dataConverter!.payloadCodecs![0].encode([defaultPayloadConverter.toPayload(marker)]);
  const wire = sealed.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  }));
  const decoded = await viewer.call('POST', '/codec/decode', json, JSON.stringify({ payloads: wire }));
  assert.equal(decoded.status, 200, decoded.body);
  const out = JSON.parse(decoded.body) as { payloads: { data: string }[] };
  assert.equal(Buffer.from(out.payloads[0].data, 'base64').toString(), JSON.stringify(marker), 'a viewer decodes');
});
