import { openStore } from '../store';
import { cachedStage, summaryOf } from '../pipeline/cached';
import { drawBatch, selectPivots, type PivotSelection, type ProfiledShard } from '../pipeline/profile';
import type { StageInput } from './types';

export interface SelectPivotsInput extends StageInput {
  shards: ProfiledShard[];
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
  return cachedStage(store, summaryOf(input.out.pivots), () => selectPivots(store, input.shards, input.lambdaDiff, input.out));
}

export async function drawBatchStage(input: DrawBatchInput) {
  const store = openStore(input.store);
  return cachedStage(store, summaryOf(input.out.turns), () => drawBatch(store, input.pivots, input.count, input.seed, input.out));
}
