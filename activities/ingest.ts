// The ingest activity: pipeline/campaign-ingest.ts with heartbeats, on data under the worker's data roots only;
// bad input fails it for good.
import { openStore } from '../store';
import { ingestCampaign, type CampaignIngestOptions, type IngestSummary } from '../pipeline/campaign-ingest';
import { assertUnderDataRoots } from '../pipeline/data-roots';
import { sourcePath } from '../formats/source';
import type { StageInput } from './types';
import { nonRetryableOnBadInput, withHeartbeats } from './heartbeat';

export interface IngestInput extends StageInput, Omit<CampaignIngestOptions, 'campaignId'> {}

export async function ingestStage(input: IngestInput): Promise<IngestSummary> {
  return nonRetryableOnBadInput(() => {
    assertUnderDataRoots(dataPathsOf(input));
    const store = openStore(input.store);
    return withHeartbeats((progress) => ingestCampaign(store, input, (turns) => progress({ turns })));
  });
}

/** Every file or folder ingest opens, named by its config field. */
const dataPathsOf = (input: IngestInput): [string, string][] => [
  ...input.trajectories.map((s, i): [string, string] => [`data.trajectories.${i}`, sourcePath(s)]),
  ['data.heldoutTasks', input.heldoutTasks],
  ['data.ood', input.ood],
  ['policy.base', input.baseCheckpoint],
];
