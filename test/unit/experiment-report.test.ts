// The experiment's statistics, config expansion and report on synthetic campaign results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ci95, tQuantile975 } from '../../experiment/stats';
import { deepMerge, planExperiment } from '../../experiment/plan';
import { methodMetrics, turnsToReach, worstOodDelta, type RunResult } from '../../experiment/metrics';
import { buildReport, fmtDelta, fmtRate } from '../../experiment/report';
import { niceTicks, renderChart } from '../../experiment/svg';
import type { CampaignProgress, StepRecord } from '../../pipeline/campaign-state';
import type { Role } from '../../experiment/plan';

test('95% interval: Student t with n-1 degrees of freedom', () => {
  // mean 3, sd sqrt(2.5), se sqrt(0.5); t(0.975, 4) = 2.776.
  const i = ci95([1, 2, 3, 4, 5]);
  assert.equal(i.mean, 3);
  assert.ok(Math.abs(i.lo - (3 - 2.776 * Math.sqrt(0.5))) < 1e-12);
  assert.ok(Math.abs(i.hi - (3 + 2.776 * Math.sqrt(0.5))) < 1e-12);
  // n = 2: t(0.975, 1) = 12.706; identical values have no spread.
  const two = ci95([0.1, 0.3]);
  assert.ok(Math.abs(two.hi - two.lo - (2 * 12.706 * (Math.SQRT2 * 0.1)) / Math.SQRT2) < 1e-9);
  assert.deepEqual([ci95([0.5, 0.5, 0.5]).lo, ci95([0.5, 0.5, 0.5]).hi], [0.5, 0.5]);
  assert.equal(tQuantile975(2), 4.303);
  assert.equal(tQuantile975(200), 1.96);
  assert.throws(() => tQuantile975(0), /degrees of freedom/);
});

const campaign = {
  data: { trajectories: ['t.jsonl'], heldoutTasks: 'h.jsonl', ood: 'o.jsonl' },
  policy: { base: 'pi0' },
  profile: {},
  train: {},
  evaluate: {},
};
const near = (a: number | undefined, b: number) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('an experiment expands into one validated campaign config per method and seed; bad fields are named', () => {
  const plan = planExperiment(
    {
      name: 'x',
      seeds: [1, 2],
      out: 'r',
      campaign,
      methods: [
        { id: 'sft', label: 'SFT', config: { method: 'sft' } },
        { id: 'strict', label: 'Pivots + strict', config: { verifier: 'strict', train: { lr: 0.01 } } },
      ],
    },
    'exp.json',
    '/base',
  );
  assert.equal(plan.runs.length, 4);
  assert.deepEqual(
    plan.runs.map((r) => [r.config.name, r.seed, r.role]),
    [
      ['x-sft-s1', 1, 'sft'],
      ['x-sft-s2', 2, 'sft'],
      ['x-strict-s1', 1, 'ablation'],
      ['x-strict-s2', 2, 'ablation'],
    ],
  );
  assert.equal(plan.runs[2].config.train.lr, 0.01);
  assert.equal(plan.runs[2].config.train.steps, 10, 'defaults still apply under a partial override');
  assert.equal(plan.runs[0].config.data.heldoutTasks, '/base/h.jsonl');
  assert.equal(plan.out, '/base/r');
  const bad = { name: 'x', seeds: [1, 2], out: 'r', campaign, methods: [{ id: 'a', label: 'A', config: { train: { lr: -1 } } }] };
  assert.throws(() => planExperiment(bad, 'exp.json', '/'), /exp\.json: methods\.0 \(a\) over campaign: train\.lr/);
  assert.throws(() => planExperiment({ ...bad, seeds: [1] }, 'exp.json', '/'), /exp\.json: seeds/);
  assert.deepEqual(deepMerge({ a: { b: 1, c: 2 }, d: [1] }, { a: { c: 3 }, d: [2] }), { a: { b: 1, c: 3 }, d: [2] });
});

