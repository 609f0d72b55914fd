// Reading a campaign config file: JSON parsed and validated against core/config.ts, every problem named by file and
// field, relative paths resolved against the file's folder, input files checked before a campaign starts.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CampaignConfig, invalidConfigMessage } from '../core/config';
import { sourcePath, withPath } from '../formats/source';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
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
  if (!parsed.success) throw new ConfigError(invalidConfigMessage(where, parsed.error));
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
