// Where the demo campaign's time goes, against a baseline commit in the same invocation (run: `npx tsx bench/campaign.ts
// [--baseline REV] [--skip-baseline]` after `make test` or `make demo` set up the stack and data).
//
// Runs configs/demo.json (same data, pi0, seed) as `pivotrl run --embedded-workers` twice: from a git worktree of the
// baseline commit (default: BASELINE below, the code before the verification memo and the stage accounting) and from
// this tree; prints each one's wall time, this tree's time per phase and activity (the campaign's stageTimes), and
// ratio = this tree's wall time / the baseline's (target <= 0.5). The last line is one JSON object.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { temporalSettings } from '../workers/connection';
import { dataConverterFromEnv } from '../workers/data-converter';
import type { CampaignProgress } from '../pipeline/campaign-state';
import { phaseTotals } from '../pipeline/stage-times';
import { tempDir } from '../harness/temp-dir';

/** The code of 2026-12-06 before this bench existed. */
const BASELINE = '4a94bce';
const REPO = resolve(import.meta.dirname, '..');

const { values: args } = parseArgs({
  options: { baseline: { type: 'string', default: BASELINE }, 'skip-baseline': { type: 'boolean', default: false } },
});

/** The demo config with absolute data paths, a fresh store and its own name, written where `tree`'s CLI can read it. */
function demoConfig(tree: string, tag: string): { path: string; id: string } {
  const demo = JSON.parse(readFileSync(join(REPO, 'configs/demo.json'), 'utf8'));
  const data = (p: string) => resolve(REPO, 'configs', p);
  const dir = tempDir(`pivotrl-bench-campaign-${tag}-`);
  const config = {
    ...demo,
    name: `bench-campaign-${tag}`,
    data: {
      ...demo.data,
      trajectories: demo.data.trajectories.map(data),
      heldoutTasks: data(demo.data.heldoutTasks),
      ood: data(demo.data.ood),
    },
    store: { kind: 'local', root: join(dir, 'store') },
    policy: { ...demo.policy, base: data(demo.policy.base) },
  };
  const path = join(tree, `bench-campaign-${tag}.json`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return { path, id: `bench-campaign-${tag}-${process.pid}` };
}

function runDemo(tree: string, tag: string): { seconds: number; id: string } {
  const { path, id } = demoConfig(tree, tag);
  const t0 = performance.now();
  const r = spawnSync('npx', ['tsx', 'cli/pivotrl.ts', 'run', '--config', path, '--id', id, '--embedded-workers'], {
    cwd: tree,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PIVOTRL_DATA_ROOTS: [REPO, tmpdir()].join(':'), PIVOTRL_SANDBOX_OWNER: `bench-campaign-${tag}` },
    maxBuffer: 64 << 20,
  });
  const seconds = (performance.now() - t0) / 1000;
  rmSync(path, { force: true });
  if (r.status !== 0) throw new Error(`the ${tag} demo campaign failed (exit ${r.status}): ${r.stdout.toString().slice(-2000)}`);
  console.log(`${tag}: demo campaign ${id} in ${seconds.toFixed(1)} s`);
  return { seconds, id };
}

/** A worktree of `rev` with this tree's node_modules; removed by the returned function. */
function worktreeOf(rev: string): { dir: string; remove: () => void } {
  const dir = join(tmpdir(), `pivotrl-bench-baseline-${process.pid}`);
  execFileSync('git', ['-C', REPO, 'worktree', 'add', '--detach', dir, rev], { stdio: 'ignore' });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  return { dir, remove: () => execFileSync('git', ['-C', REPO, 'worktree', 'remove', '--force', dir], { stdio: 'ignore' }) };
}

async function stageTimesOf(workflowId: string): Promise<CampaignProgress['stageTimes']> {
  const settings = temporalSettings();
  const connection = await Connection.connect(settings.connection);
  try {
    const result: CampaignProgress = await new Client({
      connection,
      namespace: settings.namespace,
      dataConverter: dataConverterFromEnv(),
    }).workflow
      .getHandle(workflowId)
      .result();
    return result.stageTimes;
  } finally {
    await connection.close();
  }
}

if (!existsSync(join(REPO, 'data/demo/terminal-train.jsonl'))) throw new Error('no demo data: run `make data` (or `make test`) first');
let baseline: number | null = null;
if (!args['skip-baseline']) {
  const tree = worktreeOf(args.baseline!);
  try {
    baseline = runDemo(tree.dir, 'baseline').seconds;
  } finally {
    tree.remove();
  }
}
const current = runDemo(REPO, 'current');
const times = (await stageTimesOf(current.id)) ?? {};
const total = Object.values(times).reduce((a, t) => a + t.ms, 0);
console.log('\nthis tree, time in activities by phase:');
for (const p of phaseTotals(times))
  console.log(`  ${p.phase.padEnd(16)} ${(p.ms / 1000).toFixed(1).padStart(7)} s  ${(100 * p.share).toFixed(1)}%`);
console.log('by phase/activity (calls, s, samples, tokens):');
for (const [key, t] of Object.entries(times).sort((a, b) => b[1].ms - a[1].ms)) {
  console.log(
    `  ${key.padEnd(32)} ${String(t.calls).padStart(4)} ${(t.ms / 1000).toFixed(1).padStart(7)} ${String(t.samples).padStart(7)} ${String(t.tokens).padStart(8)}`,
  );
}
const stages = Object.fromEntries(Object.entries(times).map(([k, t]) => [k, Math.round(t.ms) / 1000]));
console.log(
  JSON.stringify({
    baseline_rev: args['skip-baseline'] ? null : args.baseline,
    baseline_s: baseline === null ? null : Math.round(baseline * 10) / 10,
    current_s: Math.round(current.seconds * 10) / 10,
    activities_s: Math.round(total / 100) / 10,
    ratio: baseline === null ? null : Math.round((current.seconds / baseline) * 1000) / 1000,
    stages_s: stages,
  }),
);
