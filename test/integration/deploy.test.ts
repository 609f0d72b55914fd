// Integration tests for the local stack (deploy/local) and the test Temporal server (test/support).
// Needs: root or a running Docker engine, Go (first run only), network for first-time installs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { requireDocker } from '../../harness/docker';
import { freePort, startTestTemporal } from '../../harness/temporal';
import { tempDir } from '../../harness/temp-dir';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const script = (name: string) => join(repo, 'deploy/local', name);

describe('deploy/local/up.sh', () => {
  // Own state dir and ports, so a server someone else started on 7233 is left alone.
  const state = tempDir('pivotrl-deploy-test-');
  let env: NodeJS.ProcessEnv;

  after(async () => {
    if (env) await run(script('down.sh'), { env }).catch((e) => console.error(e));
    rmSync(state, { recursive: true, force: true });
  });

  test('a second run changes nothing', { timeout: 30 * 60_000 }, async (t) => {
    env = {
      ...process.env,
      PIVOTRL_STATE: state,
      TEMPORAL_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
    };
    let started = Date.now();
    const first = await run(script('up.sh'), { env, maxBuffer: 64 << 20 });
    const firstSeconds = (Date.now() - started) / 1000;
    const pid = readFileSync(join(state, 'temporal.pid'), 'utf8').trim();
    const docker = await requireDocker();
    const imageIds = async () =>
      (await docker.listImages({ filters: { reference: ['pivotrl/*'] } }))
        .flatMap((i) => (i.RepoTags ?? []).map((tag) => `${tag} ${i.Id}`))
        .sort();
    const imagesBefore = await imageIds();

    started = Date.now();
    const second = await run(script('up.sh'), { env });
    const seconds = (Date.now() - started) / 1000;
    t.diagnostic(`up.sh: first run ${firstSeconds} s, second run ${seconds} s`);
    const out = second.stderr;

    assert.match(first.stderr, /ready: Temporal at 127\.0\.0\.1:/);
    assert.doesNotMatch(out, /\] (installing|starting|building|registering)\b/i, out);
    assert.match(out, /temporal CLI .* already installed/);
    assert.match(out, /docker engine already running/);
    assert.match(out, /chromium present|WARNING: no \/usr\/bin\/chromium/);
    assert.match(out, new RegExp(`temporal server already running on 127\\.0\\.0\\.1:${env.TEMPORAL_PORT} \\(pid ${pid}\\)`));
    assert.match(out, new RegExp(`Web UI at http://127\\.0\\.0\\.1:${env.TEMPORAL_UI_PORT}`));
    assert.equal(readFileSync(join(state, 'temporal.pid'), 'utf8').trim(), pid);
    // Not a time limit: on a loaded machine a no-op run is as slow as any; "changes nothing" is what the log and state show.
    assert.deepEqual(await imageIds(), imagesBefore);

    const status = await run(script('temporal-server.sh'), ['status'], { env });
    assert.match(status.stdout, new RegExp(`running .*\\(pid ${pid}\\)`));
  });
});

describe('harness/temporal', () => {
  test('starts a dev server with the custom search attributes', { timeout: 120_000 }, async () => {
    const temporal = await startTestTemporal();
    try {
      assert.match(temporal.address, /^127\.0\.0\.1:\d+$/);
      const { customAttributes } = await temporal.env.connection.operatorService.listSearchAttributes({
        namespace: 'default',
      });
      for (const key of ALL_SEARCH_ATTRIBUTES) {
        assert.equal(customAttributes?.[key.name], encodeSearchAttributeIndexedValueType(key.type), key.name);
      }
    } finally {
      await temporal.stop();
    }
  });
});
