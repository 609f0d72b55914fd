// Verification leaves no sandbox container behind: a verify activity cancelled mid-batch removes its sandboxes,
// and the containers of a worker killed with SIGKILL mid-verify are removed when a CPU worker restarts on that host.
// Needs Docker with the pivotrl/terminal:latest image (`make setup`); (b) also the Temporal CLI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerInfo, DockerClient } from '../../sandboxes/engine';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createVerifyActivities } from '../../activities/verify';
import type { VerifyInput } from '../../activities/types';
import type { Sample, Turn } from '../../core/schemas';
import { OWNER_LABEL, SANDBOX_LABEL, reapSandboxes } from '../../sandboxes/reaper';
import { DEFAULT_IMAGE } from '../../sandboxes/sandbox';
import { openStore, putJsonl } from '../../store';
import { generateTerminalSuite } from '../../tasks/terminal/suite';
import { terminalTurns } from '../../tasks/terminal/render';
import { createVerifier } from '../../verifiers';
import { createCpuWorker } from '../../workers/build';
import { requireDocker } from '../../harness/docker';
import { startTestTemporal } from '../../harness/temporal';
import { tempDir } from '../../harness/temp-dir';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let docker: DockerClient;

async function containersOf(owner: string): Promise<ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABEL}=1`, `${OWNER_LABEL}=${owner}`] } });
}

/** Running sandboxes of `owner` with an exec attached (a live runner): in use by some process. */
/** Polls until `ok()` holds (true) or `ms` pass (false). */
async function waitFor(ok: () => Promise<boolean>, ms: number, every = 100): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await ok()) return true;
    if (Date.now() > end) return false;
    await sleep(every);
  }
}

/** Terminal turns of the suite, each with samples that keep a sandbox busy for `seconds`. */
function slowItems(n: number, seconds: number): { turns: Turn[]; samples: Sample[] } {
  const { train } = generateTerminalSuite({ seed: 5, trainTasks: n, heldoutTasks: 0 });
  const turns = train.map((t) => terminalTurns(t)[0]);
  const samples = turns.flatMap((turn) =>
    [0, 1, 2].map((index) => ({ turnId: turn.id, index, text: `sleep ${seconds} # ${index}`, logprobs: [] })),
  );
  return { turns, samples };
}

