// The experiment's statistics, config expansion, claims and report on synthetic campaign results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ci95, tQuantile975 } from '../../experiment/stats';
import { deepMerge, planExperiment } from '../../experiment/plan';
import { methodMetrics, turnsToReach, worstOodDelta, type RunResult } from '../../experiment/metrics';
import { buildReport, fmtBoot, fmtDelta, fmtRate } from '../../experiment/report';
import { bootstrapDifference, inPoints } from '../../experiment/bootstrap';
import { judge, PAPER, PRECISION } from '../../experiment/claims';
import { sampledRate } from '../../experiment/items';
import { Rng, seedOf } from '../../core/rng';
import { reportFromResults, writeReport, type ResultsFile } from '../../cli/experiment';
import { niceTicks, renderChart } from '../../experiment/svg';
import type { CampaignProgress, StepRecord } from '../../pipeline/campaign-state';
import type { Role } from '../../experiment/plan';
import { tempDir } from '../../harness/temp-dir';

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
const fmtSigned = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
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

test('every plot is an SVG with its series; results without per-item rows still render, their claims not testable', () => {
  const report = buildReport(runs, { name: 'synthetic', command: 'test', seconds: 60 });
  const md = report.markdown;
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
  assert.deepEqual(
    report.claims.map((c) => [c.verdict, c.reason]),
    [
      ['not testable', 'no per-turn data'],
      ['not testable', 'no per-item OOD data'],
      ['not testable', 'no per-turn data on the learning curves'],
    ],
  );
  assert.match(md, /No per-turn data: the evaluations of these runs did not score held-out states/);
});

test('the verdict rule: contradicted below the paper, supported beyond no effect, no difference only when narrow enough', () => {
  const inDomain = { supportedAbove: 0, contradictedBelow: PAPER.inDomainOverSft, precision: PRECISION.inDomain };
  assert.deepEqual(judge({ lo: 5, hi: 10 }, inDomain), { verdict: 'supported' });
  assert.deepEqual(judge({ lo: 0.5, hi: 12 }, inDomain), { verdict: 'supported' });
  assert.match(judge({ lo: 1, hi: 3 }, inDomain).reason!, /below \+4\.2; it does exclude \+0\.0: the direction holds, the size does not/);
  assert.equal(judge({ lo: -6, hi: -1 }, inDomain).verdict, 'contradicted');
  assert.deepEqual(judge({ lo: -1, hi: 5 }, inDomain), { verdict: 'no difference resolved', reason: 'half-width 3.0 <= 4' });
  assert.deepEqual(judge({ lo: -6, hi: 7 }, inDomain), { verdict: 'inconclusive', reason: 'interval too wide: half-width 6.5 > 4' });
  const ood = { supportedAbove: PAPER.oodMargin, contradictedBelow: PAPER.oodMargin, precision: PRECISION.ood };
  assert.equal(judge({ lo: -0.8, hi: 0.5 }, ood).verdict, 'supported');
  assert.equal(judge({ lo: -4, hi: -1.5 }, ood).verdict, 'contradicted');
  assert.equal(judge({ lo: -2.5, hi: 0.5 }, ood).verdict, 'no difference resolved');
  assert.equal(judge({ lo: -5, hi: 0.5 }, ood).verdict, 'inconclusive');
  const ratio = { supportedAbove: 1, contradictedBelow: 4, precision: null };
  assert.deepEqual(judge({ lo: 0.8, hi: 5 }, ratio), { verdict: 'inconclusive', reason: 'the interval contains both +1.0 and +4.0' });
});

