// Drift from pi0 that shows before accuracy falls: the mean per-token NLL of the OOD items' reference answers under a
// checkpoint, teacher-forced. Forgetting raises it while greedy answers may still be right. Knows nothing of Temporal.
import { z } from 'zod';
import { OodItem } from '../core/schemas';
import type { PolicyEngine } from '../policy/engine';
import { getJsonl, putJsonl, type ArtefactStore } from '../store';
import { renderOodAnswer, renderOodPrompt } from '../tasks/ood';
import { cachedStage, summaryOf } from './cached';

/** One item's reference answer (with its stop) under the checkpoint: summed -log pi over its `tokens` tokens. */
export const OodDriftRow = z.object({ id: z.string(), kind: z.string(), tokens: z.number().int().positive(), nll: z.number() });
export type OodDriftRow = z.infer<typeof OodDriftRow>;

export interface OodDrift {
  /** Per token, over every item's reference answer. */
  meanNll: number;
  /** Store key of the OodDriftRow records. */
  items: string;
}

export interface OodDriftOptions {
  checkpoint: string;
  /** OodItem records. */
  items: string;
  /** Where the OodDriftRow records go. */
  out: string;
}

/** Scores every item's reference answer under `checkpoint` into `input.out`; a finished stage returns its summary. */
export function measureOodDrift(
  store: ArtefactStore,
  engine: Pick<PolicyEngine, 'sequenceNll'>,
  input: OodDriftOptions,
): Promise<OodDrift> {
  return cachedStage(store, summaryOf(input.out), async () => {
    const items = await getJsonl(store, input.items, (v) => OodItem.parse(v));
    const sequences = items.map((item) => ({ prompt: renderOodPrompt(item), completion: renderOodAnswer(item) }));
    const scored = await engine.sequenceNll(input.checkpoint, sequences);
    const rows: OodDriftRow[] = items.map((item, i) => ({ id: item.id, kind: item.kind, ...scored[i] }));
    await putJsonl(store, input.out, rows);
    const tokens = rows.reduce((a, r) => a + r.tokens, 0);
    return { meanNll: tokens ? rows.reduce((a, r) => a + r.nll, 0) / tokens : 0, items: input.out };
  });
}
