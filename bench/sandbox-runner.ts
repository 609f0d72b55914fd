// Benchmark of the sandbox runner (run: `npx tsx bench/sandbox-runner.ts [--rounds 30] [--turns 20] [--concurrency 2]`).
//
// The Go runner (sandboxes/runner, in the image) against the bash runner it replaced, in the same run on the same
// image: sandboxes/runner.sh as it was before its removal (read from git) started the old way, `bash -c <script>`.
//  (a) ms per op (median over rounds, the two runners taking turns): run('true'), run('true') with restore and
//      manifest (the verifier's request), snapshot, reset, at the state of a terminal task;
//  (b) a verifier batch: TerminalVerifier on `turns` turns of the terminal suite (the expert action, equivalent
//      spellings, near misses), seconds per batch; both runners must give the same verdicts.
// Target: >= 3x on run(restore+manifest). The last line printed is one JSON object. Every container made here
// carries a bench-only owner label and is removed at the end (also on Ctrl-C).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Sample, Turn, Verdict } from '../core/schemas';
import { requireDocker } from '../harness/docker';
import type { Container, DockerClient } from '../sandboxes/engine';
import { reapSandboxes } from '../sandboxes/reaper';
import { DEFAULT_IMAGE, RUNNER_PATH, Sandbox } from '../sandboxes/sandbox';
import { seedWorkspace } from '../sandboxes/terminal';
import { terminalTurns } from '../tasks/terminal/render';
import { generateTerminalSuite } from '../tasks/terminal/suite';
import { TerminalVerifier } from '../verifiers/terminal';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '30' },
    turns: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '2' },
    image: { type: 'string', default: DEFAULT_IMAGE },
  },
});
const ROUNDS = Number(args.rounds);
const TURNS = Number(args.turns);
const CONCURRENCY = Number(args.concurrency);
const IMAGE = args.image!;
const OWNER = `bench-sandbox-runner-${process.pid}`;
const WARMUP = 3;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

type Kind = 'bash' | 'go';
const KINDS: Kind[] = ['bash', 'go'];

/** The bash runner as the commit before its removal had it. */
function bashRunner(): { script: string; commit: string } {
  const git = (...a: string[]) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' });
  const removal = git('log', '-1', '--format=%H', '--diff-filter=D', '--', 'sandboxes/runner.sh').trim();
  if (!removal) throw new Error('no commit removed sandboxes/runner.sh: nothing to compare with');
  const commit = git('rev-parse', `${removal}^`).trim();
  return { script: git('show', `${commit}:sandboxes/runner.sh`), commit };
}

