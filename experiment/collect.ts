// What results.json keeps of a finished campaign beyond its progress record: pi0's hash and the per-item rows of its
// evaluations, read from the campaign's store with the keys its evaluations name.
import type { z } from 'zod';
import type { CampaignProgress } from '../pipeline/campaign-state';
import { firstIssue } from '../core/zod-errors';
import { checkpointHash } from '../policy/checkpoint';
import { getJsonl, type ArtefactStore } from '../store';
import { DriftItemRow, OodItemRow, TurnItemRow, type EvalItems, type ItemKeys, type RunItems } from './items';

async function rows<S extends z.ZodTypeAny>(store: ArtefactStore, key: string | undefined, schema: S, where: string) {
  if (!key) return undefined;
  return getJsonl(store, key, (v) => {
    const parsed = schema.safeParse(v);
    if (!parsed.success) throw new Error(`${where}: ${key}: bad row: ${firstIssue(parsed.error)}`);
    return parsed.data as z.infer<S>;
  });
}

async function evalItems(store: ArtefactStore, e: ItemKeys | null | undefined, where: string): Promise<EvalItems | undefined> {
  if (!e || (!e.perTurn && !e.oodItems && !e.oodDrift)) return undefined;
  return {
    turns: await rows(store, e.perTurn?.items, TurnItemRow, where),
    ood: await rows(store, e.oodItems, OodItemRow, where),
    drift: await rows(store, e.oodDrift?.items, DriftItemRow, where),
    meanNll: e.oodDrift?.meanNll,
  };
}

/** The per-item rows of a run's before, curve and after evaluations (absent where the evaluation stored none). */
export async function collectRunItems(store: ArtefactStore, r: CampaignProgress, where: string): Promise<RunItems> {
  const curve = await Promise.all(
    (r.curve ?? []).map(async (p) => ({ step: p.step, ...(await evalItems(store, p, `${where} step ${p.step}`)) })),
  );
  return {
    before: await evalItems(store, r.before, `${where} before`),
    after: await evalItems(store, r.after, `${where} after`),
    curve: curve.filter((p) => p.turns || p.ood || p.drift),
  };
}

/** sha256 of the base policy pi0 the run started from (its before-evaluation's checkpoint). */
export async function baseHashOf(store: ArtefactStore, r: CampaignProgress): Promise<string | undefined> {
  return r.before ? checkpointHash(store, r.before.checkpoint) : undefined;
}
