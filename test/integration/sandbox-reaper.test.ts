// The periodic reaper against a real engine and real processes: a sandbox whose worker was killed with SIGKILL stops
// at once (its busy action dies with it), and another CPU worker, of another owner on another host, removes it once it
// has been stopped for PIVOTRL_REAP_AFTER; a live worker's sandboxes, idle or busy, are never touched.
// Needs Docker with the pivotrl/terminal:latest image (`make setup`) and the local Temporal dev server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection } from '@temporalio/worker';
import { TemporalConfig } from '../../core/config';
import { requireDocker } from '../../harness/docker';
import type { ContainerInfo, DockerClient } from '../../sandboxes/engine';
import { OWNER_LABEL, SANDBOX_LABEL, reapSandboxes } from '../../sandboxes/reaper';
import { DEFAULT_IMAGE, Sandbox } from '../../sandboxes/sandbox';
import { createCpuWorker } from '../../workers/build';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GONE = `test-reaper-gone-${process.pid}`;
const LIVE = `test-reaper-live-${process.pid}`;
const REAPER = `test-reaper-worker-${process.pid}`;
const REAP_AFTER_MS = 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let docker: DockerClient;
let child: ChildProcess | null = null;
const live: Sandbox[] = [];

const containersOf = (owner: string): Promise<ContainerInfo[]> =>
  docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABEL}=1`, `${OWNER_LABEL}=${owner}`] } });

async function waitFor(ok: () => Promise<boolean>, ms: number, every = 200): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await ok()) return true;
    if (Date.now() > end) return false;
    await sleep(every);
  }
}

before(async () => {
  docker = await requireDocker();
  await docker.getImage(DEFAULT_IMAGE).inspect();
});

after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(live.map((s) => s.destroy()));
  for (const owner of [GONE, LIVE, REAPER]) await reapSandboxes(docker, owner);
});

test(
  'a killed worker’s sandbox stops at once and another host’s worker removes it after the period; live ones stay',
  { timeout: 120_000 },
  async () => {
    // The worker that dies: a sandbox on host `gone-pod-…` busy with an endless loop.
    const script = `
    const { Sandbox } = await import(${JSON.stringify(join(ROOT, 'sandboxes/sandbox.ts'))});
    const sandbox = await Sandbox.create();
    console.log('burning');
    await sandbox.run('while :; do :; done', { timeoutMs: 110000 });`;
    child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, PIVOTRL_SANDBOX_OWNER: GONE, PIVOTRL_HOST: `gone-pod-${process.pid}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c));
    child.stderr!.on('data', (c: Buffer) => (out += c));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child!.once('exit', (_code, signal) => resolve(signal)));

    // A live worker (this process): one idle sandbox and one busy with an action through the whole test.
    const idle = await Sandbox.create({ docker, owner: LIVE });
    const busy = await Sandbox.create({ docker, owner: LIVE });
    live.push(idle, busy);
    const busyRun = busy.run('sleep 15; echo done', { timeoutMs: 60_000 });

    assert.ok(await waitFor(async () => out.includes('burning'), 60_000), `the child never started its sandbox:\n${out}`);
    const [gone] = await containersOf(GONE);
    assert.ok(gone, 'the child’s sandbox exists');
    const top = async () => ((await docker.getContainer(gone.Id).top()).Processes as string[][]).map((p) => p.at(-1)).join('\n');
    assert.ok(await waitFor(async () => /while/.test(await top()), 10_000), 'the action runs');

    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.ok(await waitFor(async () => !(await docker.getContainer(gone.Id).inspect()).State.Running, 20_000), 'the sandbox stopped');
    const finishedAt = Date.parse((await docker.getContainer(gone.Id).inspect()).State.FinishedAt);

    // Another CPU worker, of another owner on another host, with a short period: it removes the stopped sandbox.
    const saved = { owner: process.env.PIVOTRL_SANDBOX_OWNER, host: process.env.PIVOTRL_HOST };
    process.env.PIVOTRL_SANDBOX_OWNER = REAPER;
    process.env.PIVOTRL_HOST = `reaper-host-${process.pid}`;
    const connection = await NativeConnection.connect({ address: TemporalConfig.parse({}).address });
    try {
      const cpu = await createCpuWorker({
        connection,
        namespace: 'default',
        taskQueue: `sandbox-reaper-${process.pid}`,
        docker,
        reapIntervalMs: 500,
        reapAfterMs: REAP_AFTER_MS,
      });
      let removedAt = 0;
      try {
        await cpu.worker.runUntil(
          waitFor(async () => {
            if ((await containersOf(GONE)).length > 0) return false;
            removedAt = Date.now();
            return true;
          }, 60_000),
        );
      } finally {
        await cpu.close();
      }
      assert.ok(removedAt > 0, 'the stopped sandbox was not removed');
      assert.ok(removedAt - finishedAt >= REAP_AFTER_MS, `removed ${removedAt - finishedAt} ms after it stopped, before the period`);
    } finally {
      await connection.close();
      process.env.PIVOTRL_SANDBOX_OWNER = saved.owner;
      process.env.PIVOTRL_HOST = saved.host;
      if (saved.owner === undefined) delete process.env.PIVOTRL_SANDBOX_OWNER;
      if (saved.host === undefined) delete process.env.PIVOTRL_HOST;
    }

    // The live worker's sandboxes were never touched: the busy action finishes, the idle sandbox serves.
    assert.equal((await busyRun).output, 'done\n');
    assert.equal((await idle.exec('echo alive')).output, 'alive\n');
    assert.equal((await containersOf(LIVE)).length, 2);
  },
);
