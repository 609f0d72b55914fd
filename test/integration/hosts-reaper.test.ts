// Worker hosts share one Docker engine and one machine host name: sandboxes carry the worker host that made them
// (pivotrl.host = PIVOTRL_HOST), and a host that comes back removes what its earlier incarnation left even when that
// pid is alive again (here: this test process), while other hosts' sandboxes of live processes are spared.
// Needs Docker with the pivotrl/terminal:latest image (`make setup`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DockerClient } from '../../sandboxes/engine';
import { HOST_LABEL, OWNER_LABEL, PID_LABEL, SANDBOX_LABEL, reapSandboxes } from '../../sandboxes/reaper';
import { DEFAULT_IMAGE, Sandbox } from '../../sandboxes/sandbox';
import { requireDocker } from '../../harness/docker';

let docker: DockerClient;
// An owner of our own, so that sandboxes of other tests and workers on this machine are never touched.
const owner = `hosts-reaper-${randomUUID().slice(0, 8)}`;
const labelsOf = async () =>
  (await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABEL}=1`, `${OWNER_LABEL}=${owner}`] } })).map((c) => c.Labels);

/** A container labelled like a sandbox (not started: the reaper goes by labels only). */
async function labelled(host: string, pid: number): Promise<void> {
  await docker.createContainer({
    Image: DEFAULT_IMAGE,
    Cmd: ['true'],
    Labels: { [SANDBOX_LABEL]: '1', [OWNER_LABEL]: owner, [PID_LABEL]: String(pid), [HOST_LABEL]: host },
  });
}

before(async () => {
  docker = await requireDocker();
});

after(async () => {
  await reapSandboxes(docker, owner);
});

test('a sandbox carries the worker host that made it: PIVOTRL_HOST, else the machine host name', async () => {
  const saved = process.env.PIVOTRL_HOST;
  try {
    process.env.PIVOTRL_HOST = 'cpu7';
    const named = await Sandbox.create({ docker, owner });
    delete process.env.PIVOTRL_HOST;
    const unnamed = await Sandbox.create({ docker, owner });
    const hostOf = async (sb: Sandbox) => (await docker.getContainer(sb.id).inspect()).Config.Labels[HOST_LABEL];
    assert.equal(await hostOf(named), 'cpu7');
    assert.equal(await hostOf(unnamed), hostname());
    await Promise.all([named.destroy(), unnamed.destroy()]);
  } finally {
    if (saved === undefined) delete process.env.PIVOTRL_HOST;
    else process.env.PIVOTRL_HOST = saved;
  }
});

test('a host that comes back removes its leftovers (live pid or not) and dead processes’ sandboxes, and spares the rest', async () => {
  const dead = spawnSync('true').pid!; // exited: its pid is no longer alive
  await labelled('cpu1', process.pid); // cpu1's earlier incarnation, its pid since reused (by this process)
  await labelled('cpu1', dead);
  await labelled('cpu2', process.pid); // another host's worker, alive
  await labelled('cpu2', dead); // another host's worker, dead
  assert.equal((await labelsOf()).length, 4);

  const removed = await reapSandboxes(docker, owner, { spareLiveProcesses: true, host: 'cpu1' });

  assert.equal(removed, 3);
  assert.deepEqual(
    (await labelsOf()).map((l) => [l[HOST_LABEL], l[PID_LABEL]]),
    [['cpu2', String(process.pid)]],
  );
  // Without a host name, only dead processes' sandboxes go: the live one of cpu2 stays.
  assert.equal(await reapSandboxes(docker, owner, { spareLiveProcesses: true }), 0);
});
