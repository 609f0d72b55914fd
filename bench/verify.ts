// Benchmark of the functional terminal verifier (run: `npx tsx bench/verify.ts [--turns 24] [--concurrency 2]`).
//
//  (a) verified samples per second through the functional verifier: turns of the terminal suite, 16 distinct
//      samples per turn (the expert action, equivalent variants, near misses);
//  (b) the baseline: the same commands, each run by one bare `docker exec` (dockerode) in a plain long-lived
//      container of the same image, at the same concurrency; ratio = (a) / (b), target >= 2 (issue #17);
//  (c) the time to get a warm sandbox at a turn's state (reset + files + expert prefix + snapshot on a pooled
//      sandbox), target median < 50 ms.
// The last line printed is one JSON object. Every container made here carries a bench-only owner label and is
// removed at the end (also on Ctrl-C).
import { parseArgs } from 'node:util';
import { connectEngine, ensureImage, type Container, type DockerClient } from '../sandboxes/engine';
import type { Sample, Turn, Verdict } from '../core/schemas';
import { workspaceOf } from '../core/domains/terminal';
import { Rng, seedOf } from '../core/rng';
import { SandboxPool } from '../sandboxes/pool';
import { OWNER_LABEL, SANDBOX_LABEL, reapSandboxes } from '../sandboxes/reaper';
import { DEFAULT_IMAGE } from '../sandboxes/sandbox';
import { buildTar } from '../sandboxes/tar';
import { openTurnState } from '../sandboxes/terminal';
import { generateTerminalSuite } from '../tasks/terminal/suite';
import { terminalTurns } from '../tasks/terminal/render';
import { TEMPLATES } from '../tasks/terminal/templates';
import { TerminalVerifier } from '../verifiers/terminal';

const SEED = 11;
const SAMPLES_PER_TURN = 16;
const EQUIVALENTS_PER_TURN = 8;
const WARM_PASSES = 3;

const { values: args } = parseArgs({
  options: {
    turns: { type: 'string', default: '24' },
    concurrency: { type: 'string', default: '2' },
    image: { type: 'string', default: DEFAULT_IMAGE },
  },
});
const TURNS = Number(args.turns);
const CONCURRENCY = Number(args.concurrency);
const IMAGE = args.image!;
const OWNER = `bench-verify-${process.pid}`;

// --------------------------------------------------------------------------------------------------------
// The batch: turns of the suite, each with distinct samples labelled as meant to be equivalent or not.

interface BenchItem {
  turn: Extract<Turn, { domain: 'terminal' }>;
  samples: Sample[];
  /** Per sample: the reward it is meant to earn (1 = equivalent variant, 0 = near miss). */
  intended: (0 | 1)[];
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The other valid actions the template offers for this step (the suite draws the expert's from these). */
function templateVariants(trajIndex: number, step: number, expert: string): string[] {
  const drawn = TEMPLATES[trajIndex % TEMPLATES.length].draw(new Rng(seedOf(SEED, 'train', trajIndex)));
  const variants = drawn.steps[step]?.map((v) => v.action) ?? [];
  return variants.includes(expert) ? variants.filter((a) => a !== expert) : [];
}

/** Same effect as `a`: other spellings, grouping, harmless whitespace and no-ops. */
const genericEquivalents = (a: string): string[] => [
  `{ ${a}; }`,
  `(${a})`,
  `${a} # checked`,
  `true && ${a}`,
  `: ; ${a}`,
  a.replace(' ', '  '),
  a.replace(' ', '\t'),
  `if true; then ${a}; fi`,
  `command ${a}`,
];

/** Plausible but wrong: no effect, extra effect, wrong place, wrong exit status. */
const nearMisses = (a: string): string[] => [
  'true',
  `echo ${quote(a)}`,
  `${a} && touch stray.tmp`,
  `${a}; exit 3`,
  `cd /tmp && ${a}`,
  `${a} && mkdir -p extra/dir`,
  'exit 1',
];

function buildBatch(): BenchItem[] {
  const { train } = generateTerminalSuite({ seed: SEED, trainTasks: TURNS, heldoutTasks: 0 });
  const items: BenchItem[] = [];
  for (const [i, traj] of train.entries()) {
    for (const turn of terminalTurns(traj)) {
      if (items.length >= TURNS) return items;
      const expert = turn.expert;
      const texts = new Map<string, 0 | 1>([[expert, 1]]);
      for (const a of [...templateVariants(i, turn.index, expert), ...genericEquivalents(expert)]) {
        if (texts.size > EQUIVALENTS_PER_TURN) break;
        if (a.trim() !== expert && !texts.has(a.trim())) texts.set(a.trim(), 1);
      }
      for (const a of nearMisses(expert)) if (texts.size < SAMPLES_PER_TURN && !texts.has(a)) texts.set(a, 0);
      const entries = [...texts];
      items.push({
        turn,
        samples: entries.map(([text], index) => ({ turnId: turn.id, index, text, logprobs: [] })),
        intended: entries.map(([, r]) => r),
      });
    }
  }
  return items;
}

// --------------------------------------------------------------------------------------------------------
// (a) The functional verifier.

async function runFunctional(docker: DockerClient, items: BenchItem[]) {
  const verifier = new TerminalVerifier({ docker, image: IMAGE, concurrency: CONCURRENCY, owner: OWNER });
  // Warm-up (engine, module loading) on two turns; not measured.
  await verifier.verifyBatch(items.slice(0, 2).map(({ turn, samples }) => ({ turn, samples: samples.slice(0, 3) })));
  const t0 = performance.now();
  const verdicts = await verifier.verifyBatch(items.map(({ turn, samples }) => ({ turn, samples })));
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, verdicts, stats: verifier.stats };
}

function agreement(items: BenchItem[], verdicts: Verdict[]) {
  const byKey = new Map(verdicts.map((v) => [`${v.turnId}\u0000${v.index}`, v]));
  const out = { equivalentsRewarded: 0, equivalents: 0, missesRewarded: 0, misses: 0, masked: 0, surprises: [] as string[] };
  for (const { turn, samples, intended } of items) {
    samples.forEach((s, k) => {
      const v = byKey.get(`${turn.id}\u0000${s.index}`)!;
      if (v.reward === null) out.masked++;
      if (intended[k] === 1) out.equivalents++;
      else out.misses++;
      if (intended[k] === 1 && v.reward === 1) out.equivalentsRewarded++;
      if (intended[k] === 0 && v.reward === 1) out.missesRewarded++;
      if (v.reward !== intended[k] && out.surprises.length < 5) {
        out.surprises.push(`${turn.id} ${JSON.stringify(s.text)} -> ${v.reward} (${v.reason}${v.detail ? `: ${v.detail}` : ''})`);
      }
    });
  }
  return out;
}

// --------------------------------------------------------------------------------------------------------
// (b) The baseline: one bare `docker exec` per command in a plain container (one directory per turn).

async function collect(stream: NodeJS.ReadableStream): Promise<number> {
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => (bytes += c.length));
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  return bytes;
}

