// The PivotRL campaign, read top to bottom: ingest, evaluate pi0, profile every turn, keep the pivots,
// run GRPO on them, evaluate the result. Deterministic workflow code: it holds keys and counts, never data.
//
// A long campaign continues as new every `temporal.stepsPerRun` update steps (and between profiling shards or
// steps whenever Temporal suggests it), carrying its CampaignState, so each run's event history stays bounded.
// Changes that running campaigns must survive go behind `patched` (see PATCHES); test/histories/ holds recorded
// histories that test/unit/campaign-replay.test.ts replays against this code.
import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { CampaignConfig } from '../core/config';
import type { VerifyResult } from '../activities/types';
import type { CampaignInput, CampaignPhase, CampaignProgress, CampaignResult, CampaignState, Hyper } from '../pipeline/campaign-state';
import { seedOf } from '../core/rng';
import type { stageActivities } from './stages';
import { methodRun } from './context';
import { verifyInputOf, type evaluator } from './evaluate';

export {
  DEFAULT_STEPS_PER_RUN,
  RECENT_STEPS,
  hyperUpdate,
  pauseUpdate,
  progressQuery,
  stopUpdate,
  validateHyper,
  validatePaused,
} from './controls';
export { startState } from './context';

/** Workflow changes guarded for campaigns that started on older code. Remove with `deprecatePatch` once none run. */
export const PATCHES = {
  /** Continue-as-new between profiling shards and update steps (campaigns started before it run on in one history). */
  continueAsNew: 'pivot-continue-as-new-v1',
} as const;

export async function pivotCampaign(input: CampaignInput): Promise<CampaignResult> {
  const { campaignId, config } = input;
  const { keys, state, progress, act, stage, sampling, report, enter, readyFor, evaluate, continueAsNewIfDue, endStep } = methodRun(
    input,
    () => patched(PATCHES.continueAsNew),
  );

  const verifyInput = verifyInputOf(config, stage);

  let data = state.data;
  if (!data) {
    data = await ingestAndEvaluateBase(act, config, campaignId, state, enter, evaluate);
    enter('profile');
  }
  // The random-turns ablation trains on turns drawn uniformly from every candidate: no profiling.
  const random = config.profile.selection === 'random';

  // 3. Offline profiling: K samples per candidate from the frozen pi0, verified; keep the pivots.
  const shards = data.shards;
  for (let i = state.profiled; i < shards && !random; i++) {
    const gen = await act.generate(`profile shard ${i + 1}/${shards}: ${config.profile.k} samples per turn from pi0`, {
      ...stage,
      checkpoint: data.baseCheckpoint,
      prompts: keys.shardPrompts(i),
      out: keys.profileSamples(i),
      sampling: sampling(config.profile.k, seedOf(config.seed, 'profile', i), progress.hyper.temperature),
    });
    progress.backend = gen.backend;
    progress.rolloutTurns.profiling += gen.samples;
    await act.verify(
      `profile shard ${i + 1}/${shards}: verify ${gen.samples} samples (${config.verifier})`,
      verifyInput(keys.shardTurns(i), gen.out, keys.profileVerdicts(i)),
    );
    state.profiled = i + 1;
    report();
    if (i + 1 < shards) await continueAsNewIfDue();
  }
  if (!progress.pivots) {
    progress.pivots = random
      ? await act.selectTurns(`select turns: all ${progress.candidates} candidates, drawn uniformly`, {
          ...stage,
          shards,
          out: keys.pivots,
        })
      : await act.selectPivots(`select pivots: var > 0 and mean < ${config.profile.lambdaDiff}`, {
          ...stage,
          shards,
          lambdaDiff: config.profile.lambdaDiff,
          out: { profiles: keys.profiles, pivots: keys.pivots },
        });
    report();

    enter('update');
    if (progress.pivots.summary.pivots === 0 && config.train.steps > 0) {
      throw ApplicationFailure.nonRetryable('profiling found no pivots: every candidate was all-0 or all-1; nothing to train on');
    }
  }

  // 4. GRPO on pivots only: B states, G single-turn samples each, verify, one optimiser step.
  const B = config.train.batchPivots;
  const G = config.train.groupSize;
  let checkpoint = state.checkpoint ?? data.baseCheckpoint;
  for (let step = progress.step + 1; step <= config.train.steps && !state.stopRequested; step++) {
    if (!(await readyFor(step))) break;
    const k = keys.step(step);
    const batch = await act.drawBatch(`step ${step}: draw ${B} ${random ? 'random turns' : 'pivots'}`, {
      ...stage,
      pivots: keys.pivots,
      count: B,
      seed: seedOf(config.seed, 'batch', step),
      out: { turns: k.turns, prompts: k.prompts },
    });
    const gen = await act.generate(`step ${step}: ${B}x${G} rollouts`, {
      ...stage,
      checkpoint,
      prompts: batch.prompts,
      out: k.samples,
      sampling: sampling(G, seedOf(config.seed, 'rollout', step), progress.hyper.temperature),
    });
    progress.rolloutTurns.training += gen.samples;
    const verdicts: VerifyResult = await act.verify(
      `step ${step}: verify ${gen.samples} rollouts (${config.verifier})`,
      verifyInput(k.turns, k.samples, k.verdicts),
    );
    const update = await act.update(`step ${step}: GRPO update -> checkpoint ${step}`, {
      ...stage,
      step,
      checkpoint,
      reference: progress.hyper.klBeta > 0 ? data.baseCheckpoint : undefined,
      batch: { turns: k.turns, samples: k.samples, verdicts: k.verdicts },
      hp: grpoHyper(config, progress.hyper),
      leaveOneOut: config.train.leaveOneOut,
      out: keys.checkpoint(step),
      sampler: config.policy.sampler,
    });
    checkpoint = await endStep(step, update, data, {
      batchReward: verdicts.meanReward,
      zeroVarianceGroups: verdicts.zeroVarianceGroups,
      masked: verdicts.masked,
    });
  }
  return finish(progress, state, enter, evaluate, checkpoint, data);
}

