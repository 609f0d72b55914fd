// The campaign config: one zod schema, the single source of each default and bound, parsed once at the boundary
// (pipeline/config-file.ts reads the file; the workflows receive the parsed config).
import { z } from 'zod';
import { VerifierKind } from './schemas';
import { SamplingSettings, VerifySettings } from './stage-settings';
import { LIMITS, LiveHyper, TrainConfig } from './hyper';
import { StoreConfig } from './store-config';
import { SamplerConfig } from './sampler-config';
import { TrajectorySource } from './trajectory-source';
import { formatZodIssues } from './zod-errors';

const positiveInt = z.number().int().positive();
/** Most held-out tasks, OOD items, turns per shard, and steps between evaluations a config may ask for. */
const MAX_COUNT = 100_000;

/**
 * Where the campaign's workflows and workers meet (the config's `temporal`). The server's address and namespace, when
 * the config names them, win over the connection settings of the environment and profile (workers/connection.ts);
 * unnamed, those settings choose (default 127.0.0.1:7233, namespace `default`).
 */
export const TemporalConfig = z.object({
  address: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  cpuQueue: z.string().default('pivotrl-cpu'),
  gpuQueue: z.string().default('pivotrl-gpu'),
  /** Update steps per workflow run: the campaign continues as new after this many (or when Temporal suggests). */
  stepsPerRun: positiveInt.max(1000).default(10),
});

/** The config's `verify`: how verification runs (the verify activity checks the same bounds). */
export const VerifyConfig = z.object({
  concurrency: VerifySettings.shape.concurrency.default(2),
  actionTimeoutMs: VerifySettings.shape.actionTimeoutMs.default(5000),
  /** Tool-use verifier: word overlap at or above which two longer strings or two messages agree. */
  wordOverlap: VerifySettings.shape.wordOverlap.unwrap().default(0.6),
});

export const CampaignConfig = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes'),
    seed: z.number().int().nonnegative().default(0),
    /** What the campaign trains: PivotRL (profiled turns), SFT on the expert actions, or end-to-end RL on whole episodes. */
    method: z.enum(['pivotrl', 'sft', 'e2e-rl']).default('pivotrl'),
    data: z.object({
      /** JSON Lines files of expert data: a path, or { path, format: 'auto' | 'chat' | 'nemo-gym' } (core/trajectory-source.ts). */
      trajectories: z.array(TrajectorySource).min(1),
      /** JSON Lines of held-out terminal tasks for in-domain evaluation. */
      heldoutTasks: z.string().min(1),
      /** JSON Lines of out-of-domain items. */
      ood: z.string().min(1),
      shardSize: positiveInt.max(MAX_COUNT).default(64),
    }),
    store: StoreConfig.default({ kind: 'local', root: '.pivotrl/store' }),
    policy: z.object({
      /** A checkpoint folder (model.json + weights.bin) used as pi0. */
      base: z.string().min(1),
      temperature: LiveHyper.shape.temperature.default(1),
      topP: SamplingSettings.shape.topP.default(1),
      /** Generation limit per action; absent: each domain's own (tasks/domains.ts ACTION_TOKENS: terminal/SWE 55, tool 103). */
      maxActionTokens: SamplingSettings.shape.maxTokens,
      /**
       * Where samples come from: the local engine on `base` (default), or an OpenAI-compatible endpoint serving the
       * team's model (policy/openai.ts). A served policy has no weights to train: only profile-only campaigns
       * (train.steps = 0) may use it.
       */
      sampler: SamplerConfig.default({ kind: 'local' }),
    }),
    profile: z.object({
      k: z.number().int().min(2).max(LIMITS.samplesPerPrompt).default(8),
      lambdaDiff: z.number().gt(0).max(1).default(0.6),
      /** 'random': train on turns drawn uniformly from every candidate, with no profiling (the ablation). */
      selection: z.enum(['pivots', 'random']).default('pivots'),
    }),
    verifier: VerifierKind.default('functional'),
    train: TrainConfig,
    evaluate: z.object({
      heldoutTasks: positiveInt.max(MAX_COUNT).default(24),
      oodItems: positiveInt.max(MAX_COUNT).default(50),
      /** Also evaluate every this many steps (0: only before and after), for learning curves by rollout turns. */
      every: z.number().int().nonnegative().max(MAX_COUNT).default(0),
      /**
       * Whether the evaluations between steps also play the multi-turn episodes (the first and last always do). false
       * keeps the learning curve to per-turn accuracy and OOD, which cost a fraction of the episodes.
       */
      curveEpisodes: z.boolean().default(true),
      /**
       * Held-out expert states scored per evaluation (0: none), spread over every template and turn position of the
       * held-out tasks' expert trajectories (pipeline/turn-eval.ts): the primary in-domain metric.
       */
      heldoutTurns: z.number().int().nonnegative().max(MAX_COUNT).default(0),
      /** Sampled actions per held-out state (beside one greedy), at the policy's temperature and top-p. */
      turnSamples: z.number().int().min(4).max(LIMITS.samplesPerPrompt).default(4),
      /** Also measure drift: the NLL of the OOD reference answers under each evaluated checkpoint (local policy only). */
      oodDrift: z.boolean().default(false),
    }),
    verify: VerifyConfig.prefault({}),
    temporal: TemporalConfig.prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.policy.sampler.kind !== 'local' && c.train.steps > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['train', 'steps'],
        message: `must be 0 when policy.sampler.kind is '${c.policy.sampler.kind}' (a served model cannot be trained: profile only)`,
      });
    }
    if (c.train.sft && c.method !== 'sft') {
      ctx.addIssue({
        code: 'custom',
        path: ['train', 'sft'],
        message: `configures the SFT baseline's validation split and early stopping: only for method 'sft' (method is '${c.method}')`,
      });
    }
    if (c.policy.sampler.kind !== 'local' && c.evaluate.oodDrift) {
      ctx.addIssue({
        code: 'custom',
        path: ['evaluate', 'oodDrift'],
        message: `must be false when policy.sampler.kind is '${c.policy.sampler.kind}' (the NLL needs the policy's weights)`,
      });
    }
  });
export type CampaignConfig = z.infer<typeof CampaignConfig>;
export type CampaignConfigInput = z.input<typeof CampaignConfig>;

/** The message a config that fails the schema is refused with, by the CLI and by the workflows alike. */
export const invalidConfigMessage = (where: string, error: z.ZodError) => `invalid campaign config\n${formatZodIssues(where, error)}`;
