// The experiment's metrics, from the campaigns' results: per method, means with 95% intervals over seeds.
import type { CampaignConfig } from '../core/config';
import type { CampaignProgress } from '../pipeline/campaign-state';
import type { RunItems } from './items';
import type { Role } from './plan';
import { ci95, type Interval } from './stats';

export interface RunResult {
  method: string;
  label: string;
  role: Role;
  seed: number;
  workflowId: string;
  settings: { method: string; selection: string; verifier: string; steps: number; batch: number; group: number; k: number };
  result: CampaignProgress;
  /** The run's effective campaign config (absent in results recorded before it was kept, as are the next two). */
  config?: CampaignConfig;
  /** sha256 of the base policy pi0 the run started from (policy/checkpoint.ts checkpointHash). */
  baseHash?: string;
  /** Per-item rows of its evaluations, so that every interval can be recomputed from results.json. */
  items?: RunItems;
}

export interface CurvePointStats {
  /** Rollout turns spent by then (profiling + training), mean over seeds. */
  turns: number;
  /** In the method's curve metric (`MethodMetrics.curveMetric`). */
  accuracy: Interval;
}

/**
 * The in-domain metric of learning curves: per-turn accuracy at held-out expert states (mean of the K sampled
 * actions' rewards) when every evaluation of the run has it, else multi-turn success on held-out tasks.
 */
export type CurveMetric = 'per-turn' | 'multi-turn';

export interface MethodMetrics {
  method: string;
  label: string;
  role: Role;
  seeds: number[];
  settings: RunResult['settings'];
  candidates: Interval;
  /** Profiling statistics; null when the method did not profile (SFT, E2E RL, random turns). */
  profile: {
    pivotShare: Interval;
    allZeroShare: Interval;
    allOneShare: Interval;
    zeroVarianceShare: Interval;
    /** Candidates per bin of mean reward (10 bins over [0, 1]), summed over seeds. */
    muHistogram: number[];
  } | null;
  perStep: { step: number; batchReward: Interval; zeroVarianceGroups: Interval }[];
  rolloutTurns: { profiling: Interval; training: Interval; total: Interval };
  inDomain: { before: Interval; after: Interval; delta: Interval };
  ood: { before: Interval; after: Interval; delta: Interval; worstDelta: Interval };
  curveMetric: CurveMetric;
  curve: CurvePointStats[];
}

export const totalTurns = (t: { profiling: number; training: number }) => t.profiling + t.training;

export function curveMetricOf(r: CampaignProgress): CurveMetric {
  const points = [r.before, ...(r.curve ?? []), r.after];
  return points.every((p) => p?.perTurn) ? 'per-turn' : 'multi-turn';
}

/** A run's learning curve in `metric`: pi0 at 0 turns, the evaluations between steps, the final evaluation. */
export function curveOf(r: CampaignProgress, metric = curveMetricOf(r)): { turns: number; accuracy: number }[] {
  if (!r.before || !r.after) throw new Error(`campaign ${r.campaignId} has no before/after evaluation (stage ${r.stage})`);
  const at = (step: string, perTurn: { sampled: number } | undefined, success: number | undefined) => {
    const value = metric === 'per-turn' ? perTurn?.sampled : success;
    if (value === undefined) throw new Error(`campaign ${r.campaignId}: the evaluation at ${step} has no ${metric} accuracy`);
    return value;
  };
  return [
    { turns: 0, accuracy: at('pi0', r.before.perTurn, r.before.inDomain.successRate) },
    ...(r.curve ?? []).map((p) => ({ turns: totalTurns(p.rolloutTurns), accuracy: at(`step ${p.step}`, p.perTurn, p.inDomain) })),
    { turns: totalTurns(r.rolloutTurns), accuracy: at('the end', r.after.perTurn, r.after.inDomain.successRate) },
  ];
}

/** Rollout turns a run had spent when its curve (in `metric`) first reached `target` (null: never). */
export function turnsToReach(r: CampaignProgress, target: number, metric = curveMetricOf(r)): number | null {
  return curveOf(r, metric).find((p) => p.accuracy >= target - 1e-9)?.turns ?? null;
}

/** The largest out-of-domain drop over item kinds (negative: worse than pi0). */
export function worstOodDelta(r: CampaignProgress): number {
  const before = r.before!.ood.byKind;
  const after = r.after!.ood.byKind;
  const deltas = Object.keys(before).map((k) => (after[k] ?? 0) - before[k]);
  return deltas.length ? Math.min(...deltas) : r.after!.ood.accuracy - r.before!.ood.accuracy;
}

