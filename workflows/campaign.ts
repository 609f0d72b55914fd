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
import { campaignKeys } from '../pipeline/keys';
import { seedOf } from '../core/rng';
import type { stageActivities } from './stages';
import { adoptShared, methodRun } from './context';
import { samplingOf, verifyInputOf, type evaluator } from './evaluate';

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
  const { keys, state, progress, act, stage, dataStage, shared, sampling, report, enter, readyFor, evaluate, continueAsNewIfDue, endStep } =
    methodRun(input, () => patched(PATCHES.continueAsNew));

  const verifyInput = verifyInputOf(config, stage);

  let data = state.data;
  if (!data) {
    data = await ingestAndEvaluateBase(act, config, campaignId, state, enter, evaluate, shared);
    enter('profile');
  }
  // The random-turns ablation trains on turns drawn uniformly from every candidate: no profiling.
  const random = config.profile.selection === 'random';
  const profiledOnce = !random ? shared?.profile : undefined;

  // 3. Offline profiling: K samples per candidate from the frozen pi0, verified; keep the pivots.
  const shards = data.shards;
  for (let i = state.profiled; i < shards && !random && !profiledOnce; i++) {
    const gen = await profileShard(act, config, {
      stage,
      shard: i,
      shards,
      checkpoint: data.baseCheckpoint,
      data: campaignKeys(dataStage.campaignId),
      temperature: progress.hyper.temperature,
    });
    progress.backend = gen.backend;
    progress.rolloutTurns.profiling += gen.samples;
    state.profiled = i + 1;
    report();
    if (i + 1 < shards) await continueAsNewIfDue();
  }
  if (profiledOnce && !progress.pivots) {
    progress.backend = profiledOnce.backend;
    progress.rolloutTurns.profiling = profiledOnce.rolloutTurns;
  }
  if (!progress.pivots) {
    progress.pivots = random
      ? await act.selectTurns(`select turns: all ${progress.candidates} candidates, drawn uniformly`, {
          ...dataStage,
          shards,
          out: keys.pivots,
        })
      : (profiledOnce?.pivots ?? (await selectPivotsOf(act, config, { stage, shardsOf: dataStage.campaignId, shards })));
    report();

    enter('update');
    if (progress.pivots.summary.pivots === 0 && config.train.steps > 0) {
      throw ApplicationFailure.nonRetryable('profiling found no pivots: every candidate was all-0 or all-1; nothing to train on');
    }
  }
  const pivotsKey = profiledOnce?.pivots.pivots ?? keys.pivots;

  // 4. GRPO on pivots only: B states, G single-turn samples each, verify, one optimiser step.
  const B = config.train.batchPivots;
  const G = config.train.groupSize;
  let checkpoint = state.checkpoint ?? data.baseCheckpoint;
  for (let step = progress.step + 1; step <= config.train.steps && !state.stopRequested; step++) {
    if (!(await readyFor(step))) break;
    const k = keys.step(step);
    const batch = await act.drawBatch(`step ${step}: draw ${B} ${random ? 'random turns' : 'pivots'}`, {
      ...stage,
      pivots: pivotsKey,
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

type StageInput = { store: CampaignConfig['store']; campaignId: string };
type Keys = ReturnType<typeof campaignKeys>;

/** 3. One profiling shard of `data`'s ingest: K samples per candidate turn from pi0, verified, under `stage`'s keys. */
export async function profileShard(
  act: ReturnType<typeof stageActivities>,
  config: CampaignConfig,
  o: { stage: StageInput; shard: number; shards: number; checkpoint: string; data: Keys; temperature: number },
) {
  const { shard: i, shards } = o;
  const keys = campaignKeys(o.stage.campaignId);
  const gen = await act.generate(`profile shard ${i + 1}/${shards}: ${config.profile.k} samples per turn from pi0`, {
    ...o.stage,
    checkpoint: o.checkpoint,
    prompts: o.data.shardPrompts(i),
    out: keys.profileSamples(i),
    sampling: samplingOf(config)(config.profile.k, seedOf(config.seed, 'profile', i), o.temperature),
  });
  await act.verify(
    `profile shard ${i + 1}/${shards}: verify ${gen.samples} samples (${config.verifier})`,
    verifyInputOf(config, o.stage)(o.data.shardTurns(i), gen.out, keys.profileVerdicts(i)),
  );
  return gen;
}

/** The pivots among the profiled turns of `shardsOf`'s shards (profiles under `stage`'s keys). */
export function selectPivotsOf(
  act: ReturnType<typeof stageActivities>,
  config: CampaignConfig,
  o: { stage: StageInput; shardsOf: string; shards: number },
) {
  const keys = campaignKeys(o.stage.campaignId);
  const shardsOf = o.shardsOf === o.stage.campaignId ? {} : { shardsOf: o.shardsOf };
  return act.selectPivots(`select pivots: var > 0 and mean < ${config.profile.lambdaDiff}`, {
    ...o.stage,
    ...shardsOf,
    shards: o.shards,
    lambdaDiff: config.profile.lambdaDiff,
    out: { profiles: keys.profiles, pivots: keys.pivots },
  });
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

/**
 * 1. Ingest: trajectories -> candidate turns in shards; pi0 imported as checkpoint 0. 2. pi0's accuracy. Both come
 * from the experiment's pi0 workflow when `shared` is given.
 */
export async function ingestAndEvaluateBase(
  act: ReturnType<typeof stageActivities>,
  config: CampaignConfig,
  campaignId: string,
  state: CampaignState,
  enter: Enter,
  evaluate: Evaluate,
  shared?: CampaignInput['shared'],
): Promise<CampaignData> {
  if (shared) return adoptShared(state, shared);
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
  progress.verification = ingest.verification;
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
