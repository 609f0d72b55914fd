// What every method's workflow shares besides evaluation: the ops controls (progress query, pause, stop,
// hyper-parameter updates with validators), the search attributes and current details, the wait while paused,
// the step records, and continue-as-new.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import { TemporalConfig, type CampaignConfig } from '../core/config';
import { LiveHyper } from '../core/hyper';
import type {
  CampaignInput,
  CampaignPhase,
  CampaignProgress,
  CampaignResult,
  CampaignState,
  Hyper,
  StepRecord,
} from '../pipeline/campaign-state';
import { renderDetails } from './details';
import { PivotCampaign, PivotInDomainAcc, PivotIteration, PivotOodAcc, PivotRate, PivotRewardPct, PivotStage } from './search-attributes';

/** Step records kept in the progress record (every step's record is also in the store, beside its checkpoint). */
export const RECENT_STEPS = 20;

/** Update steps per workflow run when the config does not say (campaigns started before `temporal.stepsPerRun`). */
export const DEFAULT_STEPS_PER_RUN = TemporalConfig.shape.stepsPerRun.parse(undefined);

export const progressQuery = defineQuery<CampaignProgress>('progress');
export const pauseUpdate = defineUpdate<boolean, [boolean]>('setPaused');
export const stopUpdate = defineUpdate<void, []>('stop');
export const hyperUpdate = defineUpdate<Hyper, [Partial<Hyper>]>('setHyperparameters');

/** Refuses a change that names another field, or a value that is not a number within the config's bounds. */
export function validateHyper(change: Partial<Hyper>): void {
  for (const [field, value] of Object.entries(change)) {
    if (!Object.hasOwn(LiveHyper.shape, field))
      throw new Error(`setHyperparameters: ${field} is not a hyper-parameter that may change mid-run`);
    const parsed = LiveHyper.shape[field as keyof Hyper].safeParse(value);
    if (!parsed.success) throw new Error(`setHyperparameters: ${field}: ${parsed.error.issues[0].message} (got ${JSON.stringify(value)})`);
  }
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

/**
 * Installs the ops handlers; returns how the workflow reports its stage (search attributes, details and `onReport`,
 * e.g. its metrics) and waits while paused.
 */
export function campaignControls(campaignId: string, config: CampaignConfig, state: CampaignState, onReport?: () => void) {
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
    onReport?.();
  };
  return {
    report,
    enter: (stage: CampaignPhase) => {
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

/**
 * Continue-as-new for a method's workflow: once this run has done `temporal.stepsPerRun` steps, or Temporal suggests
 * it (history too long), and no stop was asked for, the workflow continues as new carrying `state` (its progress
 * record, with the recent step records, keys and counts) and its shared pi0 work, so each run's event history stays bounded. `allowed` is
 * checked first on every call (PivotRL's `patched` guard for campaigns started before it continued as new).
 */
export function continuation(input: CampaignInput, state: CampaignState, allowed: () => boolean = () => true) {
  const { campaignId, config, shared } = input;
  const progress = state.progress;
  const stepsPerRun = config.temporal.stepsPerRun ?? DEFAULT_STEPS_PER_RUN;
  const stepsAtStart = progress.step;
  return async (): Promise<void> => {
    if (!allowed()) return;
    const due = progress.step - stepsAtStart >= stepsPerRun || workflowInfo().continueAsNewSuggested;
    if (!due || state.stopRequested) return;
    await condition(allHandlersFinished); // finish in-flight updates in this run
    progress.run = (progress.run ?? 1) + 1;
    progress.now = `continued as new (run ${progress.run})`;
    await continueAsNew<(input: CampaignInput) => Promise<CampaignResult>>({ campaignId, config, resume: state, shared });
  };
}
