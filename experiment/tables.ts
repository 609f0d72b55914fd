// The tables results.json keeps beside the claims, all from per-item rows: per-turn and OOD figures per method with
// bootstrap intervals, which templates and turn positions moved, accuracy per pi0 class, losses per step, and what
// the runs shared. Rates in percent, changes in points.
import { bootstrapChange, bootstrapMean, inPoints as points, type BootInterval } from './bootstrap';
import {
  alignedMatrices,
  greedyRate,
  oodValues,
  sampledRate,
  turnValues as turns,
  valuesOf,
  type Phase,
  type RowValues,
  type TurnItemRow,
} from './items';
import type { RunResult } from './metrics';

const meanOf = (m: number[][]) => (100 * m.flat().reduce((a, v) => a + v, 0)) / m.flat().length;

export interface Moved {
  key: string;
  /** Items in the group. */
  items: number;
  /** pi0's rate (the runs' before evaluations) and the method's after, in percent. */
  pi0: number;
  after: number;
  change: BootInterval;
}

/** A method's after against its runs' own before on the same items: rates and the change with its interval. */
export function moved(runs: RunResult[], rows: (phase: Phase) => RowValues, key: string, seed: string): Moved | null {
  const m = alignedMatrices([runs.map(rows('after')), runs.map(rows('before'))]);
  if (!m) return null;
  const [after, before] = m.matrices;
  return { key, items: m.ids.length, pi0: meanOf(before), after: meanOf(after), change: points(bootstrapChange(after, before, { seed })) };
}

export interface MethodRow<T> {
  method: string;
  label: string;
  rows: T;
}

function byMethod(runs: RunResult[]): RunResult[][] {
  const by = new Map<string, RunResult[]>();
  for (const r of runs) by.set(r.method, [...(by.get(r.method) ?? []), r]);
  return [...by.values()];
}

const row = <T>(rs: RunResult[], rows: T): MethodRow<T> => ({ method: rs[0].method, label: rs[0].label, rows });

/** Held-out per-turn accuracy, sampled (mean of K) and greedy, with the change against pi0. */
function perTurn(rs: RunResult[]) {
  const m = alignedMatrices([rs.map(turns('after', sampledRate)), rs.map(turns('after', greedyRate))]);
  if (!m) return null;
  const k = rs[0].items?.after?.turns?.[0].sampled.length ?? 0;
  return {
    states: m.ids.length,
    k,
    sampled: points(bootstrapMean(m.matrices[0], { seed: `${rs[0].method}-sampled` })),
    greedy: points(bootstrapMean(m.matrices[1], { seed: `${rs[0].method}-greedy` })),
    sampledChange: moved(rs, (p) => turns(p, sampledRate), 'all', `${rs[0].method}-sampled-change`)?.change ?? null,
    greedyChange: moved(rs, (p) => turns(p, greedyRate), 'all', `${rs[0].method}-greedy-change`)?.change ?? null,
  };
}

