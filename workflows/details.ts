// The campaign's current details, as ops read them in the Temporal UI (Markdown).
import type { CampaignProgress, Evaluation } from './campaign';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const evalLine = (e: Evaluation | null) => (e ? `in-domain ${pct(e.inDomain.successRate)}, out-of-domain ${pct(e.ood.accuracy)}` : '—');

export function renderDetails(p: CampaignProgress): string {
  const lines = [`**PivotRL campaign** \`${p.campaignId}\` — stage **${p.stage}**${p.paused ? ' (paused)' : ''}`];
  if (p.candidates) lines.push(`- candidates: ${p.candidates} turns (${p.badRecords} bad records quarantined)`);
  if (p.pivots) {
    const s = p.pivots.summary;
    lines.push(`- pivots: ${s.pivots} (${pct(s.pivotRate)}); all-0 ${s.allZero}, all-1 ${s.allOne}, too easy ${s.tooEasy}`);
  }
  if (p.steps) lines.push(`- step ${p.step}/${p.steps}`);
  const last = p.history[p.history.length - 1];
  if (last)
    lines.push(
      `- last step: batch reward ${last.batchReward.toFixed(3)}, zero-variance groups ${pct(last.zeroVarianceGroups)}, loss ${last.update.loss.toFixed(4)}`,
    );
  lines.push(`- rollout turns: profiling ${p.rolloutTurns.profiling}, training ${p.rolloutTurns.training}`);
  lines.push(`- before: ${evalLine(p.before)}`);
  lines.push(`- after: ${evalLine(p.after)}`);
  return lines.join('\n');
}