/** A finished campaign's result with the given accuracies and rollout turns. */
function result(o: {
  before: number;
  after: number;
  oodBefore: number;
  oodAfter: number;
  profiling: number;
  training: number;
  curve?: number[];
}) {
  const score = (rate: number) => ({ episodes: 10, successes: rate * 10, successRate: rate, actions: 20, byTemplate: {} });
  const ood = (acc: number, worst: number) => ({ items: 10, correct: acc * 10, accuracy: acc, byKind: { a: acc, b: worst } });
  const steps = (o.curve?.length ?? 0) + 1;
  return {
    campaignId: 'c',
    stage: 'done',
    step: steps,
    steps,
    paused: false,
    candidates: 100,
    badRecords: 0,
    pivots: o.profiling
      ? {
          summary: { candidates: 100, pivots: 20, allZero: 60, allOne: 10, tooEasy: 10, unverified: 0, pivotRate: 0.2, meanReward: 0.3 },
          profiles: 'p',
          pivots: 'pv',
          muHistogram: [60, 5, 5, 5, 5, 5, 5, 0, 0, 10],
        }
      : null,
    rolloutTurns: { profiling: o.profiling, training: o.training, evaluation: 50 },
    history: Array.from({ length: steps }, (_, i) => ({
      step: i + 1,
      batchReward: 0.5,
      zeroVarianceGroups: 0.25,
      masked: 0,
      update: {} as StepRecord['update'], // not read by the metrics
      checkpoint: `ck${i + 1}`,
      hash: `h${i + 1}`,
    })),
    before: { checkpoint: 'ck0', inDomain: score(o.before), ood: ood(o.oodBefore, o.oodBefore) },
    after: { checkpoint: 'ck', inDomain: score(o.after), ood: ood(o.oodAfter, o.oodAfter - 0.1) },
    hyper: { lr: 1e-3, clipEps: 0.2, klBeta: 0, temperature: 1 },
    finalCheckpoint: 'ck',
    finalHash: 'h',
    backend: 'cpu',
    curve: (o.curve ?? []).map((acc, i) => ({
      step: i + 1,
      rolloutTurns: { profiling: o.profiling, training: (o.training * (i + 1)) / steps },
      inDomain: acc,
      ood: o.oodAfter,
    })),
  } as CampaignProgress;
}

const run = (method: string, label: string, role: Role, seed: number, r: CampaignProgress): RunResult => ({
  method,
  label,
  role,
  seed,
  workflowId: `${method}-${seed}`,
  settings: { method: role, selection: 'pivots', verifier: 'functional', steps: 2, batch: 4, group: 4, k: 4 },
  result: r,
});

// Three seeds: PivotRL beats SFT in every seed, keeps OOD, reaches E2E RL's final accuracy (0.4) after its mid-run
// evaluation (100 profiling + 100 training turns) while E2E RL spent 1000; SFT forgets 20 points out of domain.
const runs: RunResult[] = [1, 2, 3].flatMap((seed) => [
  run(
    'sft',
    'SFT',
    'sft',
    seed,
    result({ before: 0.2, after: 0.25 + 0.01 * seed, oodBefore: 0.9, oodAfter: 0.7, profiling: 0, training: 0 }),
  ),
  run(
    'e2e',
    'E2E RL',
    'e2e-rl',
    seed,
    result({ before: 0.2, after: 0.4, oodBefore: 0.9, oodAfter: 0.9, profiling: 0, training: 1000, curve: [0.3] }),
  ),
  run(
    'piv',
    'PivotRL',
    'pivotrl',
    seed,
    result({ before: 0.2, after: 0.5 + 0.01 * seed, oodBefore: 0.9, oodAfter: 0.9, profiling: 100, training: 200, curve: [0.45] }),
  ),
]);

