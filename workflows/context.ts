// What every method's workflow run starts with: its state (fresh or carried over from the previous run), the
// ops controls, the activities (each call's summary shown as the current details), evaluation and continue-as-new;
// and how it ends an update step. Issues no command of its own beyond the ones each workflow always issued.
import { setCurrentDetails } from '@temporalio/workflow';
import type { CampaignConfig } from '../core/config';
import type { UpdateResult } from '../activities/update';
import { campaignKeys } from '../pipeline/keys';
import { recordCall } from '../pipeline/stage-times';
import type { CampaignInput, CampaignProgress, CampaignState, CurvePoint, SharedPi0, StepRecord } from '../pipeline/campaign-state';
import { campaignControls, continuation, pushStep } from './controls';
import { renderDetails } from './details';
import { curveDue, evaluator, samplingOf, type Evaluate } from './evaluate';
import { campaignMetrics } from './metrics';
import { stageActivities } from './stages';
import { assertValidConfig } from './valid-config';

type CampaignData = NonNullable<CampaignState['data']>;

export function startState(campaignId: string, config: CampaignConfig): CampaignState {
  const progress: CampaignProgress = {
    campaignId,
    stage: 'ingest',
    step: 0,
    steps: config.train.steps,
    paused: false,
    candidates: 0,
    badRecords: 0,
    pivots: null,
    rolloutTurns: { profiling: 0, training: 0, evaluation: 0 },
    history: [],
    before: null,
    after: null,
    hyper: { lr: config.train.lr, clipEps: config.train.clipEps, klBeta: config.train.klBeta, temperature: config.policy.temperature },
    finalCheckpoint: null,
    finalHash: null,
    backend: null,
    run: 1,
    method: config.method ?? 'pivotrl',
    selection: config.profile.selection,
  };
  return { progress, data: null, profiled: 0, checkpoint: null, stopRequested: false };
}

/**
 * Sets up a method's workflow run, once its config passed the schema; on a resumed run (continued as new) reports
 * the search attributes and details again, as the new history has none. `allowContinueAsNew`: see `continuation`.
 */
export function methodRun(input: CampaignInput, allowContinueAsNew?: () => boolean) {
  const { campaignId, config, resume, shared } = input;
  assertValidConfig(config, `campaign ${campaignId}`);
  const keys = campaignKeys(campaignId);
  const state = resume ?? startState(campaignId, config);
  const progress = state.progress;
  // Wall time by activity of the current update step's own calls (not curve evaluations): its step record carries it.
  let stepMs: Record<string, number> = {};
  let evaluatingCurve = false;
  const metrics = campaignMetrics(campaignId, progress.method ?? 'pivotrl');
  const act = stageActivities(config.temporal, {
    onCall: (summary) => {
      progress.now = summary;
      setCurrentDetails(renderDetails(progress, config));
    },
    onDone: (activity, ms, result) => {
      const phase = evaluatingCurve ? 'evaluate-curve' : progress.stage;
      recordCall(progress, phase, activity, ms, result);
      metrics.call(phase, activity, ms, result);
      if (progress.stage === 'update' && !evaluatingCurve) stepMs[activity] = (stepMs[activity] ?? 0) + ms;
    },
  });
  const stage = { store: config.store, campaignId };
  /** The stage input of activities that read the ingested shards: the shared pi0 work's campaign holds them, if any. */
  const dataStage = { store: config.store, campaignId: shared?.owner ?? campaignId };
  const { report, enter, readyFor } = campaignControls(campaignId, config, state, () => metrics.report(progress));
  const evaluate = evaluator(act, config, campaignId, progress.rolloutTurns);
  const continueAsNewIfDue = continuation(input, state, allowContinueAsNew);
  if (resume) report();

  /**
   * After update step `step`: its checkpoint becomes the next step's start, its record (when given) joins the recent
   * steps, then report, evaluate for the learning curve and continue as new when due. Returns the checkpoint.
   */
  const endStep = async (
    step: number,
    update: Pick<UpdateResult, 'checkpoint' | 'hash' | 'metrics'>,
    data: CampaignData,
    scores?: Pick<StepRecord, 'batchReward' | 'zeroVarianceGroups' | 'masked' | 'valLoss'>,
  ): Promise<string> => {
    state.checkpoint = update.checkpoint;
    progress.step = step;
    if (scores)
      pushStep(progress, {
        step,
        ...scores,
        update: update.metrics,
        checkpoint: update.checkpoint,
        hash: update.hash,
        loss: update.metrics.loss,
        ms: stepMs,
      });
    stepMs = {};
    progress.finalHash = update.hash;
    report();
    if (curveDue(config, step)) {
      evaluatingCurve = true;
      await evaluateForCurve(progress, evaluate, update.checkpoint, data, config.evaluate.curveEpisodes ?? true);
      evaluatingCurve = false;
    }
    if (step < config.train.steps) await continueAsNewIfDue();
    return update.checkpoint;
  };

  return {
    keys,
    state,
    progress,
    act,
    stage,
    dataStage,
    shared,
    sampling: samplingOf(config),
    report,
    enter,
    readyFor,
    evaluate,
    continueAsNewIfDue,
    endStep,
  };
}

/** Takes the experiment's shared pi0 work as this campaign's ingest and pi0 evaluation; issues no command. */
export function adoptShared(state: CampaignState, shared: SharedPi0): CampaignData {
  const progress = state.progress;
  progress.candidates = shared.candidates;
  progress.badRecords = shared.badRecords;
  progress.verification = shared.verification;
  progress.before = shared.before;
  progress.rolloutTurns.evaluation += shared.evaluationTurns;
  state.checkpoint = shared.data.baseCheckpoint;
  return (state.data = shared.data);
}

/** An evaluation between steps, as a point of the learning curve. */
async function evaluateForCurve(progress: CampaignProgress, evaluate: Evaluate, checkpoint: string, data: CampaignData, episodes: boolean) {
  const e = await evaluate(`step-${progress.step}`, checkpoint, data.heldout, data.ood, { episodes });
  const { profiling, training } = progress.rolloutTurns;
  const point: CurvePoint = {
    step: progress.step,
    rolloutTurns: { profiling, training },
    ...(e.inDomain && { inDomain: e.inDomain.successRate }),
    ood: e.ood.accuracy,
    ...(e.perTurn && { perTurn: e.perTurn }),
  };
  progress.curve = [...(progress.curve ?? []), point];
}
