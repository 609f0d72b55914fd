// Pivot selection from verified profiling samples, and the per-step draw of pivot batches.
import { Turn, Verdict } from '../core/schemas';
import { Rng } from '../core/rng';
import { getJsonl, putJsonl, type ArtefactStore } from '../store';
import { CandidateProfile, classify, profileCandidate, summarisePivots, type PivotSummary } from '../pivotrl/pivots';
import { putTurnsWithPrompts } from './records';

export interface ProfiledShard {
  turns: string;
  verdicts: string;
}

export interface PivotSelection {
  summary: PivotSummary;
  profiles: string;
  pivots: string;
  /** Histogram of mean reward per candidate, 10 bins over [0, 1]. */
  muHistogram: number[];
}

function histogram(values: number[], bins = 10): number[] {
  const h = new Array<number>(bins).fill(0);
  for (const v of values) h[Math.min(bins - 1, Math.floor(v * bins))]++;
  return h;
}

export async function selectPivots(
  store: ArtefactStore,
  shards: ProfiledShard[],
  lambdaDiff: number,
  out: { profiles: string; pivots: string },
): Promise<PivotSelection> {
  const profiles: CandidateProfile[] = [];
  const pivots: Turn[] = [];
  for (const shard of shards) {
    const turns = await getJsonl(store, shard.turns, (v) => Turn.parse(v));
    const verdicts = await getJsonl(store, shard.verdicts, (v) => Verdict.parse(v));
    const byTurn = new Map<string, Verdict['reward'][]>();
    for (const v of verdicts) byTurn.set(v.turnId, [...(byTurn.get(v.turnId) ?? []), v.reward]);
    for (const turn of turns) {
      const profile = profileCandidate(turn.id, byTurn.get(turn.id) ?? []);
      profiles.push(profile);
      if (classify(profile, lambdaDiff) === 'pivot') pivots.push(turn);
    }
  }
  await putJsonl(store, out.profiles, profiles);
  await putJsonl(store, out.pivots, pivots);
  return {
    summary: summarisePivots(profiles, lambdaDiff),
    profiles: out.profiles,
    pivots: out.pivots,
    muHistogram: histogram(profiles.filter((p) => p.n > 0).map((p) => p.mu)),
  };
}

/** Draws `count` pivot states (without replacement while possible), seeded per step. */
export async function drawBatch(
  store: ArtefactStore,
  pivotsKey: string,
  count: number,
  seed: number,
  out: { turns: string; prompts: string },
): Promise<{ turns: string; prompts: string; count: number }> {
  const pivots = await getJsonl(store, pivotsKey, (v) => Turn.parse(v));
  if (pivots.length === 0) throw new Error(`no pivots in ${pivotsKey}: nothing to train on`);
  const rng = new Rng(seed);
  const chosen: Turn[] = [];
  while (chosen.length < count) chosen.push(...rng.shuffle(pivots).slice(0, count - chosen.length));
  // A pivot drawn twice is two groups: each batch row gets its own id.
  const rows = chosen.map((t, i): Turn => ({ ...t, id: `${t.id}@${i}` }));
  await putTurnsWithPrompts(store, rows, out);
  return { turns: out.turns, prompts: out.prompts, count: chosen.length };
}
