// mTLS on the production stack (deploy/prod/up.sh, deploy/prod/tls.sh), in a stack of the test's own (own state and
// ports, removed at the end): the frontend refuses clients without a certificate of the stack's CA, accepts the CLI's,
// a worker polls with the settings of worker.env, the temporal CLI and the UI server connect with theirs, and
// certificates are re-issued in place while the server keeps running.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { startProdStack, type ProdStack } from '../../harness/hosts';
import { REPO, prodStateDir, readStackEnv, readStackSecrets, stackSettings, type StackEnv } from '../../harness/prod-stack';
import { temporalCliPath } from '../../harness/temporal';
import { startWorkerProcess } from '../../harness/worker-process';
import { HttpsSession } from '../support/https';
import { tempDir } from '../../harness/temp-dir';

const run = promisify(execFile);
// The stack's ports: the defaults plus the first of these whose ports are all free (apart from other tests' stacks).
const PORT_OFFSETS = [3_000, 3_100, 3_200, 3_300];

let stack: ProdStack;
let cliEnv: StackEnv;
let tls: string;
const scratch = tempDir('pivotrl-tls-');

before(async () => {
  stack = await startProdStack(PORT_OFFSETS);
  cliEnv = readStackEnv(join(prodStateDir({ PIVOTRL_STATE: stack.state }), 'stack.env'));
  tls = join(prodStateDir({ PIVOTRL_STATE: stack.state }), 'tls');
});
after(async () => {
  await stack?.down();
  rmSync(scratch, { recursive: true, force: true });
});

/** Whether a client with these options gets an answer from the frontend (Connection.connect asks for the system info). */
async function answers(options: Parameters<typeof Connection.connect>[0]): Promise<true | string> {
  try {
    const connection = await Connection.connect({ ...options, connectTimeout: 10_000 });
    await connection.workflowService.describeNamespace({ namespace: stack.namespace });
    await connection.close();
    return true;
  } catch (err) {
    return (err as Error).message;
  }
}

const serial = (name: string) => run('openssl', ['x509', '-in', join(tls, `${name}.pem`), '-noout', '-serial']).then((r) => r.stdout);

test('the frontend answers a client with the cli certificate of stack.env, and refuses one without a certificate', async () => {
  assert.equal(await answers(stack.connection), true);
  const ca = readFileSync(cliEnv.TEMPORAL_TLS_SERVER_CA_CERT_PATH);
  const noCertificate = await answers({ address: stack.address, tls: { serverRootCACertificate: ca } });
  assert.notEqual(noCertificate, true, 'TLS without a client certificate is refused');
  const plain = await answers({ address: stack.address });
  assert.notEqual(plain, true, 'plain gRPC is refused');
});

test('a client certificate from another CA is refused', async () => {
  const sh = (cmd: string) => run('bash', ['-c', cmd], { cwd: scratch });
  await sh(
    'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj "/CN=other CA" 2>/dev/null',
  );
  await sh(
    'openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.csr -subj "/CN=pivotrl cli" 2>/dev/null',
  );
  await sh(
    'openssl x509 -req -in other.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -days 2 ' +
      '-extfile <(printf "extendedKeyUsage=clientAuth") -out other.pem 2>/dev/null',
  );
  const settings = stackSettings({
    ...cliEnv,
    TEMPORAL_TLS_CLIENT_CERT_PATH: join(scratch, 'other.pem'),
    TEMPORAL_TLS_CLIENT_KEY_PATH: join(scratch, 'other.key'),
  });
  assert.notEqual(await answers(settings.connection), true);
});

