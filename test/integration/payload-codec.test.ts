// The payload codec against a real Temporal server (the local dev server, TEMPORAL_ADDRESS or 127.0.0.1:7233): a
// workflow run by a worker and a client with the codec stores only ciphertext (read back by the temporal CLI and by a
// client without the codec), a client with the codec reads its result, and the codec server (a real process) decodes
// the history for the temporal CLI only with its bearer token.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { dataConverterFromEnv } from '../../workers/data-converter';
import { freePort, installTestRuntime, temporalCliPath } from '../../harness/temporal';
import { PivotCampaign } from '../../workflows/search-attributes';
import { echoWorkflow, type EchoActivities } from '../support/echo-workflow';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const ADDRESS = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const NAMESPACE = 'default';
const RUN = `codec-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const MARKER = `trajectory-secret-${randomBytes(6).toString('hex')}`;
const KEYS = { PIVOTRL_PAYLOAD_KEYS: `${RUN}:${randomBytes(32).toString('base64')}` };
const TOKEN = randomBytes(32).toString('hex');

let connection: Connection;
let native: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let workflowId: string;
let codecServer: ChildProcess | undefined;
let codecUrl: string;

before(async () => {
  installTestRuntime();
  connection = await Connection.connect({ address: ADDRESS });
  native = await NativeConnection.connect({ address: ADDRESS });
  const activities: EchoActivities = { echo: async (text) => text.toUpperCase() };
  worker = await Worker.create({
    connection: native,
    namespace: NAMESPACE,
    taskQueue: RUN,
    workflowsPath: resolve(import.meta.dirname, '../support/echo-workflow.ts'),
    activities,
    dataConverter: dataConverterFromEnv(KEYS),
  });
  running = worker.run();
  const client = new Client({ connection, namespace: NAMESPACE, dataConverter: dataConverterFromEnv(KEYS) });
  workflowId = `${RUN}-echo`;
  await client.workflow.execute(echoWorkflow, {
    taskQueue: RUN,
    workflowId,
    args: [MARKER],
    staticSummary: `summary ${MARKER}`,
    typedSearchAttributes: [{ key: PivotCampaign, value: workflowId }],
  });
});

after(async () => {
  codecServer?.kill('SIGTERM');
  if (worker) {
    worker.shutdown();
    await running;
  }
  await native?.close();
  await connection?.close();
});

/** `temporal workflow show` of the test's workflow as JSON, payloads raw (no JSON shorthand). */
async function show(env: Record<string, string> = {}, flags: string[] = []): Promise<string> {
  const args = ['workflow', 'show', '--address', ADDRESS, '--namespace', NAMESPACE, '--workflow-id', workflowId, '--output', 'json'];
  const { stdout } = await run(temporalCliPath(), [...args, ...flags], { env: { ...process.env, ...env } });
  return stdout;
}

/** Every {metadata, data} payload object in a history as JSON, but search attributes (never encoded, by design). */
function payloadsIn(node: unknown, out: { metadata?: Record<string, string>; data?: string }[] = []) {
  if (Array.isArray(node)) node.forEach((n) => payloadsIn(n, out));
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.metadata && typeof o.metadata === 'object' && 'encoding' in (o.metadata as object)) out.push(o as never);
    else Object.entries(o).forEach(([k, v]) => k !== 'searchAttributes' && payloadsIn(v, out));
  }
  return out;
}
const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

test('with the codec, the history holds only ciphertext: the temporal CLI without the key finds no plaintext', async () => {
  const raw = await show({}, ['--no-json-shorthand-payloads']);
  assert.ok(!raw.includes(MARKER) && !raw.includes(MARKER.toUpperCase()), 'no marker in the history as the CLI prints it');
  const payloads = payloadsIn(JSON.parse(raw));
  // input, the activity's input and result, the workflow's result, the summary
  assert.ok(payloads.length >= 5, `found ${payloads.length} payloads`);
  for (const p of payloads) {
    assert.equal(b64(p.metadata!.encoding), 'binary/encrypted');
    assert.equal(b64(p.metadata!['encryption-key-id']), RUN);
    assert.ok(!Buffer.from(p.data ?? '', 'base64').includes(MARKER.slice(0, 12)), 'no marker in any payload');
  }
});

test('search attributes are not encoded: ops still find the workflow by them', async () => {
  const plain = new Client({ connection, namespace: NAMESPACE });
  const description = await plain.workflow.getHandle(workflowId).describe();
  assert.equal(description.typedSearchAttributes.get(PivotCampaign), workflowId);
});

test('a client without the codec cannot read the result; one with it can', async () => {
  const plain = new Client({ connection, namespace: NAMESPACE });
  await assert.rejects(plain.workflow.getHandle(workflowId).result(), /binary\/encrypted/);
  const withCodec = new Client({ connection, namespace: NAMESPACE, dataConverter: dataConverterFromEnv(KEYS) });
  assert.equal(await withCodec.workflow.getHandle(workflowId).result(), `echoed ${MARKER.toUpperCase()}`);
  const wrongKey = { PIVOTRL_PAYLOAD_KEYS: `${RUN}:${randomBytes(32).toString('base64')}` };
  const other = new Client({ connection, namespace: NAMESPACE, dataConverter: dataConverterFromEnv(wrongKey) });
  await assert.rejects(other.workflow.getHandle(workflowId).result(), /failed authentication/);
});

test('the codec server decodes the history for the temporal CLI with its bearer token, and refuses without it', async () => {
  const port = await freePort();
  codecUrl = `http://127.0.0.1:${port}`;
  codecServer = spawn(process.execPath, ['--import', 'tsx', 'workers/codec-server.ts'], {
    cwd: REPO,
    env: { ...process.env, ...KEYS, PIVOTRL_CODEC_TOKEN: TOKEN, PIVOTRL_CODEC_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  codecServer.stdout!.on('data', (d) => (out += d));
  codecServer.stderr!.on('data', (d) => (out += d));
  for (let i = 0; i < 300 && !out.includes('listening on'); i++) {
    assert.equal(codecServer.exitCode, null, `the codec server exited: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(out, new RegExp(`listening on ${codecUrl}`));

  // The CLI takes the endpoint and the Authorization header from Temporal's environment variables (off the command line).
  const texts = (json: string) => payloadsIn(JSON.parse(json)).map((p) => b64(p.data));
  const decoded = texts(await show({ TEMPORAL_CODEC_ENDPOINT: codecUrl, TEMPORAL_CODEC_AUTH: `Bearer ${TOKEN}` }));
  assert.ok(decoded.includes(JSON.stringify(MARKER)), 'the input is decoded');
  assert.ok(decoded.includes(JSON.stringify(`echoed ${MARKER.toUpperCase()}`)), 'the result is decoded');

  // Without the token the server answers 401: the CLI then fails (it retries, up to its command timeout) or prints
  // the payloads as they are stored.
  const refused = await show({ TEMPORAL_CODEC_ENDPOINT: codecUrl }, ['--command-timeout', '5s']).then(
    (stdout) => stdout,
    (err: { stdout?: string; stderr?: string }) => `${err.stdout}${err.stderr}`,
  );
  assert.ok(!refused.includes(MARKER), 'without the token nothing is decoded');
  assert.ok(!refused.includes(Buffer.from(JSON.stringify(MARKER)).toString('base64')), 'without the token nothing is decoded');
  assert.match(out, /decode \d+ payload\(s\) for namespace default/, 'the server served the CLI with the token');

  const direct = await fetch(`${codecUrl}/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': NAMESPACE },
    body: JSON.stringify({ payloads: [] }),
  });
  assert.equal(direct.status, 401);
});