async function dockerExec(container: Container, command: string, workdir: string): Promise<number> {
  const exec = await container.exec({
    Cmd: ['bash', '-c', command],
    WorkingDir: workdir,
    User: '1000:1000',
    AttachStdout: true,
    AttachStderr: true,
  });
  await collect(await exec.start({ hijack: true, stdin: false }));
  return (await exec.inspect()).ExitCode ?? -1;
}

async function runBaseline(docker: DockerClient, items: BenchItem[]) {
  const container = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['sleep', 'infinity'],
    Labels: { [SANDBOX_LABEL]: '1', [OWNER_LABEL]: OWNER },
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'none', Config: {} } },
  });
  try {
    await container.start();
    // Each turn's state in /work/t<i>: task files, then the expert prefix (set-up, not measured).
    const files = items.flatMap(({ turn }, i) => workspaceOf(turn.task).files.map((f) => ({ ...f, path: `t${i}/${f.path}` })));
    const dirs = items.flatMap(({ turn }, i) => [`t${i}`, ...workspaceOf(turn.task).dirs.map((d) => `t${i}/${d}`)]);
    await container.putArchive(buildTar(files, dirs), { path: '/work' });
    await Promise.all(
      items.map(async ({ turn }, i) => {
        for (const step of turn.history) await dockerExec(container, step.action, `/work/t${i}`);
      }),
    );
    // The same commands the verifier executes: per turn the expert action and every other distinct sample.
    const jobs = items.flatMap(({ turn, samples }, i) =>
      [...new Set([turn.expert, ...samples.map((s) => s.text.trim())])].map((command) => ({ command, workdir: `/work/t${i}` })),
    );
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++];
          await dockerExec(container, job.command, job.workdir);
        }
      }),
    );
    return { seconds: (performance.now() - t0) / 1000, commands: jobs.length };
  } finally {
    await container.remove({ force: true, v: true });
  }
}

// --------------------------------------------------------------------------------------------------------
// (c) A warm sandbox at a turn's state.

async function measureWarm(docker: DockerClient, items: BenchItem[]) {
  const pool = new SandboxPool({ docker, image: IMAGE, owner: OWNER });
  const times: { ms: number; prefix: number }[] = [];
  try {
    const sandbox = await pool.acquire();
    for (let pass = 0; pass < WARM_PASSES; pass++) {
      for (const { turn } of items) {
        const t0 = performance.now();
        await sandbox.reset();
        await openTurnState(
          workspaceOf(turn.task),
          turn.history.map((h) => h.action),
          { sandbox },
        );
        times.push({ ms: performance.now() - t0, prefix: turn.history.length });
      }
    }
  } finally {
    await pool.close();
  }
  return times;
}