test('a worker polls with TLS from worker.env alone', { timeout: 120_000 }, async () => {
  const worker = readStackEnv(join(prodStateDir({ PIVOTRL_STATE: stack.state }), 'worker.env'));
  assert.match(worker.TEMPORAL_TLS_CLIENT_CERT_PATH, /\/worker\.pem$/);
  const queue = `tls-${process.pid}`;
  const w = await startWorkerProcess('gpu', { ...worker, PIVOTRL_GPU_QUEUE: queue, PIVOTRL_ALLOW_CPU: '1' });
  try {
    assert.match(w.output(), new RegExp(`polling ${queue} on ${stack.address} \\(TLS\\), namespace pivotrl`));
    const connection = await Connection.connect(stack.connection);
    try {
      let pollers = 0;
      for (let i = 0; i < 40 && pollers === 0; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 250));
        const described = await connection.workflowService.describeTaskQueue({
          namespace: stack.namespace,
          taskQueue: { name: queue },
          taskQueueType: 2, // activities
        });
        pollers = described.pollers?.length ?? 0;
      }
      assert.equal(pollers, 1, 'the server sees the worker polling');
    } finally {
      await connection.close();
    }
  } finally {
    await w.stop();
  }
});

test('the temporal CLI connects with the settings of stack.env alone; the UI server with its own certificate', async () => {
  const { stdout } = await run(temporalCliPath(), ['operator', 'namespace', 'describe', '--namespace', 'pivotrl', '-o', 'json'], {
    env: { PATH: process.env.PATH, HOME: scratch, ...cliEnv },
  });
  assert.equal(JSON.parse(stdout).namespaceInfo.name, 'pivotrl');
  const refused = await run(temporalCliPath(), ['operator', 'cluster', 'health', '--command-timeout', '5s'], {
    env: { PATH: process.env.PATH, HOME: scratch, TEMPORAL_ADDRESS: cliEnv.TEMPORAL_ADDRESS, TEMPORAL_TLS: 'true' },
  }).catch((err: Error) => err);
  assert.ok(refused instanceof Error, 'without a certificate the CLI is refused');

  // The UI server is behind the login proxy, whose https certificate the stack's CA issued (PIVOTRL_UI_CERT is that CA).
  const ui = new HttpsSession(cliEnv.PIVOTRL_UI_URL, readFileSync(cliEnv.PIVOTRL_UI_CERT));
  const secrets = readStackSecrets(join(prodStateDir({ PIVOTRL_STATE: stack.state }), 'secrets.env'));
  assert.equal((await ui.login('viewer', secrets.PIVOTRL_UI_VIEWER_PASSWORD)).status, 303);
  const res = await ui.call('GET', '/api/v1/namespaces');
  assert.equal(res.status, 200, res.body);
  const names = (JSON.parse(res.body) as { namespaces: { namespaceInfo: { name: string } }[] }).namespaces.map((n) => n.namespaceInfo.name);
  assert.ok(names.includes('pivotrl'), `the UI lists ${names.join(', ')}`);
});

test('keys are 0600; a second tls.sh keeps every certificate; near expiry they are re-issued and the server takes them', async () => {
  for (const name of ['ca', 'server', 'worker', 'cli', 'ui', 'ui-proxy']) {
    assert.equal(statSync(join(tls, `${name}.key`)).mode & 0o777, 0o600, `${name}.key`);
  }
  const env = { ...process.env, PIVOTRL_STATE: stack.state, PIVOTRL_TLS_SANS: 'IP:10.231.0.1' };
  const before = await serial('cli');
  const again = await run(join(REPO, 'deploy/prod/tls.sh'), [], { env });
  assert.doesNotMatch(again.stderr, /issuing|creating/);
  assert.equal(await serial('cli'), before);

  // Every certificate lives 365 days: a renewal window of 365 days makes them all due.
  const renewed = await run(join(REPO, 'deploy/prod/tls.sh'), [], { env: { ...env, PIVOTRL_TLS_RENEW_DAYS: '365' } });
  assert.match(renewed.stderr, /issuing the server certificate/);
  assert.match(renewed.stderr, /issuing the cli certificate/);
  assert.doesNotMatch(renewed.stderr, /certificate authority/, 'the CA is kept');
  assert.notEqual(await serial('cli'), before);
  assert.equal(await answers(stackSettings(cliEnv).connection), true, 'the new cli certificate is accepted');
});
