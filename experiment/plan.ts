// The experiment config: one base campaign, the methods as overrides of it, the seeds. Every method x seed is a
// campaign config validated up front (errors name the file and the field, e.g. `methods.2.config.train.lr`).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { CampaignConfig } from '../core/config';
import { formatZodIssues } from '../core/zod-errors';
import { ConfigError, parseCampaignConfig } from '../pipeline/config-file';

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'lower-case letters, digits and dashes');
const plainObject = z.record(z.string(), z.unknown());

export const ExperimentConfig = z
  .object({
    name: slug,
    /** One campaign per method and seed (at least 3 seeds for 95% intervals worth reading). */
    seeds: z.array(z.number().int().nonnegative()).min(2),
    /** Campaigns running at once (they share the workers; more overlaps sandboxes with generation). */
    parallel: z.number().int().positive().default(3),
    /** Where report.md, the plots and results.json go (relative to this file). */
    out: z.string().min(1),
    /** The campaign config every method starts from (fields of core/config.ts, without name and seed). */
    campaign: plainObject,
    methods: z
      .array(
        z
          .object({
            id: slug,
            label: z.string().min(1),
            /** Deep-merged over `campaign`: e.g. { "method": "sft" }, { "profile": { "selection": "random" } }, { "verifier": "strict" }. */
            config: plainObject.default({}),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();
export type ExperimentConfig = z.infer<typeof ExperimentConfig>;

/** The role a method plays in the paper's claims, from its effective config. */
export type Role = 'pivotrl' | 'sft' | 'e2e-rl' | 'ablation';
export const roleOf = (c: CampaignConfig): Role =>
  c.method === 'sft' || c.method === 'e2e-rl'
    ? c.method
    : c.profile.selection === 'pivots' && c.verifier === 'functional'
      ? 'pivotrl'
      : 'ablation';

export interface PlannedRun {
  method: string;
  label: string;
  role: Role;
  seed: number;
  config: CampaignConfig;
}

export interface ExperimentPlan {
  experiment: ExperimentConfig;
  out: string;
  runs: PlannedRun[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k], v) : v;
  return out;
}

/** Validates an experiment object and expands it into one campaign config per method and seed. */
export function planExperiment(raw: unknown, where: string, baseDir: string): ExperimentPlan {
  const parsed = ExperimentConfig.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid experiment config\n${formatZodIssues(where, parsed.error)}`);
  const e = parsed.data;
  const ids = e.methods.map((m) => m.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new ConfigError(`${where}: methods: id ${dup} appears twice`);
  if (new Set(e.seeds).size !== e.seeds.length) throw new ConfigError(`${where}: seeds: a seed appears twice`);
  const runs = e.methods.flatMap((m, i) =>
    e.seeds.map((seed): PlannedRun => {
      const merged = deepMerge(deepMerge(e.campaign, m.config), { name: `${e.name}-${m.id}-s${seed}`, seed });
      const config = parseCampaignConfig(merged, `${where}: methods.${i} (${m.id}) over campaign`, baseDir);
      return { method: m.id, label: m.label, role: roleOf(config), seed, config };
    }),
  );
  return { experiment: e, out: resolve(baseDir, e.out), runs };
}

export function loadExperiment(path: string): ExperimentPlan {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: cannot read experiment config: ${(err as Error).message}`);
  }
  return planExperiment(raw, path, dirname(resolve(path)));
}
