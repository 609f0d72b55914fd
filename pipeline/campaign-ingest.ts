// A campaign's ingest stage: the base checkpoint pi0 imported as step 0, then the expert data into shards (ingest.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { importCheckpointDir } from '../policy/checkpoint';
import type { ArtefactStore } from '../store';
import { cachedStage } from './cached';
import { BadInputError, ingest, type IngestOptions, type IngestResult } from './ingest';
import { campaignKeys } from './keys';

export interface CampaignIngestOptions extends IngestOptions {
  /** Folder of the base checkpoint pi0, imported into the store as step 0. */
  baseCheckpoint: string;
}

/**
 * What the workflow gets back: counts and keys only. Shard keys follow from the shard index (pipeline/keys.ts),
 * so the result stays small however many shards a large input makes.
 */
export type IngestSummary = Omit<IngestResult, 'shards'> & { shards: number; baseCheckpoint: string };

/** Ingests once: a finished stage returns its stored report. Bad input throws BadInputError. */
export function ingestCampaign(
  store: ArtefactStore,
  input: CampaignIngestOptions,
  onProgress?: (turns: number) => void,
): Promise<IngestSummary> {
  const keys = campaignKeys(input.campaignId);
  return cachedStage(store, keys.ingestReport, async () => {
    const base = keys.checkpoint(0);
    if (!existsSync(join(input.baseCheckpoint, 'model.json'))) {
      throw new BadInputError(`${input.baseCheckpoint}: no base checkpoint there (model.json missing)`);
    }
    await importCheckpointDir(input.baseCheckpoint, store, base);
    const result = await ingest(store, { ...input, campaignId: input.campaignId }, onProgress);
    return { ...result, shards: result.shards.length, baseCheckpoint: base };
  });
}
