import { openStore } from '../store';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError, ingest, type IngestOptions, type IngestResult } from '../pipeline/ingest';
import { cachedStage } from '../pipeline/cached';
import { campaignKeys } from '../pipeline/keys';
import { importCheckpointDir } from '../policy/checkpoint';
import type { StageInput } from './types';
import { nonRetryableOnBadInput, withHeartbeats } from './heartbeat';

export interface IngestInput extends StageInput, Omit<IngestOptions, 'campaignId'> {
  /** Folder of the base checkpoint pi0, imported into the store as step 0. */
  baseCheckpoint: string;
}

/**
 * What the workflow gets back: counts and keys only. Shard keys follow from the shard index (pipeline/keys.ts),
 * so the result stays small however many shards a large input makes.
 */
export type IngestSummary = Omit<IngestResult, 'shards'> & { shards: number; baseCheckpoint: string };

export async function ingestStage(input: IngestInput): Promise<IngestSummary> {
  const store = openStore(input.store);
  const keys = campaignKeys(input.campaignId);
  return nonRetryableOnBadInput(() =>
    withHeartbeats((progress) =>
      cachedStage(store, keys.ingestReport, async () => {
        const base = keys.checkpoint(0);
        if (!existsSync(join(input.baseCheckpoint, 'model.json'))) {
          throw new BadInputError(`${input.baseCheckpoint}: no base checkpoint there (model.json missing)`);
        }
        await importCheckpointDir(input.baseCheckpoint, store, base);
        const result = await ingest(store, { ...input, campaignId: input.campaignId }, (turns) => progress({ turns }));
        return { ...result, shards: result.shards.length, baseCheckpoint: base };
      }),
    ),
  );
}
