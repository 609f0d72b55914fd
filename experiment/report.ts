// The experiment report: Markdown with the claims table, the per-turn, per-template, per-class and OOD tables, and SVG
// plots. Everything here is computed from the campaigns' results (results.json): no figure is typed in.
import type { BootInterval } from './bootstrap';
import { judgeClaims, PRECISION, type Claim } from './claims';
import { commonCurveMetric, methodMetrics, reachOf, type CurveMetric, type MethodMetrics, type Reach, type RunResult } from './metrics';
import type { Interval } from './stats';
import { buildTables, type Moved, type Tables } from './tables';
import { renderChart, type Series } from './svg';

export interface ReportFiles {
  markdown: string;
  /** File name -> SVG text. */
  plots: Record<string, string>;
  metrics: MethodMetrics[];
  reach: Record<string, Reach> | null;
  /** What results.json keeps of the report: the report's numbers are these. */
  claims: Claim[];
  tables: Tables;
}

/** Rates live in [0, 1]: a t interval reaching past them is cut there. */
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');
const pts = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}` : '—');
/** "12.5% [8.1, 16.9]": a rate with its 95% interval. */
export const fmtRate = (i: Interval) =>
  i.n > 1 ? `${pct(i.mean)} [${(100 * clamp01(i.lo)).toFixed(1)}, ${(100 * clamp01(i.hi)).toFixed(1)}]` : pct(i.mean);
/** "+2.1 pts [-1.0, +5.2]": a change in percentage points with its interval. */
export const fmtDelta = (i: Interval) => (i.n > 1 ? `${pts(i.mean)} pts [${pts(i.lo)}, ${pts(i.hi)}]` : `${pts(i.mean)} pts`);
const fmtCount = (i: Interval) =>
  i.n > 1 ? `${Math.round(i.mean)} [${Math.max(0, Math.round(i.lo))}, ${Math.round(i.hi)}]` : `${Math.round(i.mean)}`;

const groupRuns = (runs: RunResult[]) => {
  const by = new Map<string, RunResult[]>();
  for (const r of runs) by.set(r.method, [...(by.get(r.method) ?? []), r]);
  return by;
};

const plain = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(1)}` : '—');
/** "+2.1 [-1.0, +5.2]": a change in points with its bootstrap interval (unsigned for a rate in percent). */
export const fmtBoot = (i: BootInterval | null, sign = true) => {
  const f = sign ? signed : plain;
  return i ? `${f(i.estimate)} [${f(i.lo)}, ${f(i.hi)}]` : '—';
};
/** A Markdown section: its heading, a blank line, its lines, a blank line. */
const section = (title: string, lines: string[]) => [title, '', ...lines, ''];
const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
const head = (cells: string[]) => [row(cells), `|${cells.map(() => ' --- ').join('|')}|`];

export function claimsTable(claims: Claim[]): string[] {
  const fmt = (x: number, unit: Claim['unit']) => (unit === 'x' ? `${x.toFixed(2)}x` : signed(x));
  return [
    ...head(['claim', 'verdict', 'estimate', '95% interval', 'n', "paper's effect"]),
    ...claims.map((c) =>
      row([
        c.claim,
        `**${c.verdict}**${c.reason ? ` (${c.reason})` : ''}`,
        c.estimate === null ? '—' : fmt(c.estimate, c.unit),
        c.ci ? `[${fmt(c.ci[0], c.unit)}, ${fmt(c.ci[1], c.unit)}]` : '—',
        String(c.n),
        c.paperEffect === null ? 'a loss (no size given)' : fmt(c.paperEffect, c.unit),
      ]),
    ),
    '',
    "Estimates and intervals in percentage points (the rollout claim: E2E RL's rollout turns over PivotRL's turns to reach its " +
      "final per-turn accuracy). Verdicts: **contradicted** when the interval lies wholly below the paper's effect (a smaller " +
      "effect than the paper's is a result), **supported** when it excludes no effect in the claimed direction, **no difference " +
      `resolved** only when it contains no effect and its half-width already meets the precision the claim needs (${PRECISION.inDomain} ` +
      `points for per-turn accuracy, ${PRECISION.ood} for the OOD change), otherwise **inconclusive** with the half-width.`,
  ];
}