describe('sandbox cleanup (Docker)', () => {
  before(async () => {
    docker = await requireDocker();
    try {
      await docker.getImage(DEFAULT_IMAGE).inspect();
    } catch {
      throw new Error(`sandbox image ${DEFAULT_IMAGE} is missing: run \`make setup\` (deploy/local/images.sh builds it)`);
    }
  });

  describe('a verify activity cancelled mid-batch', () => {
    const owner = `test-verify-cancel-${process.pid}`;
    let dir = '';
    before(async () => {
      dir = tempDir('pivotrl-verify-cancel-');
    });
    after(async () => {
      await reapSandboxes(docker, owner);
      await rm(dir, { recursive: true, force: true });
    });

    test('removes every sandbox it made within seconds', { timeout: 120_000 }, async () => {
      const store = { kind: 'local' as const, root: dir };
      const { turns, samples } = slowItems(4, 60);
      await putJsonl(openStore(store), 'cancel/turns.jsonl', turns);
      await putJsonl(openStore(store), 'cancel/samples.jsonl', samples);
      const input: VerifyInput = {
        campaignId: 'verify-cancel',
        store,
        turns: 'cancel/turns.jsonl',
        samples: 'cancel/samples.jsonl',
        out: 'cancel/verdicts.jsonl',
        verifier: 'functional',
        concurrency: 2,
        actionTimeoutMs: 90_000,
      };
      const { verify } = createVerifyActivities((kind, o) => createVerifier(kind, { docker, owner, ...o }));
      const env = new MockActivityEnvironment();
      let heartbeats = 0;
      env.on('heartbeat', () => heartbeats++);
      const running = env.run(verify, input);
      const outcome = running.then(
        () => null,
        (err: unknown) => err,
      );

      // Mid-batch: both sandboxes up and running the samples' `sleep 60`.
      assert.ok(await waitFor(async () => (await containersOf(owner)).length === 2, 60_000), 'the batch never got its 2 sandboxes');
      await sleep(1500);
      assert.equal(await Promise.race([outcome.then(() => 'settled'), sleep(0).then(() => 'running')]), 'running');
      assert.ok(heartbeats > 0, 'the activity heartbeats');

      const t0 = Date.now();
      env.cancel();
      const err = await Promise.race([outcome, sleep(15_000).then(() => 'still running')]);
      const settledMs = Date.now() - t0;
      assert.notEqual(err, 'still running', 'the activity did not stop within 15 s of the cancel (its actions sleep 60 s)');
      assert.ok(err instanceof Error, 'the cancelled activity rejects');
      assert.match(`${err.name} ${err.message}`, /cancel|abort/i);
      assert.ok(settledMs < 10_000, `the activity took ${settledMs} ms to stop after the cancel (its actions sleep 60 s)`);
      assert.ok(await waitFor(async () => (await containersOf(owner)).length === 0, 5_000), 'sandbox containers left after the cancel');
      assert.equal(await openStore(store).exists(input.out), false, 'no verdicts are written for a cancelled batch');
    });
  });

  describe('a worker killed with SIGKILL mid-verify', () => {
    // The owner a worker's sandboxes get from PIVOTRL_SANDBOX_OWNER (default: the host name); this run's own, so that
    // campaigns elsewhere on the machine neither count here nor get reaped.
    const owner = `test-cleanup-killed-${process.pid}`;
    let child: ChildProcess | null = null;
    let existing = new Set<string>();
    /** Sandboxes of this owner made since the test started (the child's). */
    const ours = async () => (await containersOf(owner)).filter((c) => !existing.has(c.Id));
    before(async () => {
      existing = new Set((await containersOf(owner)).map((c) => c.Id));
    });
    after(async () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      // Should the test fail half-way, do not leave the child's sandboxes to the next worker start.
      await Promise.all(
        (await ours()).map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .catch(() => undefined),
        ),
      );
    });

    test('leaves containers that a restarted CPU worker on the same host removes at start-up', { timeout: 180_000 }, async () => {
      // The "worker": verifies two slow turns with sandboxes of this run's owner, then is killed.
      const script = `
        const { createVerifier } = await import(${JSON.stringify(join(ROOT, 'verifiers/index.ts'))});
        const { generateTerminalSuite } = await import(${JSON.stringify(join(ROOT, 'tasks/terminal/suite.ts'))});
        const { terminalTurns } = await import(${JSON.stringify(join(ROOT, 'tasks/terminal/render.ts'))});
        const { train } = generateTerminalSuite({ seed: 6, trainTasks: 2, heldoutTasks: 0 });
        const items = train.map((t) => terminalTurns(t)[0]).map((turn) => ({
          turn,
          samples: [{ turnId: turn.id, index: 0, text: 'sleep 120', logprobs: [] }],
        }));
        console.log('verifying');
        await createVerifier('functional', { concurrency: 2, actionTimeoutMs: 150000 }).verifyBatch(items);
        console.log('finished');`;
      child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: ROOT,
        env: { ...process.env, PIVOTRL_SANDBOX_OWNER: owner },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout!.on('data', (c: Buffer) => (out += c));
      child.stderr!.on('data', (c: Buffer) => (out += c));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child!.once('exit', (_code, signal) => resolve(signal)));

      const started = await waitFor(async () => (await ours()).filter((c) => c.State === 'running').length === 2, 90_000, 200);
      assert.ok(started, `the child never had 2 running sandboxes; its output:\n${out}`);
      await sleep(1500); // the expert actions are done; the samples' `sleep 120` runs
      assert.doesNotMatch(out, /finished/);
      // A worker starting on this host while the child lives spares its sandboxes.
      await reapSandboxes(docker, owner, { spareLiveProcesses: true });
      assert.equal((await ours()).length, 2, "a live process's sandboxes are not reaped");

      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
      await sleep(1000);
      const leftovers = await ours();
      assert.equal(leftovers.length, 2, 'a worker killed with SIGKILL cannot remove its sandboxes');

      // A CPU worker of the same owner starting on this host reaps them before it polls.
      process.env.PIVOTRL_SANDBOX_OWNER = owner;
      const temporal = await startTestTemporal();
      try {
        const cpu = await createCpuWorker({
          connection: temporal.env.nativeConnection,
          namespace: 'default',
          taskQueue: `verify-cleanup-${process.pid}`,
          docker,
        });
        const all = new Set((await docker.listContainers({ all: true })).map((c) => c.Id));
        assert.deepEqual(
          leftovers.filter((c) => all.has(c.Id)).map((c) => c.Id.slice(0, 12)),
          [],
          'leftover sandboxes still exist after the worker started',
        );
        assert.equal((await ours()).length, 0);
        await cpu.worker.runUntil(sleep(200));
        await cpu.close();
      } finally {
        await temporal.stop();
      }
    });
  });
});
