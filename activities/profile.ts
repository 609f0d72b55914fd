import { openStore } from '../store';
import { cachedStage, summaryOf } from '../pipeline/cached';
import { drawBatch, selectPivots, type PivotSelection } from '../pipeline/profile';
import { campaignKeys } from '../pipeline/keys';
import type { StageInput } from './types';

export interface SelectPivotsInput extends StageInput {
  /** Profiled shards 0..shards-1 of the campaign (their keys follow from the index). */
  shards: number;
  /** The campaign whose ingested shards were profiled, when not this one (an experiment's shared pi0 work). */
  shardsOf?: string;
  lambdaDiff: number;
  out: { profiles: string; pivots: string };
}

export interface DrawBatchInput extends StageInput {
  pivots: string;
  count: number;
  seed: number;
  out: { turns: string; prompts: string };
}

export async function selectPivotsStage(input: SelectPivotsInput): Promise<PivotSelection> {
  const store = openStore(input.store);
  const keys = campaignKeys(input.campaignId);
  const data = campaignKeys(input.shardsOf ?? input.campaignId);
  const shards = Array.from({ length: input.shards }, (_, i) => ({ turns: data.shardTurns(i), verdicts: keys.profileVerdicts(i) }));
  return cachedStage(store, summaryOf(input.out.pivots), () => selectPivots(store, shards, input.lambdaDiff, input.out));
}

export async function drawBatchStage(input: DrawBatchInput) {
  const store = openStore(input.store);
  return cachedStage(store, summaryOf(input.out.turns), () => drawBatch(store, input.pivots, input.count, input.seed, input.out));
}
