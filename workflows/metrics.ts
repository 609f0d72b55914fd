// A campaign's metrics, labelled by campaign and method, exported by the worker's Runtime (workers/runtime.ts).
// They go through the workflow's metricMeter: a sink, not a command (histories are unchanged and recorded ones still
// replay), skipped while replaying (nothing counts twice), and counted once per completed activity call, as the
// progress record counts them, where an activity's own meter would count every attempt.
import { metricMeter } from '@temporalio/workflow';
import type { CampaignProgress, CurvePoint, Evaluation } from '../pipeline/campaign-state';
import type { PerTurnSummary } from '../pipeline/turn-eval';

type Accuracies = Partial<Record<'episode' | 'ood' | 'per_turn_greedy' | 'per_turn_sampled', number>>;

const perTurnOf = (perTurn: PerTurnSummary | undefined): Accuracies =>
  perTurn ? { per_turn_greedy: perTurn.greedy, per_turn_sampled: perTurn.sampled } : {};

const evaluationAccuracies = (e: Evaluation): Accuracies => ({
  episode: e.inDomain.successRate,
  ood: e.ood.accuracy,
  ...perTurnOf(e.perTurn),
});

const curveAccuracies = (p: CurvePoint): Accuracies => ({
  ...(p.inDomain !== undefined && { episode: p.inDomain }),
  ood: p.ood,
  ...perTurnOf(p.perTurn),
});

/** The trained policy's latest accuracies: the final evaluation's, else the learning curve's last point's. */
function trainedAccuracies(progress: CampaignProgress): Accuracies {
  if (progress.after) return evaluationAccuracies(progress.after);
  const point = progress.curve?.at(-1);
  return point ? curveAccuracies(point) : {};
}

export function campaignMetrics(campaignId: string, method: string) {
  const meter = metricMeter.withTags({ campaign: campaignId, method });
  const stageCalls = meter.createCounter('pivotrl_stage_calls', '', 'Completed activity calls by campaign phase (stage) and activity');
  const stageMs = meter.createCounter('pivotrl_stage_ms', 'ms', 'Time of completed activity calls (workflow time) by phase and activity');
  const masked = meter.createCounter('pivotrl_masked_samples', '', 'Verified samples without a verdict (infrastructure failures) by phase');
  const step = meter.createGauge('pivotrl_step', 'int', '', 'Update steps done');
  const batchReward = meter.createGauge('pivotrl_batch_reward', 'float', '', "The last update step's mean reward");
  const zeroVariance = meter.createGauge(
    'pivotrl_zero_variance_groups',
    'int',
    '',
    "The last update step's groups whose rewards are all equal",
  );
  const candidates = meter.createGauge('pivotrl_candidate_turns', 'int', '', 'Candidate turns ingested');
  const turns = meter.createGauge('pivotrl_profiled_turns', 'int', '', 'Profiled candidate turns by class: pivot (kept), all0, all1');
  const rollouts = meter.createGauge(
    'pivotrl_rollout_turns',
    'int',
    '',
    'Rollout turns generated, by kind: profiling, training, evaluation',
  );
  const accuracy = meter.createGauge('pivotrl_accuracy', 'float', '', 'Accuracy (0-1) of the base and the trained policy, by kind');

  const setAccuracies = (model: 'base' | 'trained', values: Accuracies) => {
    for (const [kind, value] of Object.entries(values)) accuracy.set(value, { model, kind });
  };

  return {
    /** A completed activity call of `phase` (the campaign's phase, or evaluate-curve) and its result. */
    call(phase: string, activity: string, ms: number, result: unknown): void {
      stageCalls.add(1, { stage: phase, activity });
      stageMs.add(Math.max(0, Math.round(ms)), { stage: phase, activity });
      const m = (result as { masked?: unknown } | undefined)?.masked;
      if (activity === 'verify' && typeof m === 'number' && m > 0) masked.add(m, { stage: phase });
    },
    /** The levels of the progress record, at every report. */
    report(progress: CampaignProgress): void {
      step.set(progress.step);
      candidates.set(progress.candidates);
      for (const [kind, n] of Object.entries(progress.rolloutTurns)) rollouts.set(n, { kind });
      const last = progress.history.at(-1);
      if (last) {
        batchReward.set(last.batchReward);
        zeroVariance.set(last.zeroVarianceGroups);
      }
      const pivots = progress.pivots?.summary;
      if (pivots) {
        turns.set(pivots.pivots, { class: 'pivot' });
        turns.set(pivots.allZero, { class: 'all0' });
        turns.set(pivots.allOne, { class: 'all1' });
      }
      if (progress.before) setAccuracies('base', evaluationAccuracies(progress.before));
      setAccuracies('trained', trainedAccuracies(progress));
    },
  };
}
