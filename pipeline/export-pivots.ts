// Export a campaign's pivots as NeMo-Gym pivot rows with their profiling statistics, for NeMo-RL to train on.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Turn } from '../core/schemas';
import { BadInputError } from './jsonl-reader';
import { campaignKeys } from './keys';
import { CandidateProfile } from '../pivotrl/pivots';
import { getJsonl, type ArtefactStore } from '../store';
import { rowOfTurn, type RowOptions } from '../formats/nemo-gym-turns';

export interface ExportResult {
  out: string;
  rows: number;
}

/** Writes one row per pivot of the campaign to `out` (atomically: a temp file, then rename). */
export async function exportPivots(store: ArtefactStore, campaignId: string, out: string, opts: RowOptions = {}): Promise<ExportResult> {
  const keys = campaignKeys(campaignId);
  for (const key of [keys.pivots, keys.profiles]) {
    if (!(await store.exists(key))) {
      throw new BadInputError(`campaign ${campaignId}: ${key} is not in ${store.describe}; has its profiling finished?`);
    }
  }
  const pivots = await getJsonl(store, keys.pivots, (v) => Turn.parse(v));
  const wanted = new Set(pivots.map((t) => t.id));
  const profiles = new Map<string, CandidateProfile>();
  for (const p of await getJsonl(store, keys.profiles, (v) => CandidateProfile.parse(v)))
    if (wanted.has(p.turnId)) profiles.set(p.turnId, p);

  const tmp = `${out}.tmp-${process.pid}`;
  const file = createWriteStream(tmp);
  try {
    for (const turn of pivots) {
      const profile = profiles.get(turn.id);
      if (!profile) throw new BadInputError(`campaign ${campaignId}: pivot ${turn.id} has no profile in ${keys.profiles}`);
      if (!file.write(JSON.stringify(rowOfTurn(turn, profile, opts)) + '\n')) await once(file, 'drain');
    }
    file.end();
    await once(file, 'finish');
    await rename(tmp, out);
  } catch (err) {
    file.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
  return { out, rows: pivots.length };
}
