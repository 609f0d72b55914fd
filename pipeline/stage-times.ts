// Where a campaign's time goes: its activity calls' wall time and work, summed by phase and activity (pure; the
// workflow feeds it workflow time, so the figures replay identically).
import type { CampaignProgress, StageTime } from './campaign-state';

/** The work an activity's result reports: samples (generated or verified) and tokens (generated or trained). */
export function workOf(result: unknown): { samples: number; tokens: number } {
  const r = (result ?? {}) as { samples?: unknown; tokens?: unknown; metrics?: { tokens?: unknown } };
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return { samples: num(r.samples), tokens: num(r.tokens) || num(r.metrics?.tokens) };
}

/** Adds one call to `progress.stageTimes` under "<phase>/<activity>" (phase: the campaign's, or "evaluate-curve"). */
export function recordCall(progress: CampaignProgress, phase: string, activity: string, ms: number, result: unknown): void {
  const key = `${phase}/${activity}`;
  const times = (progress.stageTimes ??= {});
  const t: StageTime = (times[key] ??= { calls: 0, ms: 0, samples: 0, tokens: 0 });
  const work = workOf(result);
  t.calls++;
  t.ms += ms;
  t.samples += work.samples;
  t.tokens += work.tokens;
}

/** The phases' totals, largest first, with each phase's share of the whole. */
export function phaseTotals(times: Record<string, StageTime>): { phase: string; ms: number; share: number }[] {
  const byPhase = new Map<string, number>();
  for (const [key, t] of Object.entries(times)) {
    const phase = key.split('/', 1)[0];
    byPhase.set(phase, (byPhase.get(phase) ?? 0) + t.ms);
  }
  const total = [...byPhase.values()].reduce((a, v) => a + v, 0) || 1;
  return [...byPhase].map(([phase, ms]) => ({ phase, ms, share: ms / total })).sort((a, b) => b.ms - a.ms);
}
