// The campaign config: one zod schema, parsed once at the boundary (CLI or workflow input).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { VerifierKind } from './schemas';
import { StoreConfig } from '../store';
import { SamplerConfig } from '../policy/schemas';
import { TrajectorySource, sourcePath, withPath } from '../formats/source';

const positiveInt = z.number().int().positive();

export const CampaignConfig = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes'),
    seed: z.number().int().nonnegative().default(0),
    /** What the campaign trains: PivotRL (profiled turns), SFT on the expert actions, or end-to-end RL on whole episodes. */
    method: z.enum(['pivotrl', 'sft', 'e2e-rl']).default('pivotrl'),
    data: z.object({
      /** JSON Lines files of expert data: a path, or { path, format: 'auto' | 'chat' | 'nemo-gym' } (formats/source.ts). */
      trajectories: z.array(TrajectorySource).min(1),
      /** JSON Lines of held-out terminal tasks for in-domain evaluation. */
      heldoutTasks: z.string().min(1),
      /** JSON Lines of out-of-domain items. */
      ood: z.string().min(1),
      shardSize: positiveInt.default(64),
    }),
    store: StoreConfig.default({ kind: 'local', root: '.pivotrl/store' }),
    policy: z.object({
      /** A checkpoint folder (model.json + weights.bin) used as pi0. */
      base: z.string().min(1),
      temperature: z.number().positive().max(5).default(1),
      topP: z.number().gt(0).max(1).default(1),
      /** Generation limit per action; absent: each domain's own (tasks/domains.ts ACTION_TOKENS: terminal/SWE 55, tool 103). */
      maxActionTokens: positiveInt.max(256).optional(),
      /**
       * Where samples come from: the local engine on `base` (default), or an OpenAI-compatible endpoint serving the
       * team's model (policy/openai.ts). A served policy has no weights to train: only profile-only campaigns
       * (train.steps = 0) may use it.
       */
      sampler: SamplerConfig.default({ kind: 'local' }),
    }),
    profile: z.object({
      k: z.number().int().min(2).default(8),
      lambdaDiff: z.number().gt(0).max(1).default(0.6),
      /** 'random': train on turns drawn uniformly from every candidate, with no profiling (the ablation). */
      selection: z.enum(['pivots', 'random']).default('pivots'),
    }),
    verifier: VerifierKind.default('functional'),
    train: z.object({
      steps: z.number().int().nonnegative().default(10),
      batchPivots: positiveInt.default(64),
      groupSize: z.number().int().min(2).default(16),
      lr: z.number().positive().max(1).default(3e-4),
      clipEps: z.number().positive().max(1).default(0.2),
      klBeta: z.number().nonnegative().default(0),
      leaveOneOut: z.boolean().default(false),
      maxGradNorm: z.number().positive().default(1),
      weightDecay: z.number().nonnegative().default(0),
    }),
    evaluate: z.object({
      heldoutTasks: positiveInt.default(24),
      oodItems: positiveInt.default(50),
      /** Also evaluate every this many steps (0: only before and after), for learning curves by rollout turns. */
      every: z.number().int().nonnegative().default(0),
    }),
    verify: z
      .object({
        concurrency: positiveInt.max(64).default(2),
        actionTimeoutMs: positiveInt.default(5000),
        /** Tool-use verifier: word overlap at or above which two longer strings or two messages agree. */
        wordOverlap: z.number().gt(0).max(1).default(0.6),
      })
      .default({ concurrency: 2, actionTimeoutMs: 5000, wordOverlap: 0.6 }),
    temporal: z
      .object({
        address: z.string().default('127.0.0.1:7233'),
        namespace: z.string().default('default'),
        cpuQueue: z.string().default('pivotrl-cpu'),
        gpuQueue: z.string().default('pivotrl-gpu'),
        /** Update steps per workflow run: the campaign continues as new after this many (or when Temporal suggests). */
        stepsPerRun: positiveInt.default(10),
      })
      .default({ address: '127.0.0.1:7233', namespace: 'default', cpuQueue: 'pivotrl-cpu', gpuQueue: 'pivotrl-gpu', stepsPerRun: 10 }),
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
  });
export type CampaignConfig = z.infer<typeof CampaignConfig>;
export type CampaignConfigInput = z.input<typeof CampaignConfig>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** "file: field.path: message" for each problem, so a bad value is found at once. */
export function formatZodIssues(where: string, error: z.ZodError): string {
  return error.issues.map((i) => `${where}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('\n');
}

/** Refuses a config whose input files are missing, before a campaign starts (names the field). */
export function assertInputsExist(c: CampaignConfig, where: string): void {
  const missing = [
    ...c.data.trajectories.map((s, i) => [`data.trajectories.${i}`, sourcePath(s)]),
    ['data.heldoutTasks', c.data.heldoutTasks],
    ['data.ood', c.data.ood],
    ['policy.base', join(c.policy.base, 'model.json')],
  ].filter(([, p]) => !existsSync(p));
  if (missing.length) throw new ConfigError(missing.map(([field, p]) => `${where}: ${field}: no such file ${p}`).join('\n'));
}

/** Reads and validates a config file; relative data paths are resolved against the file's folder. */
export function loadCampaignConfig(path: string): CampaignConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: cannot read config: ${(err as Error).message}`);
  }
  return parseCampaignConfig(raw, path, dirname(resolve(path)));
}

/** Validates a config object (errors name `where` and the field); relative paths are resolved against `baseDir`. */
export function parseCampaignConfig(raw: unknown, where: string, baseDir: string): CampaignConfig {
  const parsed = CampaignConfig.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid campaign config\n${formatZodIssues(where, parsed.error)}`);
  const base = baseDir;
  const at = (p: string) => resolve(base, p);
  const c = parsed.data;
  return {
    ...c,
    data: {
      ...c.data,
      trajectories: c.data.trajectories.map((s) => withPath(s, at(sourcePath(s)))),
      heldoutTasks: at(c.data.heldoutTasks),
      ood: at(c.data.ood),
    },
    policy: { ...c.policy, base: at(c.policy.base) },
    store: c.store.kind === 'local' ? { ...c.store, root: at(c.store.root) } : c.store,
  };
}
