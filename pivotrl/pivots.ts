// Offline profiling statistics and the pivot filter (design section 1, steps 2-3).
//   mu_t  = mean of the K verified rewards of candidate t (masked samples excluded)
//   var_t = population variance of the same rewards
//   pivot  <=>  var_t > 0  and  mu_t < lambda_diff
import { z } from 'zod';

export const Reward = z.union([z.literal(0), z.literal(1), z.null()]);
export type Reward = z.infer<typeof Reward>;

export const CandidateProfile = z.object({
  turnId: z.string(),
  rewards: z.array(Reward),
  n: z.number().int().nonnegative(),
  mu: z.number(),
  var: z.number(),
  masked: z.number().int().nonnegative(),
});
export type CandidateProfile = z.infer<typeof CandidateProfile>;

export function profileCandidate(turnId: string, rewards: Reward[]): CandidateProfile {
  const kept: number[] = rewards.filter((r) => r !== null);
  const n = kept.length;
  const mu = n === 0 ? 0 : kept.reduce((a, r) => a + r, 0) / n;
  const variance = n === 0 ? 0 : kept.reduce((a, r) => a + (r - mu) ** 2, 0) / n;
  return { turnId, rewards, n, mu, var: variance, masked: rewards.length - n };
}

export type CandidateClass = 'pivot' | 'all_zero' | 'all_one' | 'too_easy' | 'unverified';

/** Why a candidate is or is not a pivot. `too_easy`: mixed rewards but mu >= lambda_diff. */
export function classify(p: CandidateProfile, lambdaDiff: number): CandidateClass {
  if (p.n === 0) return 'unverified';
  if (p.var === 0) return p.mu === 0 ? 'all_zero' : 'all_one';
  return p.mu < lambdaDiff ? 'pivot' : 'too_easy';
}

export const PivotSummary = z.object({
  candidates: z.number().int(),
  pivots: z.number().int(),
  allZero: z.number().int(),
  allOne: z.number().int(),
  tooEasy: z.number().int(),
  unverified: z.number().int(),
  pivotRate: z.number(),
  meanReward: z.number(),
});
export type PivotSummary = z.infer<typeof PivotSummary>;

export function summarisePivots(profiles: CandidateProfile[], lambdaDiff: number): PivotSummary {
  const count = (c: CandidateClass) => profiles.filter((p) => classify(p, lambdaDiff) === c).length;
  const pivots = count('pivot');
  const verified = profiles.filter((p) => p.n > 0);
  return {
    candidates: profiles.length,
    pivots,
    allZero: count('all_zero'),
    allOne: count('all_one'),
    tooEasy: count('too_easy'),
    unverified: count('unverified'),
    pivotRate: profiles.length === 0 ? 0 : pivots / profiles.length,
    meanReward: verified.length === 0 ? 0 : verified.reduce((a, p) => a + p.mu, 0) / verified.length,
  };
}
