// The paper's claims judged on the per-item results: for each, the estimate, its 95% bootstrap interval and a verdict
// by one rule (see `judge`), or "not testable" with the reason.
import { bootstrapDifference, bootstrapSeeds, inPoints, type BootInterval } from './bootstrap';
import { alignedMatrices, oodValues, sampledRate, turnValues, type EvalItems, type RowValues } from './items';
import { totalTurns, type RunResult } from './metrics';
import { moved } from './tables';

export type Verdict = 'supported' | 'contradicted' | 'no difference resolved' | 'inconclusive' | 'not testable';

export interface Claim {
  claim: string;
  verdict: Verdict;
  /** In percentage points, or a ratio for the rollout-turns claim (`unit`). */
  estimate: number | null;
  ci: [number, number] | null;
  /** Items compared (held-out states or OOD items); seeds for the rollout-turns claim. */
  n: number;
  /** The paper's effect in the same unit; null when the paper gives a direction only. */
  paperEffect: number | null;
  unit: 'points' | 'x';
  reason?: string;
}

/** What a claim's interval is judged against, in the claim's unit. */
export interface Rule {
  /** An interval wholly above this supports the claim: it excludes no effect (or the claim's margin). */
  supportedAbove: number;
  /** An interval wholly below this contradicts the paper's effect. */
  contradictedBelow: number;
  /** The half-width an interval must meet before "no difference resolved" may be said; null: never said. */
  precision: number | null;
}

/** The paper's effects (DESIGN.md section 2) and the precision issue #14 asks of each claim, in points. */
export const PAPER = { inDomainOverSft: 4.17, oodMargin: -1, sftOodChange: -10, rolloutRatio: 4 };
export const PRECISION = { inDomain: 4, ood: 2 };

const f1 = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(1);

/**
 * The rule: contradicted when the interval excludes the paper's effect (lies wholly below it), even if it also excludes
 * no effect: a smaller effect than the paper's is a result, not a success; supported when it excludes no effect in the
 * claimed direction; "no difference resolved" only when it contains both but is already as narrow as the claim needs;
 * otherwise inconclusive, naming the half-width.
 */
export function judge(ci: { lo: number; hi: number }, rule: Rule): { verdict: Verdict; reason?: string } {
  const half = (ci.hi - ci.lo) / 2;
  if (ci.hi < rule.contradictedBelow) {
    const direction =
      ci.lo > rule.supportedAbove ? `; it does exclude ${f1(rule.supportedAbove)}: the direction holds, the size does not` : '';
    return { verdict: 'contradicted', reason: `the interval lies below ${f1(rule.contradictedBelow)}${direction}` };
  }
  if (ci.lo > rule.supportedAbove) return { verdict: 'supported' };
  if (rule.precision !== null && half <= rule.precision) {
    return { verdict: 'no difference resolved', reason: `half-width ${half.toFixed(1)} <= ${rule.precision}` };
  }
  return {
    verdict: 'inconclusive',
    reason:
      rule.precision !== null
        ? `interval too wide: half-width ${half.toFixed(1)} > ${rule.precision}`
        : `the interval contains both ${f1(rule.supportedAbove)} and ${f1(rule.contradictedBelow)}`,
  };
}

type Head = Pick<Claim, 'claim' | 'paperEffect' | 'unit'>;

function judged(head: Head, ci: BootInterval, n: number, rule: Rule, note?: string): Claim {
  const { verdict, reason } = judge(ci, rule);
  const why = [reason, note].filter(Boolean).join('. ');
  return { ...head, verdict, estimate: ci.estimate, ci: [ci.lo, ci.hi], n, ...(why && { reason: why }) };
}

const notTestable = (head: Head, reason: string): Claim => ({ ...head, verdict: 'not testable', estimate: null, ci: null, n: 0, reason });

/** a's mean minus b's on the items both have, in points; null without per-item rows. */
function methodDifference(a: RunResult[], b: RunResult[], rows: RowValues, seed: string) {
  const m = alignedMatrices([a.map(rows), b.map(rows)]);
  return m && { ci: inPoints(bootstrapDifference(m.matrices[0], m.matrices[1], { seed })), n: m.ids.length };
}

/** The runs' after minus their own before (pi0) on the same items, in points; null without per-item rows. */
const changeVsPi0 = (runs: RunResult[], rows: (phase: 'before' | 'after') => RowValues, seed: string) => {
  const m = moved(runs, rows, 'all', seed);
  return m && { ci: m.change, n: m.items };
};
const turnsOf = (phase: 'before' | 'after') => turnValues(phase);
const perTurnChange = (runs: RunResult[], seed: string) => changeVsPi0(runs, turnsOf, seed);
const oodChange = (runs: RunResult[], seed: string) => changeVsPi0(runs, oodValues, seed);

const meanSampled = (e: EvalItems | undefined) =>
  e?.turns?.length ? e.turns.reduce((a, r) => a + sampledRate(r), 0) / e.turns.length : null;

/** A run's learning curve in per-turn accuracy: pi0 at 0 turns, the evaluations between steps, the final one. */
export function perTurnCurve(r: RunResult): { turns: number; accuracy: number }[] | null {
  const before = meanSampled(r.items?.before);
  const after = meanSampled(r.items?.after);
  if (before === null || after === null) return null;
  const spent = new Map((r.result.curve ?? []).map((p) => [p.step, totalTurns(p.rolloutTurns)]));
  const between = (r.items?.curve ?? []).flatMap((p) => {
    const acc = meanSampled(p);
    return acc === null || !spent.has(p.step) ? [] : [{ turns: spent.get(p.step)!, accuracy: acc }];
  });
  return [{ turns: 0, accuracy: before }, ...between, { turns: totalTurns(r.result.rolloutTurns), accuracy: after }];
}

