// The baselines' stages as plain libraries: the random-turns ablation and SFT train on every candidate turn
// (no profiling); end-to-end RL runs whole episodes on training tasks and rewards each by the task's final check.
import { z } from 'zod';
import { Episode, PromptRow, promptRowOf } from './records';
import { HeldoutTask, Sample, Turn } from '../core/schemas';
import { Rng } from '../core/rng';
import { getJsonl, putJsonl, type ArtefactStore } from '../store';
import { grpoItems, type SampledAction, type ScoredRollout } from '../pivotrl/grpo';
import { promptOf } from '../tasks/domains';
import { ACTION_STOP } from '../tasks/actions';
import { generatedText, type GrpoItem, type SftExample } from '../policy/engine';
import { mapLimit } from '../core/concurrency';
import type { EpisodeRunner } from '../tasks/episode-runner';
import type { EpisodeRound } from './episodes';
import type { PivotSelection } from './profile';
import { BadInputError } from './jsonl-reader';

/** Every candidate turn of the shards, written as the training set (summary: all of them, none profiled). */
export async function selectAllTurns(store: ArtefactStore, shardTurns: string[], out: string): Promise<PivotSelection> {
  const turns: Turn[] = [];
  for (const key of shardTurns) turns.push(...(await getJsonl(store, key, (v) => Turn.parse(v))));
  await putJsonl(store, out, turns);
  const n = turns.length;
  return {
    summary: { candidates: n, pivots: n, allZero: 0, allOne: 0, tooEasy: 0, unverified: n, pivotRate: n ? 1 : 0, meanReward: 0 },
    profiles: '',
    pivots: out,
    muHistogram: [],
  };
}

/** The expert action of each turn as an SFT target, with its stop string so that the policy learns to stop. */
export async function sftExamples(store: ArtefactStore, turnsKey: string): Promise<SftExample[]> {
  const turns = await getJsonl(store, turnsKey, (v) => Turn.parse(v));
  return turns.map((t) => ({ prompt: promptOf(t, t.history), completion: generatedText({ text: t.expert, stop: ACTION_STOP }) }));
}

/** Episode ids are `<task>@<b>~<g>`: the part before `~` names the GRPO group (one drawn task). */
export const groupOf = (episodeId: string) => episodeId.slice(0, episodeId.lastIndexOf('~'));

/** Draws `tasks` training tasks (distinct while possible) and starts `group` episodes on each. */
export async function startTrainingEpisodes(
  store: ArtefactStore,
  shardTurns: string[],
  opts: { tasks: number; group: number; seed: number },
  out: { episodes: string; prompts: string },
): Promise<EpisodeRound> {
  const byTrajectory = new Map<string, HeldoutTask>();
  let replayed = 0;
  for (const key of shardTurns)
    for (const t of await getJsonl(store, key, (v) => Turn.parse(v))) {
      if (byTrajectory.has(t.trajectoryId)) continue;
      // A terminal trajectory imported without its task has no final check to reward an episode with.
      const ref = HeldoutTask.safeParse({ domain: t.domain, task: t.task });
      if (ref.success) byTrajectory.set(t.trajectoryId, ref.data);
      else replayed++;
    }
  const pool = [...byTrajectory.values()];
  if (pool.length === 0) {
    const why = replayed ? `: ${replayed} turn(s) are of terminal trajectories imported without their task (no final check)` : '';
    throw new BadInputError(`no training tasks with a final check in ${shardTurns.length} shard(s)${why}`);
  }
  const rng = new Rng(opts.seed);
  const chosen: HeldoutTask[] = [];
  while (chosen.length < opts.tasks) chosen.push(...rng.shuffle(pool).slice(0, opts.tasks - chosen.length));
  const episodes: Episode[] = chosen.flatMap((ref, b) =>
    Array.from({ length: opts.group }, (_, g) => ({ id: `${ref.task.id}@${b}~${g}`, ref, steps: [], done: false, passed: null })),
  );
  await putJsonl(store, out.episodes, episodes);
  await putJsonl(
    store,
    out.prompts,
    episodes.map((e) => promptRowOf(e.id, e.ref, e.steps)),
  );
  return { episodes: out.episodes, prompts: out.prompts, active: episodes.length };
}

export const EpisodeReward = z.object({ id: z.string(), reward: z.union([z.literal(0), z.literal(1)]) });
export interface RolloutScore {
  out: string;
  episodes: number;
  actions: number;
  meanReward: number;
  /** Share of groups (tasks) whose episodes all earned the same reward: no GRPO signal there. */
  zeroVarianceGroups: number;
}

/** Each episode's reward: 1 when the task's final check passes after its last action, else 0. */
export async function scoreRollouts(
  store: ArtefactStore,
  runner: EpisodeRunner,
  input: { episodes: string; concurrency: number; out: string },
): Promise<RolloutScore> {
  const episodes = await getJsonl(store, input.episodes, (v) => Episode.parse(v));
  const passed = await mapLimit(episodes, input.concurrency, async (e) => e.passed ?? (await runner.replay(e.ref, [])).passed);
  const rewards = episodes.map((e, i) => ({ id: e.id, reward: passed[i] ? 1 : 0 }));
  await putJsonl(store, input.out, rewards);
  const groups = new Map<string, number[]>();
  for (const r of rewards) groups.set(groupOf(r.id), [...(groups.get(groupOf(r.id)) ?? []), r.reward]);
  const flat = [...groups.values()].filter((g) => g.every((r) => r === g[0])).length;
  return {
    out: input.out,
    episodes: episodes.length,
    actions: episodes.reduce((a, e) => a + e.steps.length, 0),
    meanReward: rewards.length ? rewards.reduce((a, r) => a + r.reward, 0) / rewards.length : 0,
    zeroVarianceGroups: groups.size ? flat / groups.size : 0,
  };
}

/**
 * GRPO items over every action of every episode: the episode's advantage (its reward normalised within its task's
 * group) on each of its turns, with the prompt it was sampled from and its sampling log-probabilities.
 */
export async function episodeGrpoItems(
  store: ArtefactStore,
  input: { rounds: { prompts: string; samples: string }[]; rewards: string },
  leaveOneOut: boolean,
): Promise<GrpoItem[]> {
  const rewards = await getJsonl(store, input.rewards, (v) => EpisodeReward.parse(v));
  const groups = new Map<string, ScoredRollout[]>();
  for (const r of rewards) groups.set(groupOf(r.id), [...(groups.get(groupOf(r.id)) ?? []), r]);
  const actions: SampledAction[] = [];
  for (const round of input.rounds) {
    const prompts = new Map((await getJsonl(store, round.prompts, (v) => PromptRow.parse(v))).map((p) => [p.id, p.prompt]));
    for (const s of await getJsonl(store, round.samples, (v) => Sample.parse(v))) {
      const prompt = prompts.get(s.turnId);
      const completion = generatedText({ text: s.text, stop: s.stop ?? null });
      if (prompt === undefined || completion === '') continue;
      actions.push({ rollout: s.turnId, prompt, completion, logprobs: s.logprobs });
    }
  }
  return grpoItems([...groups.values()], actions, { leaveOneOut });
}
