// What every method's workflow shares besides evaluation: the ops controls (progress query, pause, stop,
// hyper-parameter updates with validators), the search attributes and current details, the wait while paused,
// and the step records.
import { condition, defineQuery, defineUpdate, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { CampaignConfig } from '../core/config';
import type { CampaignProgress, CampaignState, Hyper, Stage, StepRecord } from './campaign';
import { renderDetails } from './details';
import { PivotCampaign, PivotInDomainAcc, PivotIteration, PivotOodAcc, PivotRate, PivotRewardPct, PivotStage } from './search-attributes';

/** Step records kept in the progress record (every step's record is also in the store, beside its checkpoint). */
export const RECENT_STEPS = 20;

export const progressQuery = defineQuery<CampaignProgress>('progress');
export const pauseUpdate = defineUpdate<boolean, [boolean]>('setPaused');
export const stopUpdate = defineUpdate<void, []>('stop');
export const hyperUpdate = defineUpdate<Hyper, [Partial<Hyper>]>('setHyperparameters');

export function validateHyper(change: Partial<Hyper>): void {
  const bad = (field: string, why: string) => {
    throw new Error(`setHyperparameters: ${field} ${why}`);
  };
  for (const key of Object.keys(change))
    if (!['lr', 'clipEps', 'klBeta', 'temperature'].includes(key)) bad(key, 'is not a hyper-parameter that may change mid-run');
  if (change.lr !== undefined && !(change.lr > 0 && change.lr <= 1)) bad('lr', 'must be in (0, 1]');
  if (change.clipEps !== undefined && !(change.clipEps > 0 && change.clipEps <= 1)) bad('clipEps', 'must be in (0, 1]');
  if (change.klBeta !== undefined && !(change.klBeta >= 0)) bad('klBeta', 'must be >= 0');
  if (change.temperature !== undefined && !(change.temperature > 0 && change.temperature <= 5)) bad('temperature', 'must be in (0, 5]');
}

export function validatePaused(paused: boolean): void {
  if (typeof paused !== 'boolean') throw new Error('setPaused: expects true (pause) or false (resume)');
}

export function campaignSearchAttributes(campaignId: string, progress: CampaignProgress): SearchAttributePair[] {
  const last = progress.history[progress.history.length - 1];
  const evaluation = progress.after ?? progress.before;
  return [
    { key: PivotCampaign, value: campaignId },
    { key: PivotStage, value: progress.stage },
    { key: PivotIteration, value: progress.step },
    ...(progress.pivots ? [{ key: PivotRate, value: progress.pivots.summary.pivotRate }] : []),
    ...(last ? [{ key: PivotRewardPct, value: Math.round(100 * last.batchReward) }] : []),
    ...(evaluation
      ? [
          { key: PivotInDomainAcc, value: evaluation.inDomain.successRate },
          { key: PivotOodAcc, value: evaluation.ood.accuracy },
        ]
      : []),
  ] as SearchAttributePair[];
}

/** Installs the ops handlers; returns how the workflow reports its stage and waits while paused. */
export function campaignControls(campaignId: string, config: CampaignConfig, state: CampaignState) {
  const progress = state.progress;
  setHandler(progressQuery, () => progress);
  setHandler(pauseUpdate, (paused) => (progress.paused = paused), { validator: validatePaused });
  setHandler(stopUpdate, () => void (state.stopRequested = true));
  setHandler(
    hyperUpdate,
    (change) => {
      progress.hyper = { ...progress.hyper, ...change };
      return progress.hyper;
    },
    { validator: validateHyper },
  );
  const report = () => {
    upsertSearchAttributes(campaignSearchAttributes(campaignId, progress));
    setCurrentDetails(renderDetails(progress, config));
  };
  return {
    report,
    enter: (stage: Stage) => {
      progress.stage = stage;
      report();
    },
    /** Holds before `step` while paused; false when a stop was asked for. */
    readyFor: async (step: number): Promise<boolean> => {
      if (progress.paused) {
        progress.now = `paused before step ${step}`;
        setCurrentDetails(renderDetails(progress, config));
        await condition(() => !progress.paused || state.stopRequested);
      }
      return !state.stopRequested;
    },
  };
}

export function pushStep(progress: CampaignProgress, record: StepRecord): void {
  progress.history = [...progress.history, record].slice(-RECENT_STEPS);
}