test('metrics per method: shares, rollout turns, OOD worst case, turns to reach a target', () => {
  const piv = methodMetrics(runs.filter((r) => r.method === 'piv'));
  near(piv.profile?.pivotShare.mean, 0.2);
  near(piv.profile?.zeroVarianceShare.mean, 0.7);
  assert.deepEqual(piv.profile?.muHistogram.slice(0, 2), [180, 15]);
  near(piv.rolloutTurns.total.mean, 300);
  assert.ok(Math.abs(piv.inDomain.after.mean - 0.52) < 1e-12);
  assert.deepEqual(
    piv.curve.map((p) => p.turns),
    [0, 200, 300],
  );
  assert.equal(turnsToReach(runs[2].result, 0.4), 200);
  assert.equal(turnsToReach(runs[2].result, 0.9), null);
  assert.ok(Math.abs(worstOodDelta(runs[0].result) - -0.3) < 1e-12);
  assert.equal(methodMetrics(runs.filter((r) => r.method === 'sft')).perStep.length, 0, 'SFT has no rewards per step');
});

test('the report judges each claim from the numbers, and every plot is an SVG with its series', () => {
  const report = buildReport(runs, { name: 'synthetic', command: 'test', seconds: 60 });
  const md = report.markdown;
  assert.match(md, /In-domain accuracy above SFT on the same data\*\* — supported/);
  assert.match(md, /No out-of-domain forgetting \(within about 1 point of pi0\)\*\* — supported/);
  // E2E RL total 1000 turns / PivotRL 200 to reach = 5x.
  assert.match(md, /about 4x fewer rollout turns\*\* — supported: E2E RL spent 5\.00x the rollout turns/);
  const sft = methodMetrics(runs.filter((r) => r.method === 'sft'));
  assert.ok(md.includes(`| SFT | ${fmtRate(sft.inDomain.after)} | ${fmtDelta(sft.inDomain.delta)} | ${fmtDelta(sft.ood.delta)} |`));
  assert.equal(report.reach?.piv.reached, 3);
  assert.equal(report.reach?.sft.turns, null, 'SFT never reaches E2E RL final accuracy');
  assert.match(md, /never \(0\/3 seeds\)/);
  for (const [name, svg] of Object.entries(report.plots)) {
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/, name);
    assert.ok(svg.trimEnd().endsWith('</svg>'), name);
    assert.ok(svg.includes('PivotRL'), `${name} has the PivotRL series`);
    assert.ok(!/NaN/.test(svg), `${name} has no NaN coordinates`);
  }

  // The same data with SFT ahead: the first claim is contradicted, not passed.
  const swapped = runs.map((r) =>
    r.method === 'sft'
      ? { ...r, result: result({ before: 0.2, after: 0.9, oodBefore: 0.9, oodAfter: 0.9, profiling: 0, training: 0 }) }
      : r,
  );
  assert.match(buildReport(swapped, { name: 's', command: 't', seconds: 1 }).markdown, /above SFT on the same data\*\* — contradicted/);
});

test('chart helpers: round ticks; an empty chart still renders', () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0, 1000), [0, 200, 400, 600, 800, 1000]);
  assert.match(renderChart({ title: 't <&>', xLabel: 'x', yLabel: 'y', series: [] }), /t &lt;&amp;&gt;/);
});

test('`pivotrl experiment` refuses a bad experiment config at once, naming the file and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pivotrl-exp-'));
  const path = join(dir, 'exp.json');
  const methods = [{ id: 'pivotrl', label: 'PivotRL', config: { profile: { selection: 'sometimes' } } }];
  writeFileSync(path, JSON.stringify({ name: 'x', seeds: [1, 2], out: 'r', campaign, methods }));
  const r = spawnSync('npx', ['tsx', 'cli/pivotrl.ts', 'experiment', '--config', path], {
    encoding: 'utf8',
    env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${path}: methods\\.0 \\(pivotrl\\) over campaign: profile\\.selection:`));
});
