// The SFT baseline on the same data and base model: ingest, evaluate pi0, then per step one cross-entropy step on
// the expert actions of B*G candidate turns drawn uniformly (as many sequences as a GRPO step), evaluate the result.
// No rollouts. Continues as new like the PivotRL campaign (`temporal.stepsPerRun`), carrying its CampaignState (no
// `patched` guard: every SFT run started on code that continues as new).
import { setCurrentDetails } from '@temporalio/workflow';
import { seedOf } from '../core/rng';
import { campaignKeys } from '../pipeline/keys';
import { ingestAndEvaluateBase, evaluateForCurve, finish, startState, type CampaignInput, type CampaignResult } from './campaign';
import { campaignControls, continuation } from './controls';
import { renderDetails } from './details';
import { curveDue, evaluator } from './evaluate';
import { stageActivities } from './stages';

export async function sftCampaign({ campaignId, config, resume }: CampaignInput): Promise<CampaignResult> {
  const keys = campaignKeys(campaignId);
  const state = resume ?? startState(campaignId, config);
  const progress = state.progress;
  const act = stageActivities(config.temporal, (summary) => {
    progress.now = summary;
    setCurrentDetails(renderDetails(progress, config));
  });
  const stage = { store: config.store, campaignId };
  const { report, enter, readyFor } = campaignControls(campaignId, config, state);
  const evaluate = evaluator(act, config, campaignId, progress.rolloutTurns);
  const continueAsNewIfDue = continuation(campaignId, config, state);

  if (resume) report(); // a new run: a new history, so set the search attributes and details again
  let data = state.data;
  if (!data) {
    data = await ingestAndEvaluateBase(act, config, campaignId, state, enter, evaluate);
    enter('update');
    await act.selectTurns(`training turns: all ${progress.candidates} candidates`, { ...stage, shards: data.shards, out: keys.pivots });
  }
  const count = config.train.batchPivots * config.train.groupSize;
  let checkpoint = state.checkpoint ?? data.baseCheckpoint;
  for (let step = progress.step + 1; step <= config.train.steps; step++) {
    if (!(await readyFor(step))) break;
    const k = keys.step(step);
    await act.drawBatch(`step ${step}: draw ${count} expert turns`, {
      ...stage,
      pivots: keys.pivots,
      count,
      seed: seedOf(config.seed, 'batch', step),
      out: { turns: k.turns, prompts: k.prompts },
    });
    const update = await act.sftUpdate(`step ${step}: SFT update -> checkpoint ${step}`, {
      ...stage,
      step,
      checkpoint,
      turns: k.turns,
      hp: { lr: progress.hyper.lr, gradClip: config.train.maxGradNorm, weightDecay: config.train.weightDecay },
      seed: seedOf(config.seed, 'update', step),
      out: keys.checkpoint(step),
    });
    checkpoint = state.checkpoint = update.checkpoint;
    progress.step = step;
    progress.finalHash = update.hash;
    report();
    if (curveDue(config, step)) await evaluateForCurve(progress, evaluate, checkpoint, data);
    if (step < config.train.steps) await continueAsNewIfDue();
  }
  return finish(progress, state, enter, evaluate, checkpoint, data);
}
