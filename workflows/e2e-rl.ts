// End-to-end RL on the same data and base model: per step B training tasks, G whole episodes each in sandboxes
// (the evaluation's episode activities), reward = the task's final check, advantages within each task's group,
// and the same GRPO update over every turn of every episode. Continues as new like the PivotRL campaign
// (`temporal.stepsPerRun`), carrying its CampaignState, step records included (no `patched` guard: every E2E RL run
// started on code that continues as new).
import { setCurrentDetails } from '@temporalio/workflow';
import { seedOf } from '../core/rng';
import { campaignKeys } from '../pipeline/keys';
import {
  evaluateForCurve,
  finish,
  grpoHyper,
  ingestAndEvaluateBase,
  startState,
  type CampaignInput,
  type CampaignResult,
} from './campaign';
import { campaignControls, continuation, pushStep } from './controls';
import { renderDetails } from './details';
import { MAX_EPISODE_ROUNDS, curveDue, evaluator, samplingOf } from './evaluate';
import { stageActivities } from './stages';

export async function e2eRlCampaign({ campaignId, config, resume }: CampaignInput): Promise<CampaignResult> {
  const keys = campaignKeys(campaignId);
  const state = resume ?? startState(campaignId, config);
  const progress = state.progress;
  const act = stageActivities(config.temporal, (summary) => {
    progress.now = summary;
    setCurrentDetails(renderDetails(progress, config));
  });
  const stage = { store: config.store, campaignId };
  const sampling = samplingOf(config);
  const { report, enter, readyFor } = campaignControls(campaignId, config, state);
  const evaluate = evaluator(act, config, campaignId, progress.rolloutTurns);
  const continueAsNewIfDue = continuation(campaignId, config, state);

  if (resume) report(); // a new run: a new history, so set the search attributes and details again
  let data = state.data;
  if (!data) {
    data = await ingestAndEvaluateBase(act, config, campaignId, state, enter, evaluate);
    enter('update');
  }
  const B = config.train.batchPivots;
  const G = config.train.groupSize;
  let checkpoint = state.checkpoint ?? data.baseCheckpoint;
  for (let step = progress.step + 1; step <= config.train.steps; step++) {
    if (!(await readyFor(step))) break;
    const k = keys.e2eStep(step);
    let round = await act.startTrainingEpisodes(`step ${step}: start ${G} episodes on each of ${B} training tasks`, {
      ...stage,
      shards: data.shards,
      tasks: B,
      group: G,
      seed: seedOf(config.seed, 'batch', step),
      out: { episodes: k.episodes(0), prompts: k.prompts(0) },
    });
    const rounds: { prompts: string; samples: string }[] = [];
    for (let t = 0; round.active > 0 && t < MAX_EPISODE_ROUNDS; t++) {
      const gen = await act.generate(`step ${step}: action ${t + 1} for ${round.active} open episode(s)`, {
        ...stage,
        checkpoint,
        prompts: round.prompts,
        out: k.samples(t),
        sampling: sampling(1, seedOf(config.seed, 'rollout', step, t), progress.hyper.temperature),
      });
      progress.rolloutTurns.training += gen.samples;
      rounds.push({ prompts: round.prompts, samples: gen.out });
      round = await act.stepEpisodes(`step ${step}: run action ${t + 1} in sandboxes`, {
        ...stage,
        episodes: round.episodes,
        samples: gen.out,
        concurrency: config.verify.concurrency,
        out: { episodes: k.episodes(t + 1), prompts: k.prompts(t + 1) },
      });
    }
    const score = await act.scoreRollouts(`step ${step}: final checks of ${B * G} episodes`, {
      ...stage,
      episodes: round.episodes,
      concurrency: config.verify.concurrency,
      out: k.rewards,
    });
    const update = await act.episodeUpdate(`step ${step}: GRPO update over every turn -> checkpoint ${step}`, {
      ...stage,
      step,
      checkpoint,
      reference: progress.hyper.klBeta > 0 ? data.baseCheckpoint : undefined,
      batch: { rounds, rewards: k.rewards },
      hp: grpoHyper(config, progress.hyper),
      leaveOneOut: config.train.leaveOneOut,
      seed: seedOf(config.seed, 'update', step),
      out: keys.checkpoint(step),
    });
    checkpoint = state.checkpoint = update.checkpoint;
    progress.step = step;
    pushStep(progress, {
      step,
      batchReward: score.meanReward,
      zeroVarianceGroups: score.zeroVarianceGroups,
      masked: 0,
      update: update.metrics,
      checkpoint: update.checkpoint,
      hash: update.hash,
    });
    progress.finalHash = update.hash;
    report();
    if (curveDue(config, step)) await evaluateForCurve(progress, evaluate, checkpoint, data);
    if (step < config.train.steps) await continueAsNewIfDue();
  }
  return finish(progress, state, enter, evaluate, checkpoint, data);
}
