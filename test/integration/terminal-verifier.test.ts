// The functional terminal verifier against a real Docker engine and the pivotrl/terminal:latest image.
// Needs the image: `make setup` (deploy/local/images.sh) builds it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxInfraError, type ContainerInfo, type DockerClient } from '../../sandboxes/engine';
import { TerminalTask, type Sample, type Turn, type Verdict } from '../../core/schemas';
import { requireDocker } from '../../harness/docker';
import { OWNER_LABEL, reapSandboxes } from '../../sandboxes/reaper';
import { DEFAULT_IMAGE, Sandbox } from '../../sandboxes/sandbox';
import { openTurnState, replayEpisode, TerminalEpisodeRunner, type ReplayResult } from '../../sandboxes/terminal';
import { Memo } from '../../core/memo';
import type { VerdictOutcome } from '../../verifiers/executing';
import { createVerifier } from '../../verifiers';
import { TerminalVerifier } from '../../verifiers/terminal';

const OWNER = `test-terminal-verifier-${process.pid}`;
// Verdicts must not depend on the machine's speed or load: ordinary actions get a limit they meet even on a loaded
// machine, and the resource bombs one far beyond what they need to hit their limits (256 MiB at ~160 MB/s takes
// 1.6 s). Only the endless-loop test uses a short limit, with actions that need a fraction of it.
const ACTION_TIMEOUT_MS = 30_000;
const HOSTILE_TIMEOUT_MS = 60_000;
const LOOP_TIMEOUT_MS = 5000;
let docker: DockerClient;

const task = TerminalTask.parse({
  id: 'task-1',
  template: 'test',
  goal: 'tidy the project',
  files: [
    { path: 'notes.txt', content: 'alpha\nbeta\ngamma\n' },
    { path: 'src/main.c', content: 'int main(void) { return 0; }\n' },
    { path: 'run.sh', content: '#!/bin/sh\necho running\n', mode: 0o755 },
    { path: 'logs/a.log', content: 'a\n' },
    { path: 'logs/b.log', content: 'b\n' },
  ],
  dirs: ['empty'],
  check: 'test -d build/out && test "$(cat build/out/count.txt)" = 2',
});

let nTurns = 0;
function turn(expert: string, history: string[] = []): Turn {
  const id = `turn-${++nTurns}`;
  return {
    id,
    trajectoryId: 'traj-1',
    index: history.length,
    domain: 'terminal',
    task,
    history: history.map((action) => ({ action, output: '' })),
    expert,
  };
}
const samples = (t: Turn, texts: string[]): Sample[] => texts.map((text, index) => ({ turnId: t.id, index, text, logprobs: [] }));

function verifier(extra: Partial<ConstructorParameters<typeof TerminalVerifier>[0]> = {}) {
  return new TerminalVerifier({ docker, owner: OWNER, actionTimeoutMs: ACTION_TIMEOUT_MS, concurrency: 2, ...extra });
}

