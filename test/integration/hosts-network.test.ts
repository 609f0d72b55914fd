// deploy/hosts/hosts.sh: a host in its own network namespace reaches this machine's services only at the bridge
// address (its loopback is its own), loses them while its link is cut and has them back once restored; kill leaves no
// process in it and remove deletes the namespace. Needs root; no Temporal, no Docker.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import { GATEWAY, hostsIn, type Hosts } from '../../harness/hosts';
import { tempDir } from '../../harness/temp-dir';

const run = promisify(execFile);
const HOST = 'tnet1';
let hosts: Hosts;
let server: Server;
let port: number;

/** Whether a TCP connection from inside the host to address:port succeeds within 2 s. */
async function connects(address: string): Promise<boolean> {
  const probe = `exec 3<>/dev/tcp/${address}/${port}`;
  return run('ip', ['netns', 'exec', `pv-${HOST}`, 'timeout', '2', 'bash', '-c', probe]).then(
    () => true,
    () => false,
  );
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'network namespaces need root');
  hosts = hostsIn(tempDir('pivotrl-hosts-net-'));
  server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  port = (server.address() as { port: number }).port;
  await hosts.remove(HOST);
  await hosts.add(HOST, 201);
});

after(async () => {
  await hosts?.remove(HOST);
  server?.close();
});

test('a host reaches this machine at the bridge address only, and not while its link is cut', async () => {
  assert.equal(await connects(GATEWAY), true, 'the bridge address answers');
  assert.equal(await connects('127.0.0.1'), false, "the host's loopback is its own");
  await hosts.add(HOST, 201); // idempotent: the host keeps working
  assert.equal(await connects(GATEWAY), true);
  await hosts.cut(HOST);
  assert.equal(await connects(GATEWAY), false, 'cut off');
  await hosts.restore(HOST);
  // A link set up again forwards once the bridge has taken its port back, which can take a moment on a loaded machine.
  let restored = false;
  for (let i = 0; i < 10 && !restored; i++) restored = await connects(GATEWAY);
  assert.equal(restored, true, 'restored');
});

test("kill leaves no process in the host's namespace; remove deletes it", async () => {
  const sleeper = spawn('ip', ['netns', 'exec', `pv-${HOST}`, 'sleep', '600'], { stdio: 'ignore' });
  const exited = new Promise((r) => sleeper.once('exit', r));
  for (let i = 0; i < 50 && (await hosts.processes(HOST)) === 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await hosts.processes(HOST), 1);
  await hosts.kill(HOST);
  await exited;
  assert.equal(await hosts.processes(HOST), 0);
  await hosts.remove(HOST);
  const { stdout } = await run('ip', ['netns', 'list']);
  assert.ok(!stdout.split('\n').some((l) => l.split(' ')[0] === `pv-${HOST}`), 'the namespace is gone');
});
