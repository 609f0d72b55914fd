// The Docker socket proxy (sandboxes/docker-proxy) built from source and run in front of the real engine: it refuses
// privileged, host-mount and host-network creates, extra capabilities, unconfined profiles, calls on containers that
// are not sandboxes and endpoints the worker never needs; the terminal verifier works through it.
// Needs Go (as deploy/local/docker-proxy.sh), Docker with the pivotrl/terminal:latest image (`make setup`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { TerminalTask, type Turn } from '../../core/schemas';
import { requireDocker } from '../../harness/docker';
import { connectEngine, type Container, type DockerClient } from '../../sandboxes/engine';
import { OWNER_LABEL, SANDBOX_LABEL, reapSandboxes } from '../../sandboxes/reaper';
import { DEFAULT_IMAGE } from '../../sandboxes/sandbox';
import { TerminalVerifier } from '../../verifiers/terminal';
import { tempDir } from '../../harness/temp-dir';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OWNER = `test-docker-proxy-${process.pid}`;
const ENGINE_SOCKET = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : '/var/run/docker.sock';

let dir = '';
let proxy: ChildProcess | null = null;
let engine: DockerClient;
let proxied: DockerClient;
let plain: Container | null = null;

before(async () => {
  engine = await requireDocker();
  await engine.getImage(DEFAULT_IMAGE).inspect();
  dir = tempDir('pivotrl-docker-proxy-');
  const bin = join(dir, 'docker-proxy');
  await promisify(execFile)('go', ['build', '-trimpath', '-buildvcs=false', '-o', bin, '.'], {
    cwd: join(ROOT, 'sandboxes/docker-proxy'),
    env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local' },
  });
  const socket = join(dir, 'docker.sock');
  proxy = spawn(bin, [socket, ENGINE_SOCKET], { stdio: ['ignore', 'ignore', 'pipe'] });
  proxied = connectEngine(socket);
  for (let i = 0; i < 100; i++) {
    if (
      await proxied.ping().then(
        () => true,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // A container that is not a sandbox, made on the engine directly: the worker must not reach it.
  plain = await engine.createContainer({ Image: DEFAULT_IMAGE, Cmd: ['sleep', '300'], Labels: { [OWNER_LABEL]: OWNER } });
  await plain.start();
});

after(async () => {
  await plain?.remove({ force: true }).catch(() => undefined);
  await reapSandboxes(engine, OWNER);
  proxy?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

/** A sandbox-like create body with `hostConfig` merged into its HostConfig. */
const create = (
  hostConfig: Record<string, unknown> = {},
  labels: Record<string, string> = { [SANDBOX_LABEL]: '1', [OWNER_LABEL]: OWNER },
) =>
  proxied.createContainer({
    Image: DEFAULT_IMAGE,
    Cmd: ['true'],
    Labels: labels,
    HostConfig: { NetworkMode: 'none', CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], ...hostConfig },
  });

const refused = async (p: Promise<unknown>, why: RegExp) => {
  await assert.rejects(p, (err: { statusCode?: number; message?: string }) => {
    assert.equal(err.statusCode, 403, String(err.message));
    assert.match(String(err.message), why);
    return true;
  });
};

test('creates that would leave the sandbox are refused; a sandbox create passes', { timeout: 60_000 }, async () => {
  await refused(create({ Privileged: true }), /privileged/);
  await refused(create({ Binds: ['/:/host'] }), /bind mounts/);
  await refused(create({ Mounts: [{ Type: 'bind', Source: '/', Target: '/host' }] }), /"bind" mount/);
  await refused(create({ NetworkMode: 'host' }), /NetworkMode host/);
  await refused(create({ PidMode: 'host' }), /PidMode host/);
  await refused(create({ NetworkMode: `container:${plain!.id}` }), /NetworkMode container:/);
  await refused(create({ CapAdd: ['SYS_ADMIN'] }), /capability "SYS_ADMIN"/);
  await refused(create({ SecurityOpt: ['no-new-privileges', 'seccomp=unconfined'] }), /seccomp=unconfined/);
  await refused(create({ SecurityOpt: [] }), /no-new-privileges/);
  await refused(create({ Devices: [{ PathOnHost: '/dev/kmsg', PathInContainer: '/dev/kmsg', CgroupPermissions: 'rwm' }] }), /devices/);
  await refused(create({}, { [OWNER_LABEL]: OWNER }), /without label pivotrl.sandbox=1/);
  const ok = await create({ CapAdd: ['SETUID', 'KILL'] });
  await ok.remove({ force: true });
});

test('containers that are not sandboxes are out of reach; unneeded endpoints are refused', { timeout: 60_000 }, async () => {
  const other = proxied.getContainer(plain!.id);
  await refused(other.exec({ Cmd: ['id'] }), /not a sandbox/);
  await refused(other.remove({ force: true }), /not a sandbox/);
  await refused(other.inspect(), /not a sandbox/);
  const listed = await proxied.listContainers({ all: true, filters: { label: [`${OWNER_LABEL}=${OWNER}`] } });
  assert.ok(!listed.some((c) => c.Id === plain!.id), 'a listing shows sandboxes only');
  await refused(proxied.pull('debian:bookworm'), /not an operation the worker needs/);
  await refused(proxied.listVolumes(), /not an operation the worker needs/);
  await refused(proxied.createVolume({ Name: 'x', DriverOpts: { device: '/', o: 'bind', type: 'none' } }), /not an operation/);
  await refused(proxied.swarmInit({}), /not an operation the worker needs/);
  await refused(proxied.listPlugins(), /not an operation the worker needs/);
});

test('the terminal verifier works through the proxy', { timeout: 120_000 }, async () => {
  const task = TerminalTask.parse({
    id: 'proxy-task',
    template: 'test',
    goal: 'list',
    files: [{ path: 'notes.txt', content: 'alpha\n' }],
    check: 'true',
  });
  const turn: Turn = { id: 'proxy-turn', trajectoryId: 't', index: 0, domain: 'terminal', task, history: [], expert: 'ls' };
  const v = new TerminalVerifier({ docker: proxied, owner: OWNER, actionTimeoutMs: 30_000, concurrency: 1 });
  const texts = ['ls -a', 'rm notes.txt', ':(){ :|:& };:'];
  const vs = await v.verifyBatch([{ turn, samples: texts.map((text, index) => ({ turnId: turn.id, index, text, logprobs: [] })) }]);
  assert.deepEqual(
    vs.map((x) => [x.reward, x.reason]),
    [
      [1, 'equivalent'],
      [0, 'different_files'],
      [0, 'resource_limit'],
    ],
  );
  assert.equal(await reapSandboxes(proxied, OWNER), 0, 'the verifier removed its sandboxes (through the proxy)');
});
