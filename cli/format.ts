// What the CLI prints while a campaign runs and when it ends.
import { formatVerifications } from '../core/turn-verification';
import type { CampaignProgress, Evaluation } from '../pipeline/campaign-state';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function formatProgressLine(p: CampaignProgress): string {
  const parts = [`stage=${p.stage}`];
  const s = p.pivots?.summary;
  if (s) parts.push(p.selection === 'random' ? `turns=${s.pivots} (random)` : `pivots=${s.pivots}/${s.candidates}`);
  if (p.stage === 'update' || p.step > 0) parts.push(`step=${p.step}/${p.steps}`);
  const last = p.history[p.history.length - 1];
  if (last) parts.push(`batch_reward=${last.batchReward.toFixed(3)}`, `loss=${last.update.loss.toFixed(4)}`);
  parts.push(`rollout_turns=${p.rolloutTurns.profiling}+${p.rolloutTurns.training}`);
  const perTurn = (p.after ?? p.curve?.[p.curve.length - 1] ?? p.before)?.perTurn;
  if (perTurn) parts.push(`per_turn=${pct(perTurn.greedy)}/${pct(perTurn.sampled)} (greedy/sampled)`);
  if (p.paused) parts.push('PAUSED');
  return parts.join(' ');
}

const evalRow = (name: string, before: number | undefined, after: number | undefined) =>
  `  ${name.padEnd(28)} ${before === undefined ? '—' : pct(before)} -> ${after === undefined ? '—' : pct(after)}`;

/** Held-out per-turn accuracy, greedy and sampled (mean of K), when the evaluations scored expert states. */
function perTurnRows(p: CampaignProgress): string[] {
  const [before, after] = [p.before?.perTurn, p.after?.perTurn];
  const shown = before ?? after;
  if (!shown) return [];
  return [
    evalRow(`per-turn greedy (${shown.states} states)`, before?.greedy, after?.greedy),
    evalRow(`per-turn sampled (K = ${shown.k})`, before?.sampled, after?.sampled),
  ];
}

export function formatSummary(p: CampaignProgress, url: string): string {
  const s = p.pivots?.summary;
  const e = (x: Evaluation | null) => x ?? undefined;
  return [
    '',
    `PivotRL campaign ${p.campaignId}: ${p.stage}`,
    `  candidate turns              ${p.candidates}${p.badRecords ? ` (${p.badRecords} bad records quarantined)` : ''}`,
    ...(p.verification ? [`  verified by                  ${formatVerifications(p.verification)}`] : []),
    s
      ? `  pivots                       ${s.pivots} (${pct(s.pivotRate)}); others: all-0 ${s.allZero}, all-1 ${s.allOne}, mixed but too easy ${s.tooEasy}`
      : '  pivots                       —',
    `  rollout turns                profiling ${p.rolloutTurns.profiling}, training ${p.rolloutTurns.training} (evaluation ${p.rolloutTurns.evaluation})`,
    `  update steps                 ${p.step}${p.finalHash ? `, final checkpoint ${p.finalCheckpoint} sha256 ${p.finalHash.slice(0, 16)}…` : ''}`,
    `  policy backend               ${p.backend ?? '—'}`,
    '  accuracy                     before -> after',
    evalRow('in-domain (held-out tasks)', e(p.before)?.inDomain.successRate, e(p.after)?.inDomain.successRate),
    evalRow('out-of-domain', e(p.before)?.ood.accuracy, e(p.after)?.ood.accuracy),
    ...perTurnRows(p),
    `  workflow id                  ${p.campaignId}`,
    `  Temporal UI                  ${url}`,
  ].join('\n');
}