// Per-item rows: 40 held-out states (10 tasks x positions 0-3, 4 templates), K = 4, and 30 OOD items. pi0's rows are the
// same in every run (evaluated once); each method's after rows are drawn at its own rate, per seed.
const K = 4;
const states = Array.from({ length: 40 }, (_, i) => ({
  id: `task${i % 10}#${Math.floor(i / 10)}`,
  template: `tpl${i % 4}`,
  position: Math.floor(i / 10),
}));
const coin = (rng: Rng, rate: number) => (rng.next() < rate ? 1 : 0) as 0 | 1;
const turnRows = (rate: number, name: string) => {
  const rng = new Rng(seedOf(name));
  return states.map((s) => ({
    ...s,
    domain: 'terminal' as const,
    greedy: coin(rng, rate),
    sampled: Array.from({ length: K }, () => coin(rng, rate)),
  }));
};
const oodRows = (rate: number, name: string) => {
  const rng = new Rng(seedOf(name));
  return Array.from({ length: 30 }, (_, i) => ({ id: `ood${i}`, kind: i % 2 ? 'arith' : 'words', correct: coin(rng, rate) }));
};
const drift = (nll: number) => Array.from({ length: 30 }, (_, i) => ({ id: `ood${i}`, kind: 'k', tokens: 10, nll: nll * 10 + (i % 3) }));
const pi0Items = { turns: turnRows(0.3, 'pi0'), ood: oodRows(0.7, 'pi0-ood'), drift: drift(1), meanNll: 1.1 };
const RATES: Record<string, { turns: number; ood: number; nll: number }> = {
  piv: { turns: 0.8, ood: 0.7, nll: 1 },
  sft: { turns: 0.4, ood: 0.3, nll: 3 },
  e2e: { turns: 0.6, ood: 0.7, nll: 1.2 },
};
const withItems = (rs: RunResult[], rates = RATES): RunResult[] =>
  rs.map((r) => {
    const rate = rates[r.method];
    const after = {
      turns: turnRows(rate.turns, `${r.method}-${r.seed}`),
      ood: rate.ood === 0.7 ? pi0Items.ood : oodRows(rate.ood, `${r.method}-${r.seed}-ood`),
      drift: drift(rate.nll),
      meanNll: rate.nll + 0.1,
    };
    const losses = r.result.history.map((h) => ({ ...h, loss: 1 / h.step }));
    // SFT keeps every step's loss and its validation curve in its own record (history keeps the recent steps only).
    const sft = {
      losses: [1, 2, 3].map((step) => ({ step, loss: 2 / step })),
      valCurve: [
        { step: 0, valLoss: 3 },
        { step: 3, valLoss: 1.5 },
      ],
    };
    return {
      ...r,
      baseHash: 'abc123',
      result: { ...r.result, history: losses, ...(r.role === 'sft' && { sft: sft as CampaignProgress['sft'] }) },
      items: { before: pi0Items, after, curve: (r.result.curve ?? []).map((p) => ({ step: p.step, ...after })) },
    };
  });