/** Per group of held-out states (template, turn position): sampled accuracy of pi0 and after, and the change. */
function breakdown(rs: RunResult[], keyOf: (r: TurnItemRow) => string): Moved[] {
  const keys = [...new Set((rs[0].items?.before?.turns ?? []).map(keyOf))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return keys
    .map((key) => moved(rs, (p) => turns(p, sampledRate, (r) => keyOf(r) === key), key, `${rs[0].method}-${key}`))
    .filter((x): x is Moved => x !== null);
}

export type Pi0Class = 'pivot' | 'all-0' | 'all-1';
/** A held-out state's class under pi0's K samples: mixed rewards (a pivot), all 0, or all 1. */
export const pi0ClassOf = (r: TurnItemRow): Pi0Class =>
  r.sampled.every((v) => v === 0) ? 'all-0' : r.sampled.every((v) => v === 1) ? 'all-1' : 'pivot';

/** Accuracy per pi0 class, each run's states classed by its own before evaluation; pooled over the method's runs. */
function pi0Classes(rs: RunResult[]): Record<Pi0Class, { states: number; pi0: number; after: number }> | null {
  if (rs.some((r) => !r.items?.before?.turns?.length || !r.items.after?.turns?.length)) return null;
  const out = {
    pivot: { states: 0, pi0: 0, after: 0 },
    'all-0': { states: 0, pi0: 0, after: 0 },
    'all-1': { states: 0, pi0: 0, after: 0 },
  };
  for (const r of rs) {
    const after = new Map(r.items!.after!.turns!.map((t) => [t.id, sampledRate(t)]));
    for (const t of r.items!.before!.turns!) {
      if (!after.has(t.id)) continue;
      const c = out[pi0ClassOf(t)];
      c.states++;
      c.pi0 += sampledRate(t);
      c.after += after.get(t.id)!;
    }
  }
  for (const c of Object.values(out)) {
    [c.pi0, c.after] = c.states ? [(100 * c.pi0) / c.states, (100 * c.after) / c.states] : [NaN, NaN];
    c.states /= rs.length;
  }
  return out;
}

/** OOD accuracy and drift from pi0 (NLL per token of the reference answers). */
function ood(rs: RunResult[]) {
  const acc = oodValues;
  const nll =
    (p: Phase): RowValues =>
    (r) =>
      valuesOf(r.items?.[p]?.drift, (x) => x.nll / x.tokens);
  const after = alignedMatrices([rs.map(acc('after'))]);
  const meanNll = (p: Phase) => rs.map((r) => r.items?.[p]?.meanNll);
  const [nb, na] = [meanNll('before'), meanNll('after')];
  const mean = (xs: (number | undefined)[]) => xs.reduce((a: number, v) => a + v!, 0) / xs.length;
  return {
    items: after?.ids.length ?? 0,
    accuracy: after ? points(bootstrapMean(after.matrices[0], { seed: `${rs[0].method}-ood` })) : null,
    change: moved(rs, acc, 'all', `${rs[0].method}-ood-change`)?.change ?? null,
    meanNll: nb.every((v) => v !== undefined) && na.every((v) => v !== undefined) ? { before: mean(nb), after: mean(na) } : null,
    /** Change of the per-item NLL per token (mean over items), with its interval. */
    nllChange: moved(rs, nll, 'all', `${rs[0].method}-nll`)?.change ?? null,
  };
}

/** A run's training and validation losses by step: SFT's full record when kept, else what its history holds. */
function lossesOf(r: RunResult): { step: number; loss?: number; valLoss?: number }[] {
  const sft = r.result.sft;
  if (!sft) return r.result.history;
  return [...sft.losses, ...sft.valCurve];
}

/** Training loss per step (mean over seeds), and SFT's validation loss, where the runs recorded them. */
function losses(rs: RunResult[]): { step: number; loss: number | null; valLoss: number | null }[] {
  const steps = new Map<number, { loss: number[]; valLoss: number[] }>();
  for (const r of rs) {
    for (const h of lossesOf(r)) {
      const s = steps.get(h.step) ?? { loss: [], valLoss: [] };
      if (h.loss !== undefined) s.loss.push(h.loss);
      if (h.valLoss !== undefined) s.valLoss.push(h.valLoss);
      steps.set(h.step, s);
    }
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, v) => a + v, 0) / xs.length : null);
  return [...steps]
    .sort(([a], [b]) => a - b)
    .map(([step, s]) => ({ step, loss: mean(s.loss), valLoss: mean(s.valLoss) }))
    .filter((s) => s.loss !== null || s.valLoss !== null);
}

/** What the runs shared: pi0 (by hash), its evaluation (identical before rows), its profile (one profiles key). */
function shared(runs: RunResult[]) {
  const hashes = [...new Set(runs.map((r) => r.baseHash).filter((h): h is string => !!h))];
  const before = runs.map((r) => JSON.stringify(r.items?.before?.turns ?? null));
  const profiles = [
    ...new Set(runs.filter((r) => r.result.pivots && r.result.rolloutTurns.profiling > 0).map((r) => r.result.pivots!.profiles)),
  ];
  return {
    pi0Hashes: hashes,
    /** Every run's pi0 evaluation gave the same per-item rows (null: no per-item rows). */
    pi0EvaluationIdentical: before[0] === 'null' ? null : before.every((b) => b === before[0]),
    /** Runs that profiled, and how many distinct profiles they used (1: pi0 profiled once and shared). */
    profiledRuns: runs.filter((r) => r.result.pivots && r.result.rolloutTurns.profiling > 0).length,
    distinctProfiles: profiles.length,
  };
}

export function buildTables(runs: RunResult[]) {
  const methods = byMethod(runs);
  return {
    perTurn: methods.map((rs) => row(rs, perTurn(rs))),
    byTemplate: methods.map((rs) =>
      row(
        rs,
        breakdown(rs, (r) => r.template),
      ),
    ),
    byPosition: methods.map((rs) =>
      row(
        rs,
        breakdown(rs, (r) => String(r.position)),
      ),
    ),
    pi0Classes: methods.map((rs) => row(rs, pi0Classes(rs))),
    ood: methods.map((rs) => row(rs, ood(rs))),
    losses: methods.map((rs) => row(rs, losses(rs))),
    shared: shared(runs),
  };
}
export type Tables = ReturnType<typeof buildTables>;