async function ours(): Promise<ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${OWNER_LABEL}=${OWNER}`] } });
}

const brief = (vs: Verdict[]) => vs.map((v) => [v.index, v.reward, v.reason]);

describe('terminal verifier (Docker)', () => {
  before(async () => {
    docker = await requireDocker();
    try {
      await docker.getImage(DEFAULT_IMAGE).inspect();
    } catch {
      throw new Error(`sandbox image ${DEFAULT_IMAGE} is missing: run \`make setup\` (deploy/local/images.sh builds it)`);
    }
  });

  after(async () => {
    const left = await ours();
    await reapSandboxes(docker, OWNER);
    assert.deepEqual(
      left.map((c) => c.Id.slice(0, 12)),
      [],
      'sandbox containers left behind',
    );
  });

  test('equivalent variants earn 1, near misses 0 with the right reason', { timeout: 120_000 }, async (t) => {
    const ls = turn('ls');
    const mkdir = turn('mkdir -p build/out');
    const cat = turn('cat greeting.txt', ['echo hello > greeting.txt', 'echo world >> greeting.txt']);
    const count = turn('ls logs | wc -l > build/out/count.txt', ['mkdir -p build/out']);
    const chmod = turn('chmod +x notes.txt');
    const rm = turn('rm logs/*.log');
    const v = verifier();
    const t0 = performance.now();
    const progress: number[] = [];
    const verdicts = await v.verifyBatch(
      [
        { turn: ls, samples: samples(ls, ['ls -a', 'ls -1', 'ls\n', 'ls -a', 'ls -l', 'ls src', 'ls -R', '   ']) },
        {
          turn: mkdir,
          samples: samples(mkdir, [
            'mkdir build && mkdir build/out',
            'mkdir -p build/out/',
            'mkdir build',
            'mkdir -p build/out && touch build/out/x',
            'mkdir -p build/out; chmod 700 build',
          ]),
        },
        {
          turn: cat,
          samples: samples(cat, [
            'cat ./greeting.txt',
            'head -n 5 greeting.txt',
            'cat greting.txt',
            'echo hello',
            'grep -v zzz greeting.txt && rm greeting.txt',
            'tac greeting.txt',
          ]),
        },
        {
          turn: count,
          samples: samples(count, [
            'ls logs | wc -l > build/out/count.txt',
            'find logs -type f | wc -l > build/out/count.txt',
            'echo 2 > build/out/count.txt',
            'printf 2 > build/out/count.txt',
            'ls logs | wc -l > count.txt',
          ]),
        },
        { turn: chmod, samples: samples(chmod, ['chmod 755 notes.txt', 'chmod u+x,g+x,o+x notes.txt', 'chmod u+x notes.txt']) },
        {
          turn: rm,
          samples: samples(rm, ['rm -f logs/a.log logs/b.log', 'find logs -name "*.log" -delete', 'rm -r logs', 'rm logs/a.log']),
        },
      ],
      { onProgress: (n) => progress.push(n) },
    );
    const ms = performance.now() - t0;
    const by = (tt: Turn) => brief(verdicts.filter((x) => x.turnId === tt.id));
    assert.deepEqual(by(ls), [
      [0, 1, 'equivalent'],
      [1, 1, 'equivalent'],
      [2, 1, 'exact_match'],
      [3, 1, 'equivalent'],
      [4, 0, 'missing_output'],
      [5, 0, 'missing_output'],
      [6, 1, 'equivalent'],
      [7, 0, 'empty_action'],
    ]);
    assert.deepEqual(by(mkdir), [
      [0, 1, 'equivalent'],
      [1, 1, 'equivalent'],
      [2, 0, 'different_files'],
      [3, 0, 'different_files'],
      [4, 0, 'different_files'],
    ]);
    assert.deepEqual(by(cat), [
      [0, 1, 'equivalent'],
      [1, 1, 'equivalent'],
      [2, 0, 'nonzero_exit'],
      [3, 0, 'missing_output'],
      [4, 0, 'different_files'],
      [5, 1, 'equivalent'],
    ]);
    assert.deepEqual(by(count), [
      [0, 1, 'exact_match'],
      [1, 1, 'equivalent'],
      [2, 1, 'equivalent'],
      [3, 0, 'different_files'],
      [4, 0, 'different_files'],
    ]);
    assert.deepEqual(by(chmod), [
      [0, 1, 'equivalent'],
      [1, 1, 'equivalent'],
      [2, 0, 'different_files'],
    ]);
    assert.deepEqual(by(rm), [
      [0, 1, 'equivalent'],
      [1, 1, 'equivalent'],
      [2, 0, 'different_files'],
      [3, 0, 'different_files'],
    ]);
    assert.equal(progress.length, 6);
    assert.deepEqual(
      verdicts.map((x) => [x.turnId, x.index]),
      [ls, mkdir, cat, count, chmod, rm].flatMap((tt) =>
        Array.from({ length: verdicts.filter((x) => x.turnId === tt.id).length }, (_, i) => [tt.id, i]),
      ),
      'verdicts come back in input order',
    );
    const s = v.stats;
    t.diagnostic(
      `6 turns, ${verdicts.length} samples in ${ms.toFixed(0)} ms; states opened ${s.statesOpened} ` +
        `(avg ${(s.openMs / s.statesOpened).toFixed(1)} ms incl. sandbox reset/create, files, prefix, snapshot), ` +
        `actions run ${s.actionsRun} (avg ${(s.actionMs / s.actionsRun).toFixed(1)} ms each), reused ${s.samplesReused}, sandboxes created ${s.sandboxesCreated}`,
    );
    assert.equal(s.samplesReused, 4, 'identical strings and expert-identical samples are not re-run');
    assert.ok(s.sandboxesCreated <= 2, 'sandboxes are reused across turns');
  });

  test('an endless loop gets reason timeout quickly', { timeout: 60_000 }, async () => {
    const tt = turn('ls');
    const t0 = performance.now();
    const vs = await verifier({ actionTimeoutMs: LOOP_TIMEOUT_MS }).verifyBatch([
      { turn: tt, samples: samples(tt, ['while :; do :; done', 'sleep 600', 'ls -a']) },
    ]);
    const ms = performance.now() - t0;
    assert.deepEqual(brief(vs), [
      [0, 0, 'timeout'],
      [1, 0, 'timeout'],
      [2, 1, 'equivalent'],
    ]);
    assert.ok(ms < 60_000, `took ${ms.toFixed(0)} ms: the 600 s sleep was not cut at the action limit`);
  });

  test(
    'an action that leaves /work over the listing’s caps gets reward 0 with resource_limit, not a masked sample',
    { timeout: 60_000 },
    async () => {
      const tt = turn('ls');
      const v = verifier({ limits: { manifestEntries: 200, manifestBytes: 64 * 1024 } });
      const vs = await v.verifyBatch([
        {
          turn: tt,
          samples: samples(tt, [
            'ls; for i in $(seq 300); do ln notes.txt l$i; done',
            'ls; n=$(printf "n%.0s" {1..200}); for i in $(seq 100); do mkdir $n && cd $n; done',
            'ls -a',
          ]),
        },
      ]);
      assert.deepEqual(brief(vs), [
        [0, 0, 'resource_limit'],
        [1, 0, 'resource_limit'],
        [2, 1, 'equivalent'],
      ]);
      assert.equal(v.stats.infraRetries, 0);
      assert.equal(v.stats.masked, 0);
    },
  );

  test('a memo answers a verdict measured before without a sandbox; a timed-out one is measured again', { timeout: 120_000 }, async () => {
    const memo = new Memo<VerdictOutcome>();
    const cat = turn('cat greeting.txt', ['echo hello > greeting.txt']);
    const mk = turn('mkdir -p build/out');
    const batch = [
      { turn: cat, samples: samples(cat, ['cat ./greeting.txt', 'echo hello', 'cat greeting.txt', 'tac greeting.txt']) },
      { turn: mk, samples: samples(mk, ['mkdir build', 'mkdir -p build/out/']) },
    ];
    const first = verifier({ memo });
    const measured = await first.verifyBatch(batch);
    assert.equal(first.stats.memoHits, 0);
    // Five distinct non-expert actions measured (the third sample is the expert's own string: 1 without a run).
    assert.equal(memo.stats().size, 5);

    const second = verifier({ memo });
    const reused = await second.verifyBatch(batch);
    assert.deepEqual(reused, measured);
    assert.equal(second.stats.memoHits, 5);
    assert.equal(second.stats.statesOpened, 0, 'every verdict was known: no state should be opened');

    // The same action at another state, or under another action limit, is not the same question.
    const other = turn('cat greeting.txt', ['echo bye > greeting.txt']);
    const third = verifier({ memo, actionTimeoutMs: ACTION_TIMEOUT_MS + 1 });
    await third.verifyBatch([
      { turn: cat, samples: samples(cat, ['echo hello']) },
      { turn: other, samples: samples(other, ['echo hello']) },
    ]);
    assert.equal(third.stats.memoHits, 0);
    assert.equal(third.stats.statesOpened, 2);

    // A verdict that depended on the wall clock is never memoised.
    const slow = turn('ls');
    const timed = verifier({ memo, actionTimeoutMs: LOOP_TIMEOUT_MS });
    const loop = [{ turn: slow, samples: samples(slow, ['sleep 600']) }];
    assert.deepEqual(brief(await timed.verifyBatch(loop)), [[0, 0, 'timeout']]);
    await timed.verifyBatch(loop);
    assert.equal(timed.stats.memoHits, 0);
    assert.equal(timed.stats.statesOpened, 1);
  });

  // The action limit here is far beyond the time any of these needs to hit its resource limit, even on a slow or loaded
  // machine: each verdict must come from what happened (OOM kill, pids limit, file-size signal), and the runner ends an
  // action as soon as it hits one, so the long limit costs no time.
  test(
    'fork bomb, memory hog, file-size bomb, runaway output and kill -9 -1 are contained; the next sample is fine',
    { timeout: 240_000 },
    async () => {
      const tt = turn('ls');
      const v = verifier({ actionTimeoutMs: HOSTILE_TIMEOUT_MS });
      const t0 = performance.now();
      const vs = await v.verifyBatch([
        {
          turn: tt,
          samples: samples(tt, [
            ':(){ :|:& };:',
            'for i in $(seq 1000); do sleep 30 & done; wait',
            'head -c 2000000000 /dev/zero | tail',
            'x=$(head -c 600000000 /dev/zero | tr "\\0" a); echo ${#x}',
            'ls; yes | head -c 50000000',
            'kill -9 -1; ls',
            'ls; sleep 300 &',
            'ls -a',
            'ls && touch /etc/passwd /x 2>/dev/null; ls',
            'truncate -s 1T big',
          ]),
        },
      ]);
      assert.deepEqual(brief(vs), [
        [0, 0, 'resource_limit'],
        [1, 0, 'resource_limit'],
        [2, 0, 'resource_limit'],
        [3, 0, 'resource_limit'],
        [4, 1, 'equivalent'],
        [5, 1, 'equivalent'],
        [6, 0, 'resource_limit'],
        [7, 1, 'equivalent'],
        [8, 1, 'equivalent'],
        [9, 0, 'resource_limit'],
      ]);
      assert.ok(performance.now() - t0 < HOSTILE_TIMEOUT_MS, 'no hostile action ran to the wall-clock limit');
      assert.equal(v.stats.infraRetries, 0, 'contained actions are not infrastructure failures');
      assert.equal(v.stats.sandboxesCreated, 1);
    },
  );

  test("every action gets its own exit status, however its end falls against the runner's polls", { timeout: 240_000 }, async () => {
    // The runner polls for the action's status line every 50 ms; a status that arrives as a poll times out must not
    // be lost (it was: one action in five around 50 ms ran to the wall-clock limit).
    const sb = await Sandbox.create({ docker, owner: OWNER });
    try {
      const wrong: string[] = [];
      for (let i = 0; i < 100; i++) {
        const seconds = (0.03 + (i % 9) * 0.005).toFixed(3);
        const r = await sb.exec(`sleep ${seconds}; exit ${i % 5}`, { timeoutMs: ACTION_TIMEOUT_MS });
        if (r.timedOut || r.exitCode !== i % 5) wrong.push(`#${i} (sleep ${seconds}): exit ${r.exitCode}, timed out ${r.timedOut}`);
      }
      assert.deepEqual(wrong, []);
    } finally {
      await sb.destroy();
    }
  });

  test('no network, read-only root, unprivileged actions, runner out of reach', { timeout: 60_000 }, async () => {
    const state = await openTurnState(task, [], { docker, owner: OWNER, actionTimeoutMs: 5000 });
    try {
      const net = await state.runAction(
        'curl -sS -m 2 http://example.com; echo curl=$?; (exec 3<>/dev/tcp/1.1.1.1/80) && echo tcp=ok; ls /sys/class/net; getent hosts example.com || echo dns=none',
      );
      assert.match(net.output, /curl=127/);
      assert.doesNotMatch(net.output, /tcp=ok/);
      assert.match(net.output, /Network is unreachable/);
      assert.match(net.output, /^lo$/m);
      assert.doesNotMatch(net.output, /eth0/);
      assert.match(net.output, /dns=none/);
      const who = await state.runAction(
        'id -u; grep CapEff /proc/self/status; touch /etc/x /usr/x 2>&1 | head -1; ls /run/pivotrl 2>&1; kill -9 1 && echo killed1; su -c id </dev/null >/dev/null 2>&1 || echo nosu',
      );
      assert.match(who.output, /^1000$/m);
      assert.match(who.output, /CapEff:\s+0000000000000000/);
      assert.match(who.output, /Read-only file system/);
      assert.match(who.output, /Permission denied/);
      assert.doesNotMatch(who.output, /killed1/);
      assert.match(who.output, /nosu/);
      const after = await state.runAction('echo still here');
      assert.equal(after.output, 'still here\n');
      const info = await docker.getContainer(state.sandbox.id).inspect();
      assert.equal(info.HostConfig.NetworkMode, 'none');
      assert.equal(info.HostConfig.ReadonlyRootfs, true);
      assert.deepEqual(info.HostConfig.CapDrop, ['ALL']);
      assert.deepEqual(info.Mounts, []);
      assert.equal(info.HostConfig.Memory, 256 * 1024 * 1024);
      assert.equal(info.HostConfig.MemorySwap, 256 * 1024 * 1024);
      assert.ok((info.HostConfig.PidsLimit ?? 0) > 0);
    } finally {
      await state.close();
    }
  });

  test(
    'an infrastructure failure is retried on a fresh sandbox; twice gives reward null (masked), never 0',
    { timeout: 120_000 },
    async () => {
      // Kill our sandboxes from outside once, while a sample runs: the retry on a fresh sandbox succeeds.
      const tt = turn('ls');
      const v = verifier({ concurrency: 1, actionTimeoutMs: 5000 });
      const killer = setTimeout(async () => {
        for (const c of await ours())
          await docker
            .getContainer(c.Id)
            .kill()
            .catch(() => undefined);
      }, 1200);
      const vs = await v.verifyBatch([{ turn: tt, samples: samples(tt, ['sleep 1.5; ls -a', 'ls -1']) }]);
      clearTimeout(killer);
      assert.deepEqual(brief(vs), [
        [0, 1, 'equivalent'],
        [1, 1, 'equivalent'],
      ]);
      assert.equal(v.stats.infraRetries, 1);

      // Keep killing them: the sample cannot be verified and is masked.
      const t2 = turn('ls');
      const v2 = verifier({ concurrency: 1, actionTimeoutMs: 5000 });
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          await new Promise((r) => setTimeout(r, 150));
          for (const c of await ours())
            await docker
              .getContainer(c.Id)
              .kill()
              .catch(() => undefined);
        }
      })();
      const masked = await v2.verifyBatch([{ turn: t2, samples: samples(t2, ['sleep 1.4; ls -a', 'ls', '']) }]);
      stop = true;
      await loop;
      assert.equal(masked[0].reward, null);
      assert.equal(masked[0].reason, 'infrastructure');
      assert.deepEqual(
        masked.slice(1).map((x) => [x.reward, x.reason]),
        [
          [1, 'exact_match'],
          [0, 'empty_action'],
        ],
      );
    },
  );

  test('engine-side errors are SandboxInfraError, distinct from action failures', { timeout: 60_000 }, async () => {
    const sb = await Sandbox.create({ docker, owner: OWNER });
    const failed = await sb.exec('exit 3');
    assert.equal(failed.exitCode, 3);
    await docker.getContainer(sb.id).remove({ force: true });
    await assert.rejects(sb.exec('true'), (err: unknown) => err instanceof SandboxInfraError);
    await sb.destroy();
    await assert.rejects(
      Sandbox.create({ docker, owner: OWNER, image: 'pivotrl/no-such-image:latest' }),
      (err: unknown) => err instanceof SandboxInfraError && err.code === 'image_missing' && /make setup/.test(err.message),
    );
    const tt = turn('ls');
    await assert.rejects(
      createVerifier('functional', { docker, owner: OWNER, image: 'pivotrl/no-such-image:latest' }).verifyBatch([
        { turn: tt, samples: samples(tt, ['ls -a']) },
      ]),
      /make setup/,
    );
  });

  test('abort destroys the sandboxes and rejects', { timeout: 60_000 }, async () => {
    const tt = turn('ls');
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('cancelled by test')), 800);
    const t0 = performance.now();
    await assert.rejects(
      verifier().verifyBatch([{ turn: tt, samples: samples(tt, ['sleep 20', 'sleep 21', 'sleep 22']) }], { signal: ctl.signal }),
      /cancelled by test/,
    );
    assert.ok(performance.now() - t0 < 10_000);
    assert.deepEqual(await ours(), []);
  });

  test('replayEpisode: an expert trajectory passes the check, a wrong one does not', { timeout: 60_000 }, async () => {
    const expert = ['mkdir -p build/out', 'ls logs', 'ls logs | wc -l > build/out/count.txt', 'cat build/out/count.txt'];
    const ok = await replayEpisode(task, expert, { docker, owner: OWNER });
    assert.equal(ok.passed, true);
    assert.deepEqual(
      ok.outputs.map((o) => [o.output, o.exitCode]),
      [
        ['', 0],
        ['a.log\nb.log\n', 0],
        ['', 0],
        ['2\n', 0],
      ],
    );
    const memo = new Memo<ReplayResult>();
    const runner = new TerminalEpisodeRunner({ docker, owner: OWNER, memo });
    try {
      const wrong = await runner.replay(task, ['mkdir build', 'cat nothing']);
      assert.equal(wrong.passed, false);
      assert.equal(wrong.outputs[1].exitCode, 1);
      // The sandbox is reused after a reset: nothing of the previous episode is left.
      const fresh = await runner.replay(task, ['ls -a; ls /tmp']);
      assert.equal(fresh.outputs[0].output, '.\n..\nempty\nlogs\nnotes.txt\nrun.sh\nsrc\n');
      // A replay run before is answered from the memo, equal to the measured one; a longer episode is run.
      assert.deepEqual(await runner.replay(task, ['mkdir build', 'cat nothing']), wrong);
      await runner.replay(task, ['mkdir build', 'cat nothing', 'ls']);
      assert.deepEqual(memo.stats(), { hits: 1, misses: 3, size: 3 });
    } finally {
      await runner.close();
    }
  });
});
