// The campaign's current details, as ops read them in the Temporal UI (Markdown): where it is, what it is doing
// now, what profiling found, the last step's diagnostics, the live hyper-parameters, and before/after accuracy.
// Most important first: the UI shows them in a small frame (about six lines are visible without scrolling).
import type { CampaignConfig } from '../core/config';
import type { CampaignProgress, Evaluation } from '../pipeline/campaign-state';
import { phaseTotals } from '../pipeline/stage-times';

/** One line naming the campaign's settings: the static summary at start, and the details' last line in every run. */
const METHOD = { pivotrl: 'PivotRL', sft: 'SFT', 'e2e-rl': 'End-to-end RL' } as const;
export const campaignSummary = (c: CampaignConfig) =>
  `${METHOD[c.method ?? 'pivotrl']}${c.profile.selection === 'random' ? ' (random turns)' : ''} campaign ${c.name}: ${c.train.steps} steps, K=${c.profile.k}, B=${c.train.batchPivots}, G=${c.train.groupSize}, verifier ${c.verifier}`;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const evalOf = (e: Evaluation | null) => (e ? `${pct(e.inDomain.successRate)} / ${pct(e.ood.accuracy)}` : '—');

export function renderDetails(p: CampaignProgress, config?: CampaignConfig): string {
  const where = p.stage === 'update' || p.step > 0 ? `, step ${p.step}/${p.steps}` : '';
  const run = (p.run ?? 1) > 1 ? `, run ${p.run}` : ''; // it continues as new to keep each history short
  const lines = [`**PivotRL campaign** \`${p.campaignId}\` — stage **${p.stage}**${where}${run}${p.paused ? ' — **PAUSED**' : ''}`];
  lines.push('');
  if (p.now) lines.push(`- now: ${p.now}`);
  if (p.pivots) {
    const s = p.pivots.summary;
    lines.push(
      p.selection === 'random'
        ? `- training turns: ${s.pivots} of ${s.candidates} candidates, drawn uniformly (random turns, not profiled)`
        : `- pivots: ${s.pivots} of ${s.candidates} candidates (${pct(s.pivotRate)}); all-0 ${s.allZero}, all-1 ${s.allOne}, too easy ${s.tooEasy}`,
    );
  } else if (p.candidates) lines.push(`- candidates: ${p.candidates} turns (${p.badRecords} bad records quarantined)`);
  const last = p.history[p.history.length - 1];
  if (last) {
    const u = last.update;
    lines.push(
      `- step ${last.step}: batch reward ${last.batchReward.toFixed(3)}, zero-variance groups ${pct(last.zeroVarianceGroups)}, ` +
        `masked ${last.masked}, loss ${u.loss.toFixed(4)}, approx_kl ${u.approx_kl.toFixed(4)}, clipfrac ${u.clipfrac.toFixed(3)}`,
    );
  }
  lines.push(`- accuracy in-domain / out-of-domain: before ${evalOf(p.before)}, after ${evalOf(p.after)}`);
  lines.push(`- rollout turns: profiling ${p.rolloutTurns.profiling}, training ${p.rolloutTurns.training}`);
  if (p.stageTimes) {
    const phases = phaseTotals(p.stageTimes).slice(0, 4);
    lines.push(`- time in activities: ${phases.map((t) => `${t.phase} ${(t.ms / 60_000).toFixed(1)} min (${pct(t.share)})`).join(', ')}`);
  }
  const h = p.hyper;
  lines.push(`- hyper-parameters: lr ${h.lr}, clip ${h.clipEps}, KL beta ${h.klBeta}, temperature ${h.temperature}`);
  // A continued run has no static summary (continue-as-new does not carry it): the settings are repeated here.
  if (config) lines.push(`- ${campaignSummary(config)}`);
  return lines.join('\n');
}
