// The ingest activity: pipeline/campaign-ingest.ts with heartbeats; bad input fails it for good.
import { openStore } from '../store';
import { ingestCampaign, type CampaignIngestOptions, type IngestSummary } from '../pipeline/campaign-ingest';
import type { StageInput } from './types';
import { nonRetryableOnBadInput, withHeartbeats } from './heartbeat';

export interface IngestInput extends StageInput, Omit<CampaignIngestOptions, 'campaignId'> {}

export async function ingestStage(input: IngestInput): Promise<IngestSummary> {
  const store = openStore(input.store);
  return nonRetryableOnBadInput(() => withHeartbeats((progress) => ingestCampaign(store, input, (turns) => progress({ turns }))));
}
