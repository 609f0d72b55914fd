// The sandbox runner (sandboxes/runner) against a real Docker engine: what it promises beyond the verifier's tests.
// Agent-made links are never followed (manifest, snapshot, restore), fifos never block it, a restore brings the
// snapshot back exactly, trees deeper than its open-file limit work, its listing is capped, IPC objects go, and it
// ends with its stdin, and the container with it.
// Needs Docker with the pivotrl/terminal:latest image (`make setup`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PassThrough, type Duplex } from 'node:stream';
import type { DockerClient } from '../../sandboxes/engine';
import { requireDocker } from '../../harness/docker';
import { reapSandboxes } from '../../sandboxes/reaper';
import { DEFAULT_IMAGE, RUNNER_PATH, Sandbox } from '../../sandboxes/sandbox';

const OWNER = `test-sandbox-runner-${process.pid}`;
const T = { timeoutMs: 30_000 };
let docker: DockerClient;
let sb: Sandbox;

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** Runs a command as root beside the runner (a separate `docker exec`, between requests): what the agent cannot see. */
async function asRoot(sandbox: Sandbox, command: string): Promise<string> {
  const exec = await docker
    .getContainer(sandbox.id)
    .exec({ Cmd: ['bash', '-c', command], User: '0:0', AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (c: Buffer) => parts.push(c));
  docker.modem.demuxStream(stream, out, out);
  await new Promise((resolve) => stream.on('end', resolve));
  return Buffer.concat(parts).toString('utf8');
}

/** Everything below /work (itself too), /tmp and /dev/shm: name, mode, links, mtime (ns), type, link target. */
const STATE = "{ find /work -printf '%p|%m|%n|%T@|%y|%l\\n'; find /tmp /dev/shm -mindepth 1 -printf '%p|%m|%n|%T@|%y|%l\\n'; } 2>&1 | sort";

describe('sandbox runner (Docker)', () => {
  before(async () => {
    docker = await requireDocker();
    await docker.getImage(DEFAULT_IMAGE).inspect();
    sb = await Sandbox.create({ docker, owner: OWNER });
  });

  after(async () => {
    await sb?.destroy();
    await reapSandboxes(docker, OWNER);
  });

  test(
    'the manifest lists an agent-made link as a link (never what it points at) and a fifo without blocking',
    { timeout: 60_000 },
    async () => {
      await sb.reset();
      await sb.writeFiles([{ path: 'notes.txt', content: 'alpha\n' }]);
      await sb.snapshot();
      const action =
        'ln -s /run/pivotrl/snap.tar leak; ln -s /run/pivotrl dir; ln -s /proc/1/environ env1; mkfifo pipe; ln -s pipe pipelink';
      const r = await sb.run(action, { ...T, manifest: true });
      assert.equal(r.exitCode, 0, r.output);
      const listed = await sb.manifest();
      assert.deepEqual(r.manifest, listed);
      assert.deepEqual(
        listed.map((e) => [e.path, e.kind, e.sha256]),
        [
          ['dir', 'l', sha('/run/pivotrl')],
          ['env1', 'l', sha('/proc/1/environ')],
          ['leak', 'l', sha('/run/pivotrl/snap.tar')],
          ['notes.txt', 'f', sha('alpha\n')],
          ['pipe', 'o', null],
          ['pipelink', 'l', sha('pipe')],
        ],
      );
      // The snapshot saves the links as links too, and a restore brings them back as links.
      await sb.snapshot();
      const again = await sb.run('readlink leak dir; test -p pipe && echo fifo', { ...T, restore: true, manifest: true });
      assert.equal(again.output, '/run/pivotrl/snap.tar\n/run/pivotrl\nfifo\n');
      assert.deepEqual(again.manifest, listed);
    },
  );

  test(
    'a restore never writes through a link the agent planted where the snapshot has a file or a directory',
    { timeout: 60_000 },
    async () => {
      await sb.reset();
      await sb.writeFiles([
        { path: 'notes.txt', content: 'alpha\n' },
        { path: 'sub/a.txt', content: 'a\n' },
      ]);
      await sb.run('echo t > /tmp/keep && mkdir /tmp/d && echo u > /tmp/d/u && echo s > /dev/shm/keep', T);
      await sb.snapshot();
      const plant = [
        'rm -rf notes.txt sub /tmp/keep /tmp/d /dev/shm/keep',
        'ln -s /run/pivotrl/pwned1 notes.txt',
        'ln -s /run/pivotrl sub',
        'ln -s /run/pivotrl/pwned2 /tmp/keep',
        'ln -s /run/pivotrl /tmp/d',
        'ln -s /run/pivotrl/pwned3 /dev/shm/keep',
        'ln -s /run/pivotrl/pwned4 extra',
      ].join(' && ');
      assert.equal((await sb.run(plant, T)).exitCode, 0);
      const r = await sb.run('cat notes.txt sub/a.txt /tmp/keep /tmp/d/u /dev/shm/keep; ls -A', { ...T, restore: true });
      assert.equal(r.output, 'alpha\na\nt\nu\ns\nnotes.txt\nsub\n');
      // Files written into /work (a put) replace a link where a directory of theirs goes, and never go through one.
      assert.equal((await sb.run('rm -rf sub notes.txt && ln -s /run/pivotrl sub && ln -s /run/pivotrl/pwned5 notes.txt', T)).exitCode, 0);
      await sb.writeFiles([
        { path: 'sub/b.txt', content: 'b\n' },
        { path: 'notes.txt', content: 'beta\n' },
      ]);
      assert.equal((await sb.run('test -L sub || test -L notes.txt || cat sub/b.txt notes.txt', T)).output, 'b\nbeta\n');
      const scratch = await asRoot(sb, 'ls -A /run/pivotrl');
      assert.doesNotMatch(scratch, /pwned|a\.txt|b\.txt|\bu\b/, `the scratch dir holds: ${scratch}`);
    },
  );

  test(
    'a restore brings back modes, mtimes to the nanosecond, hard links, fifos, odd names, /tmp, /dev/shm and /work itself',
    { timeout: 60_000 },
    async () => {
      await sb.reset();
      const setup = [
        'mkdir -p d/e locked && echo x > d/e/f && chmod 4755 d/e/f && chmod 2775 d && chmod 1777 d/e',
        'echo y > locked/in && chmod 000 locked',
        'echo h > h1 && ln h1 h2 && mkfifo -m 640 ff && ln -s d/e/f sl && ln -s nowhere dangling',
        "touch -d '1999-12-31 23:59:59.123456789' h1 && touch -h -d '2000-02-02 02:02:02.5' sl",
        "printf z > $'new\\nline' && printf z > 'back\\slash' && printf z > $'\\xff\\xfe' && printf z > $(printf 'n%.0s' {1..200})",
        "mkdir -p $(printf 'p%.0s/' {1..60}) && head -c 3000000 /dev/urandom > big",
        'echo t > /tmp/t && mkdir -m 700 /tmp/td && ln -s t /tmp/tl && echo s > /dev/shm/s',
        "chmod 751 /work && touch -d '2001-01-01 01:01:01.000000001' /work",
      ].join(' && ');
      assert.equal((await sb.run(setup, T)).exitCode, 0);
      const base = await sb.snapshot();
      const before = await sb.run(STATE, T);
      const wreck = 'chmod 755 /work locked; rm -rf ./* ./.??* /tmp/* /dev/shm/*; echo new > h1; chmod 700 /work';
      await sb.run(wreck, T);
      const after = await sb.run(STATE, { ...T, restore: true, manifest: true });
      assert.equal(after.output, before.output);
      assert.deepEqual(after.manifest, base);
      assert.match(before.output, /^\/work\/h1\|644\|2\|946684799\.1234567890\|f\|$/m);
      assert.match(before.output, /^\/work\|751\|/m);
      assert.match(before.output, /^\/work\/d\/e\/f\|4755\|/m);
      assert.match(before.output, /^\/tmp\/td\|700\|/m);
      // Twice in a row (the second restore starts from a restored state), and after a put.
      await sb.run(wreck, T);
      assert.equal((await sb.run(STATE, { ...T, restore: true })).output, before.output);
    },
  );

  test('a tree deeper than the runner may hold open files is listed, saved, restored and wiped', { timeout: 120_000 }, async () => {
    await sb.reset();
    // 1500 levels: past the 1024 descriptors the runner may hold, within the listing's cap (2.3 MB of paths).
    const deep = "p=$(printf 'd/%.0s' {1..500}); for i in 1 2 3; do mkdir -p $p && cd $p; done; echo deep > f";
    assert.equal((await sb.run(deep, T)).exitCode, 0);
    const path = `${'d/'.repeat(1500)}f`;
    const base = await sb.snapshot();
    assert.equal(base.length, 1501);
    assert.deepEqual(base.at(-1), { path, kind: 'f', mode: 0o644, sha256: sha('deep\n') });
    const r = await sb.run('rm -rf d; echo gone', { ...T, restore: false, manifest: true });
    assert.deepEqual(r.manifest, []);
    const back = await sb.run("p=$(printf 'd/%.0s' {1..500}); cd $p && cd $p && cd $p && cat f", { ...T, restore: true, manifest: true });
    assert.equal(back.output, 'deep\n');
    assert.deepEqual(back.manifest, base);
    await sb.reset();
    assert.equal((await sb.exec('ls -A /work')).output, '');
  });

  test('a listing over its caps is not sent: the action hits manifestCapHit, a snapshot of it fails', { timeout: 60_000 }, async () => {
    const capped = await Sandbox.create({ docker, owner: OWNER, limits: { manifestEntries: 200, manifestBytes: 64 * 1024 } });
    try {
      const fits = await capped.run('for i in $(seq 100); do echo $i > f$i; done', { ...T, manifest: true });
      assert.equal(fits.manifestCapHit, false);
      assert.equal(fits.manifest?.length, 100);
      // Hard links: entries without inodes (the tmpfs's inode limit does not bound them).
      const links = await capped.run('echo x > f; for i in $(seq 300); do ln f l$i; done', { ...T, restore: false, manifest: true });
      assert.equal(links.exitCode, 0);
      assert.equal(links.manifestCapHit, true, 'entries over the cap');
      assert.deepEqual(links.manifest, []);
      await capped.reset();
      // 100 levels of 200-byte names: 100 entries, 1 MB of paths.
      const deep = await capped.run('n=$(printf "n%.0s" {1..200}); for i in $(seq 100); do mkdir $n && cd $n; done', {
        ...T,
        manifest: true,
      });
      assert.equal(deep.exitCode, 0);
      assert.equal(deep.manifestCapHit, true, 'bytes over the cap');
      await assert.rejects(capped.snapshot(), /over its cap \(200 entries, 65536 bytes\)/);
      assert.equal((await capped.run('echo alive', T)).output, 'alive\n', 'the sandbox still serves');
    } finally {
      await capped.destroy();
    }
  });

  test(
    'System V IPC objects and POSIX message queues the agent leaves are gone after a restore and after a reset',
    { timeout: 60_000 },
    async () => {
      await sb.reset();
      await sb.writeFiles([{ path: 'notes.txt', content: 'alpha\n' }]);
      await sb.snapshot();
      const make = 'ipcmk -M 4096 >/dev/null && ipcmk -Q >/dev/null && ipcmk -S 1 >/dev/null && touch /dev/mqueue/q && echo made';
      const count = "echo $(ipcs -m -q -s | grep -c '^0x') $(ls -A /dev/mqueue | wc -l)";
      assert.equal((await sb.run(make, T)).output, 'made\n');
      assert.equal((await sb.run(count, T)).output, '3 1\n');
      assert.equal((await sb.run(count, { ...T, restore: true })).output, '0 0\n');
      // Right after a snapshot a restore is skipped, unless IPC objects are left.
      await sb.run('ipcmk -M 4096 >/dev/null', T);
      await sb.snapshot();
      assert.equal((await sb.run(count, { ...T, restore: true })).output, '0 0\n');
      assert.equal((await sb.run(make, T)).output, 'made\n');
      await sb.reset();
      assert.equal((await sb.run(count, T)).output, '0 0\n');
    },
  );

  test(
    'an action is the agent with no groups or capabilities, first for the OOM killer, a hard file-size limit, no stdin; its output is capped',
    { timeout: 60_000 },
    async () => {
      await sb.reset();
      const r = await sb.exec(
        "id -u; id -G; grep -E '^Cap(Inh|Prm|Eff|Amb)' /proc/self/status; cat /proc/self/oom_score_adj; ulimit -Hf; " +
          '(ulimit -f unlimited) 2>/dev/null || echo raise=refused; readlink /proc/self/fd/0; cat; pwd; echo $SHLVL',
      );
      assert.equal(
        r.output,
        '1000\n1000\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n' +
          '1000\n98304\nraise=refused\n/dev/null\n/work\n2\n',
      );
      // The agent owns /work: taking its own access away leaves its next action running there, not a failed start.
      assert.equal((await sb.exec('chmod 0 /work')).exitCode, 0);
      const locked = await sb.exec('pwd; ls 2>/dev/null || echo unreadable');
      assert.equal(locked.output, '/work\nunreadable\n');
      await sb.reset();
      assert.equal((await sb.exec('stat -c %a .')).output, '755\n');
      const big = await sb.exec("head -c 70000 /dev/zero | tr '\\0' a; echo tail >&2");
      assert.equal(big.truncated, true);
      assert.equal(big.output, 'a'.repeat(64 * 1024));
      const exact = await sb.exec("head -c 65536 /dev/zero | tr '\\0' b");
      assert.equal(exact.truncated, false);
      assert.equal(exact.output.length, 65536);
    },
  );

  test('the runner is out of the agent’s reach and keeps its threads through fork bombs', { timeout: 120_000 }, async () => {
    await sb.reset();
    const pid = (await asRoot(sb, `grep -l '^${RUNNER_PATH}' /proc/[0-9]*/cmdline | cut -d/ -f3`)).trim();
    assert.match(pid, /^\d+$/);
    const threads = async () => Number(/Threads:\s+(\d+)/.exec(await asRoot(sb, `cat /proc/${pid}/status`))?.[1]);
    const before = await threads();
    const probe = await sb.exec(
      `kill -9 ${pid} 2>/dev/null || echo nokill; cat /proc/${pid}/environ 2>/dev/null || echo noenv; ` +
        `ls /proc/${pid}/fd 2>/dev/null || echo nofd; head -c1 /proc/${pid}/mem 2>/dev/null || echo nomem; ls /run/pivotrl 2>/dev/null || echo noscratch`,
    );
    assert.equal(probe.output, 'nokill\nnoenv\nnofd\nnomem\nnoscratch\n');
    for (let i = 0; i < 3; i++) {
      const bomb = await sb.exec(':(){ :|:& };:; sleep 30', { timeoutMs: 60_000 });
      assert.equal(bomb.pidsLimitHit, true, JSON.stringify(bomb));
    }
    assert.equal((await sb.exec('echo alive')).output, 'alive\n');
    assert.ok((await threads()) <= before + 1, `the runner had ${before} threads, now ${await threads()}`);
  });

  test('when its stdin closes the runner kills the running action, and the container stops', { timeout: 60_000 }, async () => {
    const own = await Sandbox.create({ docker, owner: OWNER });
    try {
      const running = own.run('sleep 300 & while :; do :; done', { timeoutMs: 60_000 }).catch((err: unknown) => err);
      await new Promise((r) => setTimeout(r, 1000));
      assert.match(await asRoot(own, 'cat /proc/[0-9]*/cmdline | tr "\\0" " "'), /sleep 300/);
      (own as unknown as { stream: Duplex }).stream.end();
      await running;
      const container = docker.getContainer(own.id);
      let state = (await container.inspect()).State;
      for (let i = 0; i < 100 && state.Running; i++) {
        await new Promise((r) => setTimeout(r, 100));
        state = (await container.inspect()).State;
      }
      // A stopped container has no process left: the busy loop, the background sleep and the runner are gone.
      assert.equal(state.Running, false, 'the container stopped');
      assert.equal(state.ExitCode, 0, 'PID 1 exited because the runner told it to');
    } finally {
      await own.destroy();
    }
  });
});
