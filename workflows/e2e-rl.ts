// End-to-end RL on the same data and base model: per step B training tasks, G whole episodes each in sandboxes
// (the evaluation's episode activities), reward = the task's final check, advantages within each task's group,
// and the same GRPO update over every turn of every episode. Continues as new like the PivotRL campaign
// (`temporal.stepsPerRun`), carrying its CampaignState, step records included (no `patched` guard: every E2E RL run
// started on code that continues as new).
import { seedOf } from '../core/rng';
import type { CampaignInput, CampaignResult } from '../pipeline/campaign-state';
import { finish, ingestAndEvaluateBase, grpoHyper } from './campaign';
import { methodRun } from './context';
import { playEpisodes } from './evaluate';

export async function e2eRlCampaign(input: CampaignInput): Promise<CampaignResult> {
  const { campaignId, config } = input;
  const { keys, state, progress, act, stage, dataStage, shared, sampling, enter, readyFor, evaluate, endStep } = methodRun(input);
  let data = state.data;
  if (!data) {
    data = await ingestAndEvaluateBase(act, config, campaignId, state, enter, evaluate, shared);
    enter('update');
  }
  const B = config.train.batchPivots;
  const G = config.train.groupSize;
  let checkpoint = state.checkpoint ?? data.baseCheckpoint;
  for (let step = progress.step + 1; step <= config.train.steps; step++) {
    if (!(await readyFor(step))) break;
    const k = keys.e2eStep(step);
    let round = await act.startTrainingEpisodes(`step ${step}: start ${G} episodes on each of ${B} training tasks`, {
      ...dataStage,
      shards: data.shards,
      tasks: B,
      group: G,
      seed: seedOf(config.seed, 'batch', step),
      out: { episodes: k.episodes(0), prompts: k.prompts(0) },
    });
    const rounds: { prompts: string; samples: string }[] = [];
    round = await playEpisodes(act, config, stage, round, {
      what: `step ${step}`,
      checkpoint,
      keys: k,
      sampling: (t) => sampling(1, seedOf(config.seed, 'rollout', step, t), progress.hyper.temperature),
      generated: (gen, prompts) => {
        progress.rolloutTurns.training += gen.samples;
        rounds.push({ prompts, samples: gen.out });
      },
    });
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
      out: keys.checkpoint(step),
    });
    checkpoint = await endStep(step, update, data, {
      batchReward: score.meanReward,
      zeroVarianceGroups: score.zeroVarianceGroups,
      masked: 0,
    });
  }
  return finish(progress, state, enter, evaluate, checkpoint, data);
}
