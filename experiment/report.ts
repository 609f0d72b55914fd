// The experiment report: Markdown with the table, the paper's claims judged on our numbers, and SVG plots.
// Everything here is computed from the campaigns' results (results.json): no figure is typed in.
import type { CampaignProgress } from '../pipeline/campaign-state';
import { methodMetrics, pairedDelta, reachOf, type MethodMetrics, type Reach, type RunResult } from './metrics';
import type { Interval } from './stats';
import { renderChart, type Series } from './svg';

export interface ReportFiles {
  markdown: string;
  /** File name -> SVG text. */
  plots: Record<string, string>;
  metrics: MethodMetrics[];
  reach: Record<string, Reach> | null;
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

/** A verdict on an interval of differences: above `margin` supported, below it contradicted, else not shown. */
function verdict(i: Interval, margin = 0): 'supported' | 'contradicted' | 'not shown' {
  if (i.n < 2 || !Number.isFinite(i.lo)) return 'not shown';
  if (i.lo > margin) return 'supported';
  if (i.hi < margin) return 'contradicted';
  return 'not shown';
}

const groupRuns = (runs: RunResult[]) => {
  const by = new Map<string, RunResult[]>();
  for (const r of runs) by.set(r.method, [...(by.get(r.method) ?? []), r]);
  return by;
};

function claims(runs: RunResult[], metrics: MethodMetrics[], reach: Record<string, Reach> | null): string[] {
  const by = groupRuns(runs);
  const byRole = (role: string) => metrics.find((m) => m.role === role);
  const piv = byRole('pivotrl');
  const sft = byRole('sft');
  const e2e = byRole('e2e-rl');
  const lines: string[] = ["## The paper's claims on our numbers", ''];
  const inDomain = (r: CampaignProgress) => r.after!.inDomain.successRate;
  if (piv && sft) {
    const d = pairedDelta(by.get(piv.method)!, by.get(sft.method)!, inDomain);
    lines.push(
      `1. **In-domain accuracy above SFT on the same data** — ${verdict(d)}. ${piv.label} ${fmtRate(piv.inDomain.after)} vs ` +
        `${sft.label} ${fmtRate(sft.inDomain.after)} on held-out tasks; difference per seed ${fmtDelta(d)} (n=${d.n}). ` +
        `Against pi0: ${piv.label} ${fmtDelta(piv.inDomain.delta)}, ${sft.label} ${fmtDelta(sft.inDomain.delta)}.`,
    );
  } else lines.push('1. **In-domain accuracy above SFT** — not tested: the experiment lacks PivotRL or SFT.');
  if (piv) {
    const d = piv.ood.delta;
    // "Kept within about a point of the base model": the interval of the change must lie above -1 point.
    const v = verdict(d, -0.01);
    const vs = sft ? ` For comparison ${sft.label}: ${fmtDelta(sft.ood.delta)} (worst kind ${fmtDelta(sft.ood.worstDelta)}).` : '';
    lines.push(
      `2. **No out-of-domain forgetting (within about 1 point of pi0)** — ${v}. ${piv.label}: OOD change ${fmtDelta(d)} ` +
        `against pi0 (${fmtRate(piv.ood.before)} -> ${fmtRate(piv.ood.after)}), worst item kind ${fmtDelta(piv.ood.worstDelta)}.${vs}`,
    );
  }
  if (piv && e2e && reach) {
    const r = reach[piv.method];
    const gain = e2e.inDomain.delta;
    const e2eTurns = e2e.rolloutTurns.total.mean;
    let v: string;
    if (!(gain.mean > 0))
      v = `not testable: ${e2e.label} did not improve on pi0 (change ${fmtDelta(gain)}), so its final accuracy is no bar to reach`;
    else if (r.reached < r.of) v = `not supported: ${piv.label} reached it in ${r.reached} of ${r.of} seeds`;
    else {
      const ratio = e2eTurns / Math.max(1, r.turns!.mean);
      v = `${ratio >= 4 ? 'supported' : ratio > 1 ? 'partly supported (fewer turns, but not 4x)' : 'not supported'}: ${e2e.label} spent ${ratio.toFixed(2)}x the rollout turns`;
    }
    const turns = r.turns ? `${fmtCount(r.turns)} rollout turns (profiling included)` : 'never';
    lines.push(
      `3. **End-to-end RL accuracy with about 4x fewer rollout turns** — ${v}. ${e2e.label} ends at ${fmtRate(e2e.inDomain.after)} ` +
        `after ${fmtCount(e2e.rolloutTurns.total)} rollout turns; ${piv.label} reached ${pct(r.target)} in ${r.reached}/${r.of} seeds, after ${turns}.`,
    );
  }
  const ablations = metrics.filter((m) => m.role === 'ablation');
  if (piv && ablations.length) {
    const parts = ablations.map((a) => {
      const d = pairedDelta(by.get(piv.method)!, by.get(a.method)!, inDomain);
      return `${a.label} ${fmtRate(a.inDomain.after)}, ${piv.label} minus it ${fmtDelta(d)} (${verdict(d)})`;
    });
    lines.push(`4. **Ablations (random turns, strict rewards) lose accuracy** — ${parts.join('; ')}.`);
  }
  const base = metrics[0].inDomain.before.mean;
  const tasks = runs[0].result.before!.inDomain.episodes;
  const binomial = 1.96 * Math.sqrt((base * (1 - base)) / Math.max(1, tasks));
  lines.push(
    '',
    'Verdicts: "supported" when the 95% interval lies above the margin (0, or -1 point for forgetting), "contradicted" when it ' +
      'lies below, "not shown" when it contains it. The intervals are over seeds (training randomness) on one fixed held-out ' +
      `set; they leave out that set's own sampling error, which for ${tasks} tasks at pi0's rate is about ±${(100 * binomial).toFixed(1)} ` +
      'points (binomial, 95%): a difference smaller than that may not hold on other tasks.',
  );
  return lines;
}

function table(metrics: MethodMetrics[], reach: Record<string, Reach> | null): string[] {
  const head = [
    'method',
    'in-domain (held-out)',
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

function plots(metrics: MethodMetrics[]): Record<string, string> {
  const rl = metrics.filter((m) => m.perStep.length);
  const bySeries = (f: (m: MethodMetrics) => Series) => metrics.map(f);
  return {
    'learning-curves.svg': renderChart({
      title: 'In-domain success on held-out tasks by rollout turns (mean over seeds, 95% CI)',
      xLabel: 'rollout turns spent (profiling + training)',
      yLabel: 'in-domain success',
      yRange: [0, 1],
      series: bySeries((m) => ({
        name: m.role === 'sft' ? `${m.label} (no rollouts: final)` : m.label,
        dashed: m.role === 'sft',
        points:
          m.role === 'sft'
            ? [0, Math.max(1, ...metrics.map((x) => x.rolloutTurns.total.mean))].map((x) => ({ x, y: m.inDomain.after.mean }))
            : m.curve.map((p) => ({ x: p.turns, y: p.inDomain.mean, lo: clamp01(p.inDomain.lo), hi: clamp01(p.inDomain.hi) })),
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
  const metrics = [...by.values()].map(methodMetrics);
  const e2e = metrics.find((m) => m.role === 'e2e-rl');
  const reach = e2e ? Object.fromEntries([...by].map(([id, rs]) => [id, reachOf(rs, e2e.inDomain.after.mean)])) : null;
  const seeds = [...new Set(runs.map((r) => r.seed))];
  const s = runs[0].settings;
  const heldout = runs[0].result.before?.inDomain.episodes ?? 0;
  const md = [
    `# ${meta.name}: PivotRL against SFT and end-to-end RL, with ablations`,
    '',
    `Regenerated by \`${meta.command}\` (${(meta.seconds / 60).toFixed(1)} min wall); every figure below comes from \`results.json\` ` +
      `beside this file (the campaigns' workflow results). ${metrics.length} methods x ${seeds.length} seeds (${seeds.join(', ')}), ` +
      `same data and base model pi0; ${s.steps} steps each. Intervals are 95% (Student t, n-1 df) over seeds.`,
    '',
    ...claims(runs, metrics, reach),
    '',
    '## Results',
    '',
    ...table(metrics, reach),
    '',
    'Rollout turns = policy actions sampled for profiling or training (evaluation excluded). ' +
      (e2e
        ? `"Turns to reach": first evaluation at or above ${e2e.label}'s final mean (${pct(e2e.inDomain.after.mean)}); pi0 itself counts at 0 turns.`
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
  return { markdown: md, plots: plots(metrics), metrics, reach };
}
