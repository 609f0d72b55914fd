import type { Verdict } from '../core/schemas';

/** Counts for a batch of verdicts, as logged per step. */
export function summariseVerdicts(verdicts: Verdict[]) {
  const byReason: Record<string, number> = {};
  const groups = new Map<string, number[]>();
  let rewarded = 0;
  let masked = 0;
  for (const v of verdicts) {
    byReason[v.reason] = (byReason[v.reason] ?? 0) + 1;
    if (v.reward === null) {
      masked++;
      continue;
    }
    rewarded += v.reward;
    groups.set(v.turnId, [...(groups.get(v.turnId) ?? []), v.reward]);
  }
  const scored = verdicts.length - masked;
  const flat = [...groups.values()].filter((g) => g.every((r) => r === g[0])).length;
  return {
    samples: verdicts.length,
    rewarded,
    masked,
    meanReward: scored ? rewarded / scored : 0,
    zeroVarianceGroups: groups.size ? flat / groups.size : 0,
    byReason,
  };
}
