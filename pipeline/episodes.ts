// Evaluation: full multi-turn episodes on held-out tasks, the policy acting in a sandbox, success judged by
// the task's own final check; and the out-of-domain suite, scored by exact match. Episodes advance one
// action per round: the generation stage proposes, this module executes (replaying the episode so far).
import { z } from 'zod';
import { throwIfAborted } from '../core/abort';
import { mapLimit } from '../core/concurrency';
import { HeldoutTask, OodItem, Sample } from '../core/schemas';
import { getJsonl, putJsonl, type ArtefactStore } from '../store';
import { DONE_ACTION } from '../tasks/actions';
import type { EpisodeRunner } from '../tasks/episode-runner';
import { oodCorrect } from '../tasks/ood';
import { Episode, promptRowOf, type PromptRow } from './records';

export interface EpisodeRound {
  episodes: string;
  prompts: string;
  active: number;
}

const promptsFor = (episodes: Episode[]): PromptRow[] => episodes.filter((e) => !e.done).map((e) => promptRowOf(e.id, e.ref, e.steps));

export async function startEpisodes(
  store: ArtefactStore,
  heldoutKey: string,
  limit: number,
  out: { episodes: string; prompts: string },
): Promise<EpisodeRound> {
  const tasks = (await getJsonl(store, heldoutKey, (v) => HeldoutTask.parse(v))).slice(0, limit);
  const episodes: Episode[] = tasks.map((ref) => ({ id: ref.task.id, ref, steps: [], done: false, passed: null }));
  await putJsonl(store, out.episodes, episodes);
  await putJsonl(store, out.prompts, promptsFor(episodes));
  return { episodes: out.episodes, prompts: out.prompts, active: episodes.length };
}

export async function stepEpisodes(
  store: ArtefactStore,
  runner: EpisodeRunner,
  input: { episodes: string; samples: string; concurrency: number },
  out: { episodes: string; prompts: string },
  onProgress?: (done: number) => void,
  signal?: AbortSignal,
): Promise<EpisodeRound> {
  const episodes = await getJsonl(store, input.episodes, (v) => Episode.parse(v));
  const samples = await getJsonl(store, input.samples, (v) => Sample.parse(v));
  const actionOf = new Map(samples.filter((s) => s.index === 0).map((s) => [s.turnId, s.text.trim()]));
  let finished = 0;
  const next = await mapLimit(
    episodes,
    input.concurrency,
    async (e): Promise<Episode> => {
      const action = actionOf.get(e.id);
      if (e.done || action === undefined) return e;
      if (action === DONE_ACTION || action === '') return { ...e, done: true };
      const actions = [...e.steps.map((s) => s.action), action];
      const result = await runner.replay(e.ref, actions);
      const last = result.outputs[result.outputs.length - 1];
      const steps = [...e.steps, { action, output: last?.output ?? '' }];
      onProgress?.(++finished);
      return { ...e, steps, passed: result.passed, done: result.ended === true || steps.length >= e.ref.task.maxTurns };
    },
    signal,
  );
  throwIfAborted(signal);
  await putJsonl(store, out.episodes, next);
  await putJsonl(store, out.prompts, promptsFor(next));
  return { episodes: out.episodes, prompts: out.prompts, active: next.filter((e) => !e.done).length };
}

export interface EpisodeScore {
  episodes: number;
  successes: number;
  successRate: number;
  actions: number;
  byTemplate: Record<string, { episodes: number; successes: number }>;
}

export async function scoreEpisodes(
  store: ArtefactStore,
  runner: EpisodeRunner,
  episodesKey: string,
  concurrency: number,
  signal?: AbortSignal,
): Promise<EpisodeScore> {
  const episodes = await getJsonl(store, episodesKey, (v) => Episode.parse(v));
  const passed = await mapLimit(episodes, concurrency, async (e) => e.passed ?? (await runner.replay(e.ref, [])).passed, signal);
  const byTemplate: EpisodeScore['byTemplate'] = {};
  episodes.forEach((e, i) => {
    const t = (byTemplate[e.ref.task.template] ??= { episodes: 0, successes: 0 });
    t.episodes++;
    if (passed[i]) t.successes++;
  });
  const successes = passed.filter(Boolean).length;
  return {
    episodes: episodes.length,
    successes,
    successRate: episodes.length ? successes / episodes.length : 0,
    actions: episodes.reduce((a, e) => a + e.steps.length, 0),
    byTemplate,
  };
}

export interface OodScore {
  items: number;
  correct: number;
  accuracy: number;
  byKind: Record<string, number>;
}

/** One OOD item's greedy answer, judged: the per-item rows paired statistics are computed from. */
export const OodItemScore = z.object({ id: z.string(), kind: z.string(), correct: z.union([z.literal(0), z.literal(1)]) });
export type OodItemScore = z.infer<typeof OodItemScore>;

/**
 * Scores the greedy answers of the OOD items by exact match. With `out`, also writes one OodItemScore per item
 * there and returns its key as `oodItems`.
 */
export async function scoreOod(
  store: ArtefactStore,
  itemsKey: string,
  samplesKey: string,
  out?: string,
): Promise<OodScore & { oodItems?: string }> {
  const items = await getJsonl(store, itemsKey, (v) => OodItem.parse(v));
  const samples = await getJsonl(store, samplesKey, (v) => Sample.parse(v));
  const answer = new Map(samples.filter((s) => s.index === 0).map((s) => [s.turnId, s.text]));
  const rows: OodItemScore[] = items.map((item) => ({
    id: item.id,
    kind: item.kind,
    correct: oodCorrect(item, answer.get(item.id) ?? '') ? 1 : 0,
  }));
  const kinds: Record<string, { n: number; ok: number }> = {};
  for (const row of rows) {
    const k = (kinds[row.kind] ??= { n: 0, ok: 0 });
    k.n++;
    k.ok += row.correct;
  }
  const correct = rows.reduce((a, r) => a + r.correct, 0);
  const byKind = Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, v.ok / v.n]));
  const score = { items: items.length, correct, accuracy: items.length ? correct / items.length : 0, byKind };
  if (out === undefined) return score;
  await putJsonl(store, out, rows);
  return { ...score, oodItems: out };
}