function perTurnTable(t: Tables, metrics: MethodMetrics[]): string[] {
  const rows = t.perTurn.filter((m) => m.rows);
  if (!rows.length) return ['No per-turn data: the evaluations of these runs did not score held-out states.'];
  return [
    ...head([
      'method',
      'states x K',
      'sampled accuracy %',
      'change vs pi0 (points)',
      'greedy accuracy %',
      'greedy change',
      'multi-turn success (beside)',
    ]),
    ...rows.map((m) => {
      const p = m.rows!;
      const success = metrics.find((x) => x.method === m.method)!.inDomain.after;
      return row([
        m.label,
        `${p.states} x ${p.k}`,
        fmtBoot(p.sampled, false),
        fmtBoot(p.sampledChange),
        fmtBoot(p.greedy, false),
        fmtBoot(p.greedyChange),
        fmtRate(success),
      ]);
    }),
  ];
}

/** One row per group (template or turn position), one column per method: "pi0 -> after (change [interval])". */
function movedTable(what: string, by: Tables['byTemplate']): string[] {
  const methods = by.filter((m) => m.rows.length);
  if (!methods.length) return [];
  const keys = [...new Set(methods.flatMap((m) => m.rows.map((g) => g.key)))];
  const cell = (g: Moved | undefined) =>
    g
      ? `${g.pi0.toFixed(1)} -> ${g.after.toFixed(1)} (${fmtBoot(g.change)})${g.change.lo > 0 ? ' up' : g.change.hi < 0 ? ' down' : ''}`
      : '—';
  return [
    ...head([`${what} (states)`, ...methods.map((m) => m.label)]),
    ...keys.map((k) =>
      row([
        `${k} (${methods[0].rows.find((g) => g.key === k)?.items ?? '—'})`,
        ...methods.map((m) => cell(m.rows.find((g) => g.key === k))),
      ]),
    ),
  ];
}

function classTable(t: Tables): string[] {
  const methods = t.pi0Classes.filter((m) => m.rows);
  if (!methods.length) return [];
  const classes = ['pivot', 'all-0', 'all-1'] as const;
  return [
    ...head(['method', ...classes.map((c) => `${c}: states, pi0 -> after %`)]),
    ...methods.map((m) =>
      row([m.label, ...classes.map((c) => `${m.rows![c].states.toFixed(0)}, ${plain(m.rows![c].pi0)} -> ${plain(m.rows![c].after)}`)]),
    ),
  ];
}

function oodTable(t: Tables): string[] {
  const methods = t.ood.filter((m) => m.rows.accuracy || m.rows.meanNll);
  if (!methods.length) return ['No per-item OOD data.'];
  return [
    ...head(['method', 'items', 'OOD accuracy %', 'change vs pi0 (points)', 'NLL per token: pi0 -> after', 'per-item NLL change']),
    ...methods.map((m) => {
      const o = m.rows;
      const nll = o.meanNll ? `${o.meanNll.before.toFixed(3)} -> ${o.meanNll.after.toFixed(3)}` : '—';
      const nllChange = o.nllChange
        ? `${(o.nllChange.estimate / 100).toFixed(3)} [${(o.nllChange.lo / 100).toFixed(3)}, ${(o.nllChange.hi / 100).toFixed(3)}]`
        : '—';
      return row([m.label, String(o.items), fmtBoot(o.accuracy, false), fmtBoot(o.change), nll, nllChange]);
    }),
  ];
}

function lossTable(t: Tables): string[] {
  const methods = t.losses.filter((m) => m.rows.length);
  if (!methods.length) return ['The runs recorded no losses per step.'];
  const steps = [...new Set(methods.flatMap((m) => m.rows.map((s) => s.step)))].sort((a, b) => a - b);
  const cell = (s: Tables['losses'][number]['rows'][number] | undefined) =>
    !s ? '' : [s.loss, s.valLoss].map((v) => (v === null ? '—' : v.toFixed(4))).join(' / ');
  return [
    ...head(['step', ...methods.map((m) => `${m.label}: loss / validation loss`)]),
    ...steps.map((step) => row([String(step), ...methods.map((m) => cell(m.rows.find((s) => s.step === step)))])),
  ];
}

