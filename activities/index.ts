// The activities of each task queue. CPU: ingest, verify, pivot selection, batches, episode execution and
// scoring. GPU: generation and updates. Workers wire real dependencies in; tests may pass their own.
import { ingestStage } from './ingest';
import { drawBatchStage, selectPivotsStage } from './profile';
import { createVerifyActivities, type VerifierFactory } from './verify';
import { createEvaluateActivities } from './evaluate';
import { createGenerateActivities, type EngineFor } from './generate';
import { createUpdateActivities } from './update';
import { createBaselineCpuActivities, createBaselineGpuActivities } from './baselines';
import type { EpisodeRunner } from '../pipeline/episodes';

export interface CpuDeps {
  makeVerifier: VerifierFactory;
  episodes: EpisodeRunner;
}

export function createCpuActivities(deps: CpuDeps) {
  return {
    ingest: ingestStage,
    selectPivots: selectPivotsStage,
    drawBatch: drawBatchStage,
    ...createVerifyActivities(deps.makeVerifier),
    ...createEvaluateActivities(deps.episodes),
    ...createBaselineCpuActivities(deps.episodes),
  };
}

export function createGpuActivities(engineFor: EngineFor) {
  return {
    ...createGenerateActivities(engineFor),
    ...createUpdateActivities(engineFor),
    ...createBaselineGpuActivities(engineFor),
  };
}

export type CpuActivities = ReturnType<typeof createCpuActivities>;
export type GpuActivities = ReturnType<typeof createGpuActivities>;
