// The activities of each task queue. CPU: ingest, verify, pivot selection, batches, episode execution and
// scoring. GPU: generation, updates and the OOD drift measure. Workers wire real dependencies in; tests may pass their own.
import { ingestStage } from './ingest';
import { drawBatchStage, selectPivotsStage } from './profile';
import { createVerifyActivities } from './verify';
import type { VerifierFactory } from '../pipeline/verify';
import { createEvaluateActivities } from './evaluate';
import { createGenerateActivities } from './generate';
import type { EngineFor } from '../pipeline/generate';
import { createUpdateActivities } from './update';
import { createOodDriftActivities } from './ood-drift';
import { createBaselineCpuActivities, createBaselineGpuActivities } from './baselines';
import { completedResult } from './experiment';
import type { EpisodeRunner } from '../tasks/episode-runner';

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
    completedResult,
  };
}

export function createGpuActivities(engineFor: EngineFor) {
  return {
    ...createGenerateActivities(engineFor),
    ...createUpdateActivities(engineFor),
    ...createOodDriftActivities(engineFor),
    ...createBaselineGpuActivities(engineFor),
  };
}

export type CpuActivities = ReturnType<typeof createCpuActivities>;
export type GpuActivities = ReturnType<typeof createGpuActivities>;