function sharedLines(t: Tables, runs: number): string[] {
  const s = t.shared;
  const hash = !s.pi0Hashes.length
    ? "pi0's hash was not recorded (results from before it was kept)."
    : s.pi0Hashes.length === 1
      ? `Every run started from the same pi0, sha256 \`${s.pi0Hashes[0]}\`.`
      : `The runs started from ${s.pi0Hashes.length} different base checkpoints (${s.pi0Hashes.join(', ')}): their comparisons are not paired on pi0.`;
  const evaluation =
    s.pi0EvaluationIdentical === null
      ? ''
      : s.pi0EvaluationIdentical
        ? ` pi0's evaluation gave the same per-item rows in all ${runs} runs (evaluated once, or reproduced exactly).`
        : " pi0's evaluation differs between runs (sampled rewards drawn per run); each change is against the run's own.";
  const profile = !s.profiledRuns
    ? ''
    : s.distinctProfiles === 1
      ? ` pi0 was profiled once and the profile shared by the ${s.profiledRuns} runs that select turns by it.`
      : ` The ${s.profiledRuns} runs that profiled used ${s.distinctProfiles} different profiles.`;
  return [hash + evaluation + profile];
}

function table(metrics: MethodMetrics[], reach: Record<string, Reach> | null): string[] {
  const head = [
    'method',
    'multi-turn success (held-out tasks)',
    'change vs pi0',
    'OOD change vs pi0',
    'OOD worst kind',
    'rollout turns: training',
    'profiling',
    'turns to reach E2E RL final',
  ];
  const rows = metrics.map((m) => {
    const r = reach?.[m.method];
    const toReach = !r
      ? '—'
      : !r.turns
        ? `never (0/${r.of} seeds)`
        : r.turns.hi === 0
          ? `0: pi0 is already there (${r.reached}/${r.of} seeds)`
          : `${fmtCount(r.turns)} (${r.reached}/${r.of} seeds)`;
    return [
      m.label,
      fmtRate(m.inDomain.after),
      fmtDelta(m.inDomain.delta),
      fmtDelta(m.ood.delta),
      fmtDelta(m.ood.worstDelta),
      fmtCount(m.rolloutTurns.training),
      fmtCount(m.rolloutTurns.profiling),
      toReach,
    ];
  });
  return [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function profileTable(metrics: MethodMetrics[]): string[] {
  const profiled = metrics.filter((m) => m.profile);
  if (!profiled.length) return ['No method profiled its candidates.'];
  const head = [
    'method',
    'candidates',
    'pivots',
    'zero variance',
    'all-0',
    'all-1',
    'mean reward per candidate (10 bins over [0, 1], all seeds)',
  ];
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => ' --- ').join('|')}|`,
    ...profiled.map((m) => {
      const p = m.profile!;
      const cells = [
        fmtCount(m.candidates),
        fmtRate(p.pivotShare),
        fmtRate(p.zeroVarianceShare),
        fmtRate(p.allZeroShare),
        fmtRate(p.allOneShare),
      ];
      return `| ${m.label} | ${cells.join(' | ')} | ${p.muHistogram.join(' / ')} |`;
    }),
  ];
}

function stepTable(metrics: MethodMetrics[]): string[] {
  const rl = metrics.filter((m) => m.perStep.length);
  if (!rl.length) return [];
  const steps = Math.max(...rl.map((m) => m.perStep.length));
  const head = ['step', ...rl.map((m) => `${m.label}: batch reward / zero-variance groups`)];
  const rows = Array.from({ length: steps }, (_, i) => [
    String(i + 1),
    ...rl.map((m) => (m.perStep[i] ? `${m.perStep[i].batchReward.mean.toFixed(3)} / ${pct(m.perStep[i].zeroVarianceGroups.mean)}` : '')),
  ]);
  return [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

const CURVE_TITLE: Record<CurveMetric, { title: string; y: string }> = {
  'per-turn': { title: 'Held-out per-turn accuracy (sampled) by rollout turns (mean over seeds, 95% CI)', y: 'per-turn accuracy' },
  'multi-turn': { title: 'In-domain success on held-out tasks by rollout turns (mean over seeds, 95% CI)', y: 'in-domain success' },
};

/** A method's final value on its learning curve. */
const curveEnd = (m: MethodMetrics) => m.curve[m.curve.length - 1].accuracy;

function plots(metrics: MethodMetrics[]): Record<string, string> {
  const rl = metrics.filter((m) => m.perStep.length);
  const bySeries = (f: (m: MethodMetrics) => Series) => metrics.map(f);
  const curveTitle = CURVE_TITLE[metrics[0].curveMetric];
  return {
    'learning-curves.svg': renderChart({
      title: curveTitle.title,
      xLabel: 'rollout turns spent (profiling + training)',
      yLabel: curveTitle.y,
      yRange: [0, 1],
      series: bySeries((m) => ({
        name: m.role === 'sft' ? `${m.label} (no rollouts: final)` : m.label,
        dashed: m.role === 'sft',
        points:
          m.role === 'sft'
            ? [0, Math.max(1, ...metrics.map((x) => x.rolloutTurns.total.mean))].map((x) => ({ x, y: curveEnd(m).mean }))
            : m.curve.map((p) => ({ x: p.turns, y: p.accuracy.mean, lo: clamp01(p.accuracy.lo), hi: clamp01(p.accuracy.hi) })),
      })),
    }),
    'reward-variance.svg': renderChart({
      title: 'Share of zero-variance groups per step (no GRPO signal)',
      xLabel: 'step',
      yLabel: 'zero-variance groups',
      yRange: [0, 1],
      series: rl.map((m) => ({ name: m.label, points: m.perStep.map((s) => ({ x: s.step, y: s.zeroVarianceGroups.mean })) })),
    }),
    'batch-reward.svg': renderChart({
      title: 'Mean reward of the training batch per step',
      xLabel: 'step',
      yLabel: 'batch reward',
      yRange: [0, 1],
      series: rl.map((m) => ({ name: m.label, points: m.perStep.map((s) => ({ x: s.step, y: s.batchReward.mean })) })),
    }),
    'mu-histogram.svg': renderChart({
      title: 'Mean profiled reward per candidate turn (share of candidates, all seeds)',
      xLabel: 'mean reward of the K samples (bin centre)',
      yLabel: 'share of candidates',
      yRange: [0, 1],
      series: metrics
        .filter((m) => m.profile)
        .map((m) => {
          const h = m.profile!.muHistogram;
          const total = h.reduce((a, v) => a + v, 0) || 1;
          return { name: m.label, points: h.map((v, i) => ({ x: (i + 0.5) / h.length, y: v / total })) };
        }),
    }),
    'frontier.svg': renderChart({
      title: 'Final in-domain success vs rollout turns spent (95% CI)',
      xLabel: 'rollout turns spent (profiling + training)',
      yLabel: 'in-domain success',
      yRange: [0, 1],
      series: bySeries((m) => ({
        name: m.label,
        style: 'points',
        points: [
          { x: m.rolloutTurns.total.mean, y: m.inDomain.after.mean, lo: clamp01(m.inDomain.after.lo), hi: clamp01(m.inDomain.after.hi) },
        ],
      })),
    }),
  };
}

export function buildReport(runs: RunResult[], meta: { name: string; command: string; seconds: number }): ReportFiles {
  const by = groupRuns(runs);
  const curveMetric = commonCurveMetric(runs);
  const metrics = [...by.values()].map((rs) => methodMetrics(rs, curveMetric));
  const e2e = metrics.find((m) => m.role === 'e2e-rl');
  const reach = e2e ? Object.fromEntries([...by].map(([id, rs]) => [id, reachOf(rs, curveEnd(e2e).mean, curveMetric)])) : null;
  const claims = judgeClaims(runs);
  const tables = buildTables(runs);
  const seeds = [...new Set(runs.map((r) => r.seed))];
  const s = runs[0].settings;
  const heldout = runs[0].result.before?.inDomain.episodes ?? 0;
  const md = [
    `# ${meta.name}: PivotRL against SFT and end-to-end RL, with ablations`,
    '',
    `Regenerated by \`${meta.command}\` (${(meta.seconds / 60).toFixed(1)} min wall); every figure below comes from \`results.json\` ` +
      `beside this file (the campaigns' workflow results and their per-item rows). ${metrics.length} methods x ${seeds.length} seeds ` +
      `(${seeds.join(', ')}), same data and base model pi0; ${s.steps} steps each. Per-turn and OOD figures and the claims have 95% ` +
      'percentile bootstrap intervals over seeds and items together (the same items for every method, 2000 replicates); multi-turn ' +
      'success and rollout turns have Student t intervals over seeds.',
    '',
    ...section("## The paper's claims", claimsTable(claims)),
    ...section('## Held-out per-turn accuracy at expert states (primary in-domain metric)', perTurnTable(tables, metrics)),
    ...section(
      '## Which templates moved (sampled per-turn accuracy %, change in points; "up"/"down": the interval excludes 0)',
      movedTable('template', tables.byTemplate),
    ),
    ...section('### By turn position', movedTable('turn position', tables.byPosition)),
    ...section("## By pi0's class of the state (pi0's K samples at the start: pivot = mixed rewards)", classTable(tables)),
    ...section('## Out of domain: accuracy and drift from pi0', oodTable(tables)),
    ...section('## Losses per step (mean over seeds)', lossTable(tables)),
    ...section('## What the runs shared', sharedLines(tables, runs.length)),
    '## Multi-turn success and rollout turns',
    '',
    ...table(metrics, reach),
    '',
    'Rollout turns = policy actions sampled for profiling or training (evaluation excluded). ' +
      (e2e
        ? `"Turns to reach": first evaluation whose ${curveMetric} accuracy is at or above ${e2e.label}'s final mean (${pct(curveEnd(e2e).mean)}); pi0 itself counts at 0 turns.`
        : ''),
    '',
    '| method | settings | pi0 in-domain | pi0 OOD | seeds (workflow ids in results.json) |',
    '| --- | --- | --- | --- | --- |',
    ...metrics.map(
      (m) =>
        `| ${m.label} | ${m.settings.method}, turns: ${m.settings.selection}, reward: ${m.settings.verifier}, B=${m.settings.batch}, ` +
        `G=${m.settings.group}, K=${m.settings.k} | ${fmtRate(m.inDomain.before)} | ${fmtRate(m.ood.before)} | ${m.seeds.join(', ')} |`,
    ),
    '',
    '## Profiling',
    '',
    ...profileTable(metrics),
    '',
    '## Per step (mean over seeds)',
    '',
    ...stepTable(metrics),
    '',
    '## Scale and knobs',
    '',
    `This run: ${seeds.length} seeds, ${s.steps} steps, K=${s.k} profiling samples per turn, ${runs[0].result.candidates} candidate turns, ` +
      `${heldout} held-out tasks (one task = ${(100 / heldout).toFixed(1)} points), ${runs[0].result.before?.ood.items} OOD items. ` +
      'For a larger run edit the ' +
      'experiment config (`configs/experiment.json`): `seeds` (more seeds narrow the intervals), `campaign.train.steps`, `batchPivots` (B; ' +
      "E2E RL's is tasks per step) and `groupSize` (G), `campaign.profile.k`, `campaign.evaluate.heldoutTasks` / `oodItems` / `every` " +
      '(points on the learning curves), `parallel` (campaigns at once; add workers with `make workers` and drop `--embedded-workers`), and ' +
      'the data (`pivotrl generate --train N --heldout N --ood N`). Then `make experiment EXPERIMENT_CONFIG=...`.',
    '',
    '## Plots',
    '',
    '![learning curves](learning-curves.svg)',
    '',
    '![zero-variance groups per step](reward-variance.svg)',
    '',
    '![batch reward per step](batch-reward.svg)',
    '',
    '![accuracy vs rollout turns](frontier.svg)',
    '',
    '![mean reward per candidate](mu-histogram.svg)',
    '',
  ].join('\n');
  return { markdown: md, plots: plots(metrics), metrics, reach, claims, tables };
}