type Enter = (phase: CampaignPhase) => void;
type Evaluate = ReturnType<typeof evaluator>;
type CampaignData = NonNullable<CampaignState['data']>;

/** A GRPO step's hyper-parameters; the rollouts' temperature and top-p too, for the PPO ratio's distribution. */
export const grpoHyper = (config: CampaignConfig, hyper: Hyper) => ({
  lr: hyper.lr,
  clipEps: hyper.clipEps,
  beta: hyper.klBeta,
  gradClip: config.train.maxGradNorm,
  weightDecay: config.train.weightDecay,
  temperature: hyper.temperature,
  topP: config.policy.topP,
});

/** 1. Ingest: trajectories -> candidate turns in shards; pi0 imported as checkpoint 0. 2. pi0's accuracy. */
export async function ingestAndEvaluateBase(
  act: ReturnType<typeof stageActivities>,
  config: CampaignConfig,
  campaignId: string,
  state: CampaignState,
  enter: Enter,
  evaluate: Evaluate,
): Promise<CampaignData> {
  const progress = state.progress;
  enter('ingest');
  const ingest = await act.ingest(`ingest ${config.data.trajectories.length} trajectory file(s), shards of ${config.data.shardSize}`, {
    store: config.store,
    campaignId,
    trajectories: config.data.trajectories,
    heldoutTasks: config.data.heldoutTasks,
    ood: config.data.ood,
    shardSize: config.data.shardSize,
    heldoutLimit: config.evaluate.heldoutTasks,
    oodLimit: config.evaluate.oodItems,
    baseCheckpoint: config.policy.base,
  });
  progress.candidates = ingest.turns;
  progress.badRecords = ingest.badRecords;
  const data = (state.data = {
    baseCheckpoint: ingest.baseCheckpoint,
    heldout: ingest.heldout,
    ood: { items: ingest.ood, prompts: ingest.oodPrompts },
    // Ingest results recorded before shard counts replaced shard lists still replay.
    shards: Array.isArray(ingest.shards) ? (ingest.shards as unknown[]).length : ingest.shards,
  });
  state.checkpoint = ingest.baseCheckpoint;

  // The base model's accuracy, for the before/after comparison.
  enter('evaluate-base');
  progress.before = await evaluate('base', data.baseCheckpoint, data.heldout, data.ood);
  return data;
}

/** 5. The trained policy against the base model, in-domain and out-of-domain. */
export async function finish(
  progress: CampaignProgress,
  state: CampaignState,
  enter: Enter,
  evaluate: Evaluate,
  checkpoint: string,
  data: CampaignData,
): Promise<CampaignResult> {
  progress.finalCheckpoint = checkpoint;
  enter('evaluate-final');
  progress.after = await evaluate(`step-${progress.step}`, checkpoint, data.heldout, data.ood);
  progress.now = undefined;
  enter(state.stopRequested ? 'stopped' : 'done');
  return progress;
}