/** A client whose sandboxes start the bash runner instead of the image's: every other call goes to `docker`. */
function withBashRunner(docker: DockerClient, script: string): DockerClient {
  const bound = <T extends object>(target: T, prop: string | symbol) => {
    const v = Reflect.get(target, prop, target) as unknown;
    return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
  };
  const container = (c: Container): Container =>
    new Proxy(c, {
      get(target, prop) {
        if (prop !== 'exec') return bound(target, prop);
        return (opts: Parameters<Container['exec']>[0]) =>
          target.exec(
            opts.Cmd?.[0] === RUNNER_PATH ? { ...opts, Cmd: ['bash', '-c', script, 'pivotrl-runner', ...opts.Cmd.slice(1)] } : opts,
          );
      },
    });
  return new Proxy(docker, {
    get(target, prop) {
      if (prop !== 'createContainer') return bound(target, prop);
      return async (opts: Parameters<DockerClient['createContainer']>[0]) => container(await target.createContainer(opts));
    },
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round2 = (x: number) => Math.round(x * 100) / 100;

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

// --------------------------------------------------------------------------------------------------------
// (a) Single requests at a task's state.

const OPS = ['run(true)', 'run(restore+manifest)', 'snapshot', 'reset'] as const;
type Op = (typeof OPS)[number];

async function measureOps(clients: Record<Kind, DockerClient>) {
  const task = generateTerminalSuite({ seed: 11, trainTasks: 1, heldoutTasks: 0 }).train[0].task;
  const sandboxes = {} as Record<Kind, Sandbox>;
  const ms = Object.fromEntries(KINDS.map((k) => [k, Object.fromEntries(OPS.map((op) => [op, [] as number[]]))])) as Record<
    Kind,
    Record<Op, number[]>
  >;
  try {
    for (const kind of KINDS) {
      sandboxes[kind] = await Sandbox.create({ docker: clients[kind], image: IMAGE, owner: OWNER });
      await seedWorkspace(sandboxes[kind], task);
    }
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      for (const kind of KINDS) {
        const sb = sandboxes[kind];
        // snapshot; an action (the state is no longer the snapshot's); the verifier's request (restore, run,
        // manifest); reset; the task's files again (not timed).
        const t = {
          snapshot: await timed(() => sb.snapshot()),
          'run(true)': await timed(() => sb.run('true')),
          'run(restore+manifest)': await timed(() => sb.run('true', { restore: true, manifest: true })),
          reset: await timed(() => sb.reset()),
        };
        await seedWorkspace(sb, task);
        if (round >= WARMUP) for (const op of OPS) ms[kind][op].push(t[op]);
      }
    }
  } finally {
    await Promise.all(Object.values(sandboxes).map((sb) => sb.destroy()));
  }
  return {
    files: task.files.length,
    median: Object.fromEntries(KINDS.map((k) => [k, Object.fromEntries(OPS.map((op) => [op, round2(median(ms[k][op]))]))])) as Record<
      Kind,
      Record<Op, number>
    >,
  };
}

// --------------------------------------------------------------------------------------------------------
// (b) A verifier batch.

interface Item {
  turn: Turn;
  samples: Sample[];
}

function buildBatch(): Item[] {
  const { train } = generateTerminalSuite({ seed: 11, trainTasks: TURNS, heldoutTasks: 0 });
  const items: Item[] = [];
  for (const traj of train) {
    for (const turn of terminalTurns(traj)) {
      if (items.length >= TURNS) return items;
      const a = turn.expert;
      const texts = [...new Set([a, `{ ${a}; }`, `(${a})`, `true && ${a}`, 'true', `${a} && touch stray.tmp`, `${a}; exit 3`])];
      items.push({ turn, samples: texts.map((text, index) => ({ turnId: turn.id, index, text, logprobs: [] })) });
    }
  }
  return items;
}

async function verifyBatch(docker: DockerClient, items: Item[]): Promise<{ seconds: number; verdicts: Verdict[] }> {
  const verifier = new TerminalVerifier({ docker, image: IMAGE, concurrency: CONCURRENCY, owner: OWNER });
  await verifier.verifyBatch(items.slice(0, 2).map(({ turn, samples }) => ({ turn, samples: samples.slice(0, 2) })));
  const t0 = performance.now();
  const verdicts = await verifier.verifyBatch(items);
  return { seconds: (performance.now() - t0) / 1000, verdicts };
}

// --------------------------------------------------------------------------------------------------------

async function main() {
  const docker = await requireDocker();
  const { script, commit } = bashRunner();
  const clients: Record<Kind, DockerClient> = { bash: withBashRunner(docker, script), go: docker };
  const cleanup = () => reapSandboxes(docker, OWNER).catch(() => 0);
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    console.log(`bash runner: sandboxes/runner.sh at ${commit.slice(0, 12)}; go runner: ${RUNNER_PATH} in ${IMAGE}`);
    const ops = await measureOps(clients);
    console.log(`(a) ms per op, median of ${ROUNDS} rounds (task of ${ops.files} files):`);
    const ratio = {} as Record<Op, number>;
    for (const op of OPS) {
      ratio[op] = round2(ops.median.bash[op] / ops.median.go[op]);
      console.log(
        `  ${op.padEnd(22)} bash ${ops.median.bash[op].toFixed(2).padStart(7)}  go ${ops.median.go[op].toFixed(2).padStart(7)}  ratio ${ratio[op].toFixed(2)}x`,
      );
    }
    const items = buildBatch();
    const nSamples = items.reduce((n, i) => n + i.samples.length, 0);
    // Two batches per runner, taking turns; the faster of each runner's two counts (less noise from other load).
    const runs: Record<Kind, { seconds: number; verdicts: Verdict[] }[]> = { bash: [], go: [] };
    for (let rep = 0; rep < 2; rep++) for (const kind of KINDS) runs[kind].push(await verifyBatch(clients[kind], items));
    const seconds = Object.fromEntries(KINDS.map((k) => [k, round2(Math.min(...runs[k].map((r) => r.seconds)))])) as Record<Kind, number>;
    const brief = (v: Verdict) => `${v.turnId}#${v.index} ${v.reward} ${v.reason}`;
    const mismatches = runs.bash[0].verdicts.filter((v, i) => brief(v) !== brief(runs.go[0].verdicts[i])).map(brief);
    const batchRatio = round2(seconds.bash / seconds.go);
    console.log(
      `(b) verifier batch: ${items.length} turns, ${nSamples} samples, concurrency ${CONCURRENCY}: ` +
        `bash ${seconds.bash.toFixed(2)} s, go ${seconds.go.toFixed(2)} s, ratio ${batchRatio.toFixed(2)}x; ` +
        `verdicts that differ: ${mismatches.length}${mismatches.length ? ` (${mismatches.slice(0, 5).join('; ')})` : ''}`,
    );
    const met = ratio['run(restore+manifest)'] >= 3;
    console.log(`target: run(restore+manifest) >= 3x: ${met ? 'met' : 'NOT met'}`);
    console.log(
      JSON.stringify({
        bench: 'sandbox-runner',
        baseline: `sandboxes/runner.sh@${commit.slice(0, 12)}`,
        rounds: ROUNDS,
        msPerOp: ops.median,
        ratio,
        verifierBatch: {
          turns: items.length,
          samples: nSamples,
          concurrency: CONCURRENCY,
          seconds,
          ratio: batchRatio,
          verdictsDiffering: mismatches.length,
        },
        target: { op: 'run(restore+manifest)', ratio: 3, met },
      }),
    );
  } finally {
    await cleanup();
  }
}

await main();