// --------------------------------------------------------------------------------------------------------

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => (!k ? '' : v ? `  ${k.padEnd(w)}  ${v}` : k)).join('\n');
}

async function countOurs(docker: DockerClient): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`${OWNER_LABEL}=${OWNER}`] } })).length;
}

async function main(): Promise<void> {
  const docker = connectEngine();
  await ensureImage(docker, IMAGE);
  const items = buildBatch();
  const samples = items.reduce((n, it) => n + it.samples.length, 0);
  console.log(
    `verify bench: ${items.length} turns x ${SAMPLES_PER_TURN} samples = ${samples} samples, concurrency ${CONCURRENCY}, ${IMAGE}`,
  );

  const functional = await runFunctional(docker, items);
  const agree = agreement(items, functional.verdicts);
  const baseline = await runBaseline(docker, items);
  const warm = await measureWarm(docker, items);

  const fRate = samples / functional.seconds;
  const bRate = baseline.commands / baseline.seconds;
  const ratio = fRate / bRate;
  const warmMs = warm.map((w) => w.ms);
  const byPrefix = [...new Set(warm.map((w) => w.prefix))].sort().map((p) => {
    const xs = warm.filter((w) => w.prefix === p).map((w) => w.ms);
    return `prefix ${p}: ${r1(percentile(xs, 50))} ms (n=${xs.length})`;
  });
  const s = functional.stats;

  console.log(
    table([
      ['(a) functional verifier', ''],
      ['samples verified', `${samples} in ${r3(functional.seconds)} s = ${r1(fRate)} samples/s`],
      [
        'distinct actions executed',
        `${s.actionsRun} (expert ${s.statesOpened}, samples ${s.actionsRun - s.statesOpened}); reused ${s.samplesReused}`,
      ],
      ['sandboxes created', `${s.sandboxesCreated}; turn states opened ${s.statesOpened} (mean ${r1(s.openMs / s.statesOpened)} ms)`],
      ['mean action round trip', `${r1(s.actionMs / s.actionsRun)} ms (restore + run + reap + manifest)`],
      [
        'verdicts vs intent',
        `equivalents rewarded ${agree.equivalentsRewarded}/${agree.equivalents}, near misses rewarded ${agree.missesRewarded}/${agree.misses}, masked ${agree.masked}`,
      ],
      ['', ''],
      ['(b) bare docker exec', ''],
      ['commands run', `${baseline.commands} in ${r3(baseline.seconds)} s = ${r1(bRate)} commands/s`],
      ['ratio (a)/(b)', `${r3(ratio)} (target >= 2) ${ratio >= 2 ? 'OK' : 'BELOW TARGET'}`],
      ['', ''],
      ['(c) warm sandbox at turn state', ''],
      [
        'reset+files+prefix+snapshot',
        `median ${r1(percentile(warmMs, 50))} ms, p90 ${r1(percentile(warmMs, 90))} ms, n=${warmMs.length} (one sandbox, sequential)`,
      ],
      ['by prefix length', byPrefix.join('; ')],
      ['target median < 50 ms', percentile(warmMs, 50) < 50 ? 'OK' : 'ABOVE TARGET'],
    ]),
  );
  if (agree.surprises.length)
    console.log(`verdicts that differ from the intended label (first ${agree.surprises.length}):\n  ${agree.surprises.join('\n  ')}`);

  await reapSandboxes(docker, OWNER);
  const left = await countOurs(docker);
  console.log(`containers left with label ${OWNER_LABEL}=${OWNER}: ${left}`);
  console.log(
    JSON.stringify({
      ratio: r3(ratio),
      warm_ms_median: r1(percentile(warmMs, 50)),
      warm_ms_p90: r1(percentile(warmMs, 90)),
      functional_samples_per_s: r1(fRate),
      baseline_execs_per_s: r1(bRate),
      concurrency: CONCURRENCY,
      turns: items.length,
      samples,
      distinct_actions: s.actionsRun,
      baseline_commands: baseline.commands,
      equivalents_rewarded: agree.equivalentsRewarded,
      equivalents: agree.equivalents,
      near_misses_rewarded: agree.missesRewarded,
      near_misses: agree.misses,
      masked: agree.masked,
      containers_left: left,
    }),
  );
}

async function cleanupAndExit(code: number): Promise<never> {
  try {
    await reapSandboxes(connectEngine(), OWNER);
  } catch (err) {
    console.error(`cleanup failed: ${(err as Error).message}`);
  }
  process.exit(code);
}

process.once('SIGINT', () => void cleanupAndExit(130));
process.once('SIGTERM', () => void cleanupAndExit(143));
main().catch(async (err) => {
  console.error(err);
  await cleanupAndExit(1);
});
