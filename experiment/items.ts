// The per-item rows of a run's evaluations as results.json embeds them, and the seed x item matrices read from them.
import { z } from 'zod';
import { TurnEvalItem } from '../pipeline/turn-eval';
import { OodItemScore } from '../pipeline/episodes';
import { OodDriftRow } from '../pipeline/ood-drift';
import type { Evaluation } from '../pipeline/campaign-state';
import type { SeedItemMatrix } from './bootstrap';

/** A held-out state's greedy and K sampled rewards. */
export const TurnItemRow = TurnEvalItem;
export type TurnItemRow = TurnEvalItem;

/** The greedy answer to an out-of-domain item, right or wrong. */
export const OodItemRow = OodItemScore;

/** Negative log-likelihood (summed over its tokens) of an OOD item's reference answer. */
export const DriftItemRow = OodDriftRow;

export const EvalItems = z.object({
  turns: z.array(TurnItemRow).optional(),
  ood: z.array(OodItemRow).optional(),
  drift: z.array(DriftItemRow).optional(),
  /** Mean NLL per token of the reference answers (Evaluation.oodDrift.meanNll). */
  meanNll: z.number().optional(),
});
export type EvalItems = z.infer<typeof EvalItems>;

export const RunItems = z.object({
  before: EvalItems.optional(),
  after: EvalItems.optional(),
  /** The evaluations between steps, by step (the points of the learning curve). */
  curve: z.array(EvalItems.extend({ step: z.number().int().nonnegative() })).optional(),
});
export type RunItems = z.infer<typeof RunItems>;

/**
 * Where an evaluation (or a curve point) stored its per-item rows: its optional perTurn, oodItems and oodDrift
 * (evaluations recorded before these fields existed have none of them).
 */
export type ItemKeys = Partial<Pick<Evaluation, 'perTurn' | 'oodItems' | 'oodDrift'>>;

export const sampledRate = (r: TurnItemRow) => r.sampled.reduce((a: number, v) => a + v, 0) / r.sampled.length;
export const greedyRate = (r: TurnItemRow) => r.greedy;

/** id -> value of some rows; null when there are none. */
export const valuesOf = <R extends { id: string }>(rows: R[] | undefined, value: (r: R) => number): Map<string, number> | null =>
  rows?.length ? new Map(rows.map((r) => [r.id, value(r)])) : null;

/**
 * Groups of runs (one group per method or phase) as seed x item matrices over the items every run has, in id order;
 * null when some run has no rows.
 */
export function alignedMatrices(groups: (Map<string, number> | null)[][]): { ids: string[]; matrices: SeedItemMatrix[] } | null {
  const maps = groups.flat();
  if (maps.length === 0 || maps.some((m) => m === null)) return null;
  const ids = [...maps[0]!.keys()].filter((id) => maps.every((m) => m!.has(id))).sort();
  if (ids.length === 0) return null;
  return { ids, matrices: groups.map((g) => g.map((m) => ids.map((id) => m!.get(id)!))) };
}

export type Phase = 'before' | 'after';
/** A run's (anything with per-item rows) id -> value map of some rows; null when it has none. */
export type RowValues = (r: { items?: RunItems }) => Map<string, number> | null;

/** A run's held-out states (those `keep` accepts) in one evaluation, as id -> value. */
export const turnValues =
  (phase: Phase, value: (r: TurnItemRow) => number = sampledRate, keep: (r: TurnItemRow) => boolean = () => true): RowValues =>
  (r) =>
    valuesOf(r.items?.[phase]?.turns?.filter(keep), value);

/** A run's OOD items in one evaluation: id -> 1 when answered right. */
export const oodValues =
  (phase: Phase): RowValues =>
  (r) =>
    valuesOf(r.items?.[phase]?.ood, (x) => x.correct);
