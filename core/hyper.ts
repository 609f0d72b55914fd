// Training hyper-parameters, each with its bounds and default named once: the config's `train` section, what an
// operator may change mid-run (`pivotrl set`, checked by the workflows' Update validator) and the policy engine's
// optimiser step.
import { z } from 'zod';

/** The highest sampling temperature. */
export const MAX_TEMPERATURE = 5;

/** The hyper-parameters that may change while a campaign runs, with their bounds (the config's too). */
export const LiveHyper = z.object({
  lr: z.number().positive().max(1),
  /** PPO ratio clip. */
  clipEps: z.number().positive().max(1),
  /** KL penalty to the reference policy (k3 estimator). */
  klBeta: z.number().nonnegative(),
  /** Sampling temperature of profiling and rollouts. */
  temperature: z.number().positive().max(MAX_TEMPERATURE),
});
export type LiveHyper = z.infer<typeof LiveHyper>;

const positiveInt = z.number().int().positive();
const WeightDecay = z.number().nonnegative();

/**
 * Upper bounds of the campaign's sizes, generous for real campaigns: a config (or a workflow input sent by any
 * client) cannot ask the workers for unbounded work. Samples per prompt bound profiling's K and GRPO's G alike.
 */
export const LIMITS = {
  samplesPerPrompt: 256,
  batchPivots: 4096,
  steps: 100_000,
} as const;

/**
 * SFT at its best (`train.sft`): a validation split of the training turns by trajectory, the learning rate chosen on
 * it (`probeSteps` steps from pi0 per candidate of `lrs`, default [`train.lr`]), validation loss every `evalEvery`
 * steps, early stopping after `patience` evaluations without improvement, the best checkpoint kept. Absent: SFT runs
 * `train.steps` steps at `train.lr` and keeps the last.
 */
export const SftTrainConfig = z
  .object({
    valFraction: z.number().gt(0).max(0.5).default(0.1),
    evalEvery: positiveInt.max(LIMITS.steps).default(5),
    patience: positiveInt.max(1000).default(3),
    lrs: z.array(LiveHyper.shape.lr).min(1).max(16).optional(),
    probeSteps: positiveInt.max(1000).default(5),
  })
  .strict();
export type SftTrainConfig = z.infer<typeof SftTrainConfig>;

/** The config's `train` section: every campaign, whatever its method, trains with these. */
export const TrainConfig = z.object({
  steps: z.number().int().nonnegative().max(LIMITS.steps).default(10),
  batchPivots: positiveInt.max(LIMITS.batchPivots).default(64),
  groupSize: z.number().int().min(2).max(LIMITS.samplesPerPrompt).default(16),
  lr: LiveHyper.shape.lr.default(3e-4),
  clipEps: LiveHyper.shape.clipEps.default(0.2),
  klBeta: LiveHyper.shape.klBeta.default(0),
  leaveOneOut: z.boolean().default(false),
  maxGradNorm: z.number().positive().default(1),
  weightDecay: WeightDecay.default(0),
  /** SFT only: learning rate chosen on a validation split, early stopping, the best checkpoint kept. */
  sft: SftTrainConfig.optional(),
});
export type TrainConfig = z.infer<typeof TrainConfig>;

/**
 * One optimiser step of the policy engine. A campaign passes `lr` (`train.lr`, or the value set mid-run), `gradClip`
 * and `weightDecay` from `train`, so its weight decay is `train.weightDecay` (0 unless set); pretraining, benches and
 * tests name `lr` too. The other defaults below are those of direct engine use.
 */
export const SftHyper = z.object({
  lr: TrainConfig.shape.lr,
  /** Linear warm-up over the first steps of this checkpoint lineage (step counter in the checkpoint). */
  warmupSteps: z.number().int().min(0).default(0),
  weightDecay: WeightDecay.default(0.1),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.95),
  adamEps: z.number().positive().default(1e-8),
  /** Clip gradients to this global L2 norm (0 = off). */
  gradClip: z.number().min(0).default(1),
  /** Micro-batch size in tokens (memory bound); the whole batch is still ONE optimiser step. */
  microBatchTokens: positiveInt.default(8192),
});
export type SftHyper = z.input<typeof SftHyper>;

/** A GRPO step: the optimiser's fields, a lighter default weight decay, and the PPO clip and KL penalty of `train`. */
export const GrpoHyper = SftHyper.extend({
  weightDecay: WeightDecay.default(0.01),
  clipEps: TrainConfig.shape.clipEps,
  /** KL penalty to the reference policy (k3 estimator); needs `reference`. */
  beta: TrainConfig.shape.klBeta,
  /**
   * How the items' tokens were drawn (the campaign's sampling temperature and top-p): the PPO ratio's log-probabilities
   * are taken under that distribution, as the sampler's are (policy/nucleus.ts). 0 (greedy) is refused by the trainer.
   */
  temperature: z.number().min(0).max(MAX_TEMPERATURE).default(1),
  topP: z.number().gt(0).max(1).default(1),
});
export type GrpoHyper = z.input<typeof GrpoHyper>;
