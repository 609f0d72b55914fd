// pi0's work for an experiment, done once instead of once per campaign: ingest, pi0's evaluation (every campaign's
// `before`) and one PivotRL profile per distinct profile config (K, lambdaDiff, verifier). `pi0Plan` says which runs
// share it; the experiment workflow hands each of them its part as `CampaignInput.shared`.
import type { CampaignConfig } from '../core/config';
import { campaignKeys } from '../pipeline/keys';
import type { SharedPi0 } from '../pipeline/campaign-state';
import { ingestAndEvaluateBase, profileShard, selectPivotsOf } from './campaign';
import { methodRun } from './context';

/** One campaign of an experiment: a method (its id in the experiment config) at a seed. */
export interface ExperimentRun {
  method: string;
  seed: number;
  config: CampaignConfig;
}

export interface Pi0Input {
  /** The store keys of the shared ingest and evaluation live under this id (the pi0 workflow's own id). */
  campaignId: string;
  config: CampaignConfig;
  /** One per distinct profile config, named by the first method that uses it (its profile keys: `<campaignId>-<id>`). */
  profiles: { id: string; config: CampaignConfig }[];
}

export interface Pi0Result {
  shared: Omit<SharedPi0, 'profile'>;
  profiles: Record<string, NonNullable<SharedPi0['profile']>>;
}

/** What ingest and pi0's evaluation depend on (not the learning curve's schedule): runs that agree on it share them. */
const dataSettings = (c: CampaignConfig) => {
  const { every: _every, curveEpisodes: _curveEpisodes, ...evaluate } = c.evaluate;
  return JSON.stringify([c.data, c.store, c.policy, evaluate, c.verify]);
};
/** What a PivotRL profile depends on besides those. */
const profileSettings = (c: CampaignConfig) => JSON.stringify([c.profile.k, c.profile.lambdaDiff, c.verifier]);
const profiles = (c: CampaignConfig) => (c.method ?? 'pivotrl') === 'pivotrl' && c.profile.selection === 'pivots';

/**
 * Which runs share pi0's work: those whose data, store, policy, evaluation and verification settings equal the first
 * run's (the others do their own); among them, one profile per distinct profile config, at the first such run's seed.
 */
export function pi0Plan(runs: ExperimentRun[]) {
  const base = runs[0];
  const sharing = runs.filter((r) => dataSettings(r.config) === dataSettings(base.config));
  const byProfile = new Map<string, ExperimentRun>();
  for (const r of sharing.filter((r) => profiles(r.config))) {
    const key = profileSettings(r.config);
    if (!byProfile.has(key)) byProfile.set(key, r);
  }
  return {
    base,
    profiles: [...byProfile.values()].map((r) => ({ id: r.method, config: r.config })),
    /** The id of the profile `run` trains on, '' when it trains on none; undefined when it does its own pi0 work. */
    profileOf: (run: ExperimentRun): string | undefined =>
      !sharing.includes(run) ? undefined : profiles(run.config) ? byProfile.get(profileSettings(run.config))!.method : '',
  };
}

/** The share of `pi0` that `run` gets, or undefined when it does its own pi0 work. */
export function sharedFor(plan: ReturnType<typeof pi0Plan>, pi0: Pi0Result, run: ExperimentRun): SharedPi0 | undefined {
  const profile = plan.profileOf(run);
  if (profile === undefined) return undefined;
  return profile ? { ...pi0.shared, profile: pi0.profiles[profile] } : pi0.shared;
}

/**
 * Ingest, pi0's evaluation, then the profiles side by side. Runs in one history (no continue-as-new): two activities
 * per shard and profile, a few dozen events for the shipped data.
 */
export async function pi0Workflow(input: Pi0Input): Promise<Pi0Result> {
  const { campaignId, config } = input;
  const { state, progress, act, enter, evaluate, report } = methodRun({ campaignId, config });
  const data = await ingestAndEvaluateBase(act, config, campaignId, state, enter, evaluate);
  enter('profile');
  const profiled = await Promise.all(
    input.profiles.map(async (p) => {
      const stage = { store: config.store, campaignId: `${campaignId}-${p.id}` };
      let rolloutTurns = 0;
      let backend: string | null = null;
      for (let shard = 0; shard < data.shards; shard++) {
        const gen = await profileShard(act, p.config, {
          stage,
          shard,
          shards: data.shards,
          checkpoint: data.baseCheckpoint,
          data: campaignKeys(campaignId),
          temperature: p.config.policy.temperature,
        });
        rolloutTurns += gen.samples;
        backend = gen.backend;
        progress.rolloutTurns.profiling += gen.samples;
        report();
      }
      const pivots = await selectPivotsOf(act, p.config, { stage, shardsOf: campaignId, shards: data.shards });
      return [p.id, { pivots, rolloutTurns, backend }] as const;
    }),
  );
  enter('done');
  return {
    shared: {
      owner: campaignId,
      data,
      candidates: progress.candidates,
      badRecords: progress.badRecords,
      verification: progress.verification,
      before: progress.before!,
      evaluationTurns: progress.rolloutTurns.evaluation,
    },
    profiles: Object.fromEntries(profiled),
  };
}