const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;

function rolloutClaim(piv: RunResult[], e2e: RunResult[]): Claim {
  const head: Head = { claim: "E2E RL's per-turn accuracy with about 4x fewer rollout turns", paperEffect: PAPER.rolloutRatio, unit: 'x' };
  const pivCurves = piv.map(perTurnCurve);
  const e2eFinal = e2e.map((r) => meanSampled(r.items?.after));
  if (pivCurves.some((c) => !c) || e2eFinal.some((a) => a === null)) return notTestable(head, 'no per-turn data on the learning curves');
  const gain = perTurnChange(e2e, 'e2e-gain');
  if (gain && gain.ci.lo <= 0) {
    return notTestable(
      head,
      `E2E RL did not improve on pi0 (change ${f1(gain.ci.estimate)} [${f1(gain.ci.lo)}, ${f1(gain.ci.hi)}] points), so its final accuracy is no bar to reach`,
    );
  }
  const target = mean(e2eFinal as number[]);
  const e2eTurns = e2e.map((r) => totalTurns(r.result.rolloutTurns));
  const toReach = pivCurves.map((c) => c!.find((p) => p.accuracy >= target - 1e-9)?.turns ?? Infinity);
  const budget = Math.max(...piv.map((r) => totalTurns(r.result.rolloutTurns)));
  if (toReach.some((t) => t === Infinity) && budget < mean(e2eTurns) / PAPER.rolloutRatio) {
    return notTestable(
      head,
      `PivotRL's budget (${budget} rollout turns) ended below a quarter of E2E RL's (${mean(e2eTurns)}) before reaching its accuracy`,
    );
  }
  // A seed that never reached the target counts as infinitely many turns: ratio 0 in the replicates that draw it.
  const ratio = ([e, p]: number[][]) => mean(e) / Math.max(1, mean(p));
  const ci = bootstrapSeeds([e2eTurns, toReach], ratio, { seed: 'rollout-ratio' });
  const reached = toReach.filter((t) => t !== Infinity).length;
  const note = `target ${(100 * target).toFixed(1)}% (E2E RL's final per-turn accuracy), reached in ${reached} of ${piv.length} PivotRL seeds`;
  return judged(head, ci, piv.length, { supportedAbove: 1, contradictedBelow: PAPER.rolloutRatio, precision: null }, note);
}

/** The claims array of results.json: one object per claim of the paper (one per ablation for the fourth). */
export function judgeClaims(runs: RunResult[]): Claim[] {
  const role = (r: string) => runs.filter((x) => x.role === r);
  const [piv, sft, e2e] = [role('pivotrl'), role('sft'), role('e2e-rl')];
  const noTurns = 'no per-turn data';
  const claims: Claim[] = [];

  const inDomain: Head = {
    claim: 'In-domain per-turn accuracy above SFT on the same data (PivotRL - SFT)',
    paperEffect: PAPER.inDomainOverSft,
    unit: 'points',
  };
  const d = piv.length && sft.length ? methodDifference(piv, sft, turnsOf('after'), 'pivotrl-sft') : null;
  claims.push(
    !piv.length || !sft.length
      ? notTestable(inDomain, 'the experiment has no PivotRL or no SFT run')
      : d
        ? judged(inDomain, d.ci, d.n, { supportedAbove: 0, contradictedBelow: PAPER.inDomainOverSft, precision: PRECISION.inDomain })
        : notTestable(inDomain, noTurns),
  );

  const ood: Head = { claim: 'Out-of-domain accuracy within about 1 point of pi0 (PivotRL after - pi0)', paperEffect: 0, unit: 'points' };
  const o = piv.length ? oodChange(piv, 'pivotrl-ood') : null;
  const s = sft.length ? oodChange(sft, 'sft-ood') : null;
  const sftNote = s
    ? `SFT's change: ${f1(s.ci.estimate)} [${f1(s.ci.lo)}, ${f1(s.ci.hi)}] points (paper: about ${PAPER.sftOodChange})`
    : undefined;
  claims.push(
    !piv.length
      ? notTestable(ood, 'the experiment has no PivotRL run')
      : o
        ? judged(ood, o.ci, o.n, { supportedAbove: PAPER.oodMargin, contradictedBelow: PAPER.oodMargin, precision: PRECISION.ood }, sftNote)
        : notTestable(ood, 'no per-item OOD data'),
  );

  claims.push(
    piv.length && e2e.length
      ? rolloutClaim(piv, e2e)
      : notTestable(
          { claim: "E2E RL's per-turn accuracy with about 4x fewer rollout turns", paperEffect: PAPER.rolloutRatio, unit: 'x' },
          'the experiment has no PivotRL or no E2E RL run',
        ),
  );

  for (const method of [...new Set(role('ablation').map((r) => r.method))]) {
    const abl = runs.filter((r) => r.method === method);
    const head: Head = {
      claim: `Ablation ${abl[0].label} loses per-turn accuracy (PivotRL - ${abl[0].label})`,
      paperEffect: null,
      unit: 'points',
    };
    const a = piv.length ? methodDifference(piv, abl, turnsOf('after'), `pivotrl-${method}`) : null;
    claims.push(
      !piv.length
        ? notTestable(head, 'the experiment has no PivotRL run')
        : a
          ? judged(head, a.ci, a.n, { supportedAbove: 0, contradictedBelow: 0, precision: PRECISION.inDomain })
          : notTestable(head, noTurns),
    );
  }
  return claims;
}