/** The curve metric every run can be drawn in (per-turn when all have it). */
export const commonCurveMetric = (runs: RunResult[]): CurveMetric =>
  runs.every((r) => curveMetricOf(r.result) === 'per-turn') ? 'per-turn' : 'multi-turn';

export function methodMetrics(runs: RunResult[], metric?: CurveMetric): MethodMetrics {
  if (runs.length === 0) throw new Error('methodMetrics: no runs');
  const [first] = runs;
  const rs = runs.map((r) => r.result);
  const over = (f: (r: CampaignProgress) => number) => ci95(rs.map(f));
  const profiled = rs.every((r) => r.rolloutTurns.profiling > 0 && r.pivots);
  const share = (f: (s: NonNullable<CampaignProgress['pivots']>['summary']) => number) =>
    over((r) => (r.pivots!.summary.candidates ? f(r.pivots!.summary) / r.pivots!.summary.candidates : 0));
  const steps = Math.max(0, ...rs.map((r) => r.history.length));
  const perStep = Array.from({ length: steps }, (_, i) => {
    const at = rs.map((r) => r.history[i]).filter((h) => h !== undefined);
    return {
      step: at[0].step,
      batchReward: ci95(at.map((h) => h.batchReward)),
      zeroVarianceGroups: ci95(at.map((h) => h.zeroVarianceGroups)),
    };
  });
  const curveMetric = metric ?? commonCurveMetric(runs);
  const curves = rs.map((r) => curveOf(r, curveMetric));
  const points = Math.min(...curves.map((c) => c.length));
  return {
    method: first.method,
    label: first.label,
    role: first.role,
    seeds: runs.map((r) => r.seed),
    settings: first.settings,
    candidates: over((r) => r.candidates),
    profile: profiled
      ? {
          pivotShare: share((s) => s.pivots),
          allZeroShare: share((s) => s.allZero),
          allOneShare: share((s) => s.allOne),
          zeroVarianceShare: share((s) => s.allZero + s.allOne),
          muHistogram: rs.reduce((h, r) => h.map((v, i) => v + (r.pivots!.muHistogram[i] ?? 0)), new Array<number>(10).fill(0)),
        }
      : null,
    perStep: first.role === 'sft' ? [] : perStep,
    rolloutTurns: {
      profiling: over((r) => r.rolloutTurns.profiling),
      training: over((r) => r.rolloutTurns.training),
      total: over((r) => totalTurns(r.rolloutTurns)),
    },
    inDomain: {
      before: over((r) => r.before!.inDomain.successRate),
      after: over((r) => r.after!.inDomain.successRate),
      delta: over((r) => r.after!.inDomain.successRate - r.before!.inDomain.successRate),
    },
    ood: {
      before: over((r) => r.before!.ood.accuracy),
      after: over((r) => r.after!.ood.accuracy),
      delta: over((r) => r.after!.ood.accuracy - r.before!.ood.accuracy),
      worstDelta: over(worstOodDelta),
    },
    curveMetric,
    curve: Array.from({ length: points }, (_, i) => ({
      turns: curves.reduce((a, c) => a + c[i].turns, 0) / curves.length,
      accuracy: ci95(curves.map((c) => c[i].accuracy)),
    })),
  };
}

/** Per-seed differences a - b of a metric, matched by seed (seeds present in both). */
export function pairedDelta(a: RunResult[], b: RunResult[], f: (r: CampaignProgress) => number): Interval {
  const bySeed = new Map(b.map((r) => [r.seed, r.result]));
  return ci95(a.filter((r) => bySeed.has(r.seed)).map((r) => f(r.result) - f(bySeed.get(r.seed)!)));
}

export interface Reach {
  /** E2E RL's final in-domain success (mean over its seeds). */
  target: number;
  reached: number;
  of: number;
  /** Rollout turns to reach it, over the seeds that did. */
  turns: Interval | null;
}

export function reachOf(runs: RunResult[], target: number, metric: CurveMetric): Reach {
  const turns = runs.map((r) => turnsToReach(r.result, target, metric)).filter((t): t is number => t !== null);
  return { target, reached: turns.length, of: runs.length, turns: turns.length ? ci95(turns) : null };
}