test('claims on per-item rows: verdicts by the rule, intervals from the bootstrap, the report and results.json agree', () => {
  const rich = withItems(runs);
  const report = buildReport(rich, { name: 'items', command: 'test', seconds: 60 });
  const [inDomain, ood, rollout] = report.claims;
  assert.equal(inDomain.verdict, 'supported');
  assert.equal(inDomain.n, 40);
  // The interval is the bootstrap's on the seed x state matrices of sampled accuracy.
  const matrix = (m: string) =>
    rich.filter((r) => r.method === m).map((r) => [...r.items!.after!.turns!].sort((a, b) => a.id.localeCompare(b.id)).map(sampledRate));
  const boot = inPoints(bootstrapDifference(matrix('piv'), matrix('sft'), { seed: 'pivotrl-sft' }));
  assert.deepEqual([inDomain.estimate, ...inDomain.ci!], [boot.estimate, boot.lo, boot.hi]);
  assert.ok(boot.hi > boot.lo, 'never zero width when items vary');
  // PivotRL's OOD answers are pi0's: a change of exactly 0 (the documented zero-width case), within a point.
  assert.deepEqual([ood.verdict, ood.estimate, ...ood.ci!], ['supported', 0, 0, 0]);
  assert.match(ood.reason!, /SFT's change: -\d+\.\d \[.*\] points \(paper: about -10\)/);
  // E2E RL: 1000 rollout turns; PivotRL reaches E2E RL's final accuracy at its mid-run evaluation (200 turns).
  assert.equal(rollout.verdict, 'supported');
  assert.equal(rollout.estimate, 5);
  assert.match(rollout.reason!, /reached in 3 of 3 PivotRL seeds/);

  // The same rows with SFT ahead: the first claim is contradicted, stated as a result.
  const swapped = buildReport(withItems(runs, { ...RATES, piv: RATES.sft, sft: RATES.piv }), { name: 's', command: 't', seconds: 1 });
  assert.equal(swapped.claims[0].verdict, 'contradicted');
  assert.match(swapped.markdown, /\*\*contradicted\*\* \(the interval lies below \+4\.2\)/);

  // results.json holds what the report shows, and --report-only rewrites the same report from it alone.
  const dir = tempDir('pivotrl-report-');
  writeReport(dir, { name: 'items', command: 'test', seconds: 60, runs: rich });
  const saved = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ResultsFile;
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  assert.equal(saved.pi0Hash, 'abc123');
  assert.deepEqual(saved.claims, report.claims);
  for (const c of saved.claims!) {
    assert.ok(md.includes(`| ${c.claim} | **${c.verdict}**`), c.claim);
    if (c.ci && c.unit === 'points')
      assert.ok(md.includes(`[${fmtSigned(c.ci[0])}, ${fmtSigned(c.ci[1])}]`), `${c.claim} interval in the report`);
  }
  const piv = saved.tables!.byTemplate.find((m) => m.method === 'piv')!.rows;
  assert.deepEqual(
    piv.map((g) => [g.key, g.items]),
    [
      ['tpl0', 10],
      ['tpl1', 10],
      ['tpl2', 10],
      ['tpl3', 10],
    ],
  );
  assert.ok(md.includes(`${piv[0].pi0.toFixed(1)} -> ${piv[0].after.toFixed(1)} (${fmtBoot(piv[0].change)}) up`));
  const classes = saved.tables!.pi0Classes.find((m) => m.method === 'piv')!.rows!;
  assert.equal(classes.pivot.states + classes['all-0'].states + classes['all-1'].states, 40);
  assert.match(md, /Every run started from the same pi0, sha256 `abc123`\. pi0's evaluation gave the same per-item rows in all 9 runs/);
  assert.match(md, /pi0 was profiled once and the profile shared by the 3 runs/);
  assert.match(md, /\| 0 \| — \/ 3\.0000 \| {2}\| {2}\|/, "SFT's validation loss of pi0");
  assert.match(md, /\| 3 \| 0\.6667 \/ 1\.5000 \|/, "SFT's loss curve beyond its history");
  assert.match(md, /\| 1 \| 2\.0000 \/ — \| 1\.0000 \/ — \| 1\.0000 \/ — \|/, 'loss per step');
  const perTurn = saved.tables!.perTurn.find((m) => m.method === 'sft')!.rows!;
  assert.ok(md.includes(`| SFT | 40 x 4 | ${fmtBoot(perTurn.sampled, false)} | ${fmtBoot(perTurn.sampledChange)} |`));
  assert.equal(reportFromResults(dir), join(dir, 'report.md'));
  assert.equal(readFileSync(join(dir, 'report.md'), 'utf8'), md, '--report-only gives the same report');

  // A bad per-item row is named by its place in results.json.
  saved.runs[4].items!.after!.turns![0].sampled = [2 as 0];
  writeFileSync(join(dir, 'results.json'), JSON.stringify(saved));
  assert.throws(() => reportFromResults(dir), /results\.json: runs\.4\.items\.after\.turns\.0\.sampled\.0: /);
});

test('chart helpers: round ticks; an empty chart still renders', () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0, 1000), [0, 200, 400, 600, 800, 1000]);
  assert.match(renderChart({ title: 't <&>', xLabel: 'x', yLabel: 'y', series: [] }), /t &lt;&amp;&gt;/);
});

test('`pivotrl experiment` refuses a bad experiment config at once, naming the file and the field', () => {
  const dir = tempDir('pivotrl-exp-');
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
