// Held-out per-turn evaluation: the expert states of held-out tasks, a stratified choice of them that is the same for
// every method and seed, and the functional rewards of the policy's greedy and sampled actions there, per item and
// summarised by template and turn position.
import { z } from 'zod';
import { seedOf } from '../core/rng';
import { Domain, HeldoutTask, Turn, Verdict } from '../core/schemas';
import { RecordError } from '../formats/record-error';
import { turnsOfRecord } from '../formats/records';
import { getJsonl, putJsonl, type ArtefactStore } from '../store';
import { BadInputError } from './jsonl-reader';
import { putTurnsWithPrompts } from './records';

const Reward = z.union([z.literal(0), z.literal(1)]);

/** One held-out state's result: the reward of the greedy action and of each of the K sampled ones. */
export const TurnEvalItem = z.object({
  /** "<taskId>#<turnIndex>": the same state in every method's and seed's evaluation. */
  id: z.string(),
  domain: Domain,
  template: z.string(),
  /** The turn's index in its expert trajectory. */
  position: z.number().int().nonnegative(),
  greedy: Reward,
  sampled: z.array(Reward),
});
export type TurnEvalItem = z.infer<typeof TurnEvalItem>;

/** States and mean rewards (0..1) of a group of items. */
const Rates = z.object({ n: z.number().int().nonnegative(), greedy: z.number(), sampled: z.number() });
export type Rates = z.infer<typeof Rates>;

/** An evaluation's per-turn result, as the workflow carries it (`Evaluation.perTurn`). */
export const PerTurnSummary = z.object({
  states: z.number().int().nonnegative(),
  k: z.number().int().positive(),
  greedy: z.number(),
  sampled: z.number(),
  /** Store key of the TurnEvalItem rows (JSON Lines). */
  items: z.string(),
  byTemplate: z.record(z.string(), Rates),
  byPosition: z.record(z.string(), Rates),
  /** Verdicts masked by infrastructure failures, counted as reward 0. */
  masked: z.number().int().nonnegative().optional(),
});
export type PerTurnSummary = z.infer<typeof PerTurnSummary>;

/** The candidate turns of the held-out tasks' expert transcripts, split exactly as ingest splits training trajectories. */
export function heldoutExpertTurns(tasks: HeldoutTask[], where: string): Turn[] {
  const seen = new Set<string>();
  return tasks.flatMap((ref) => {
    const id = ref.task.id;
    if (seen.has(id)) throw new BadInputError(`${where}: held-out task id ${id} appears twice (state ids must be unique)`);
    seen.add(id);
    if (!ref.messages) {
      throw new BadInputError(
        `${where}: held-out task ${id} has no expert transcript (messages), so it has no expert states: regenerate the file with \`pivotrl generate\``,
      );
    }
    try {
      return turnsOfRecord('chat', { id, domain: ref.domain, task: ref.task, messages: ref.messages }, id);
    } catch (err) {
      if (err instanceof RecordError) throw new BadInputError(`${where}: held-out task ${id}: ${err.field}: ${err.reason}`);
      throw err;
    }
  });
}

const byKey =
  <T>(key: (x: T) => string | number) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/**
 * Up to `count` states, round-robin over the (template, position) buckets so that every template and turn position
 * is present when there is room. Depends only on the turns' ids (not on their order or any campaign seed): every
 * method and seed gets the same states.
 */
export function chooseHeldoutStates(turns: Turn[], count: number): Turn[] {
  const buckets = new Map<string, Turn[]>();
  for (const turn of turns) {
    const key = JSON.stringify([turn.task.template, turn.index]);
    buckets.set(key, [...(buckets.get(key) ?? []), turn]);
  }
  const rank = (t: Turn) => seedOf('heldout-state', t.id);
  const queues = [...buckets.values()]
    .sort((a, b) => byKey<Turn>((t) => t.task.template)(a[0], b[0]) || a[0].index - b[0].index)
    .map((bucket) => bucket.sort((a, b) => rank(a) - rank(b) || byKey<Turn>((t) => t.id)(a, b)));
  const chosen: Turn[] = [];
  for (let round = 0; chosen.length < count && queues.some((q) => q.length > round); round++) {
    for (const queue of queues) if (round < queue.length && chosen.length < count) chosen.push(queue[round]);
  }
  return chosen;
}

/** Reads the held-out tasks, chooses `count` expert states and writes them as Turn rows and their prompts. */
export async function selectHeldoutStates(
  store: ArtefactStore,
  heldoutKey: string,
  count: number,
  out: { turns: string; prompts: string },
): Promise<{ turns: string; prompts: string; states: number }> {
  const tasks = await getJsonl(store, heldoutKey, (v) => HeldoutTask.parse(v));
  const chosen = chooseHeldoutStates(heldoutExpertTurns(tasks, heldoutKey), count);
  await putTurnsWithPrompts(store, chosen, out);
  return { turns: out.turns, prompts: out.prompts, states: chosen.length };
}

/** Rewards per state and sample index (a masked verdict, reward null, counts as 0). */
function rewardsByTurn(verdicts: Verdict[]): Map<string, (0 | 1)[]> {
  const byTurn = new Map<string, (0 | 1)[]>();
  for (const v of verdicts) {
    const rewards = byTurn.get(v.turnId) ?? [];
    rewards[v.index] = v.reward ?? 0;
    byTurn.set(v.turnId, rewards);
  }
  return byTurn;
}

/** One item per state from the verdicts of its greedy action and its K sampled ones. */
export function turnEvalItems(turns: Turn[], greedy: Verdict[], sampled: Verdict[], k: number): TurnEvalItem[] {
  const greedyOf = rewardsByTurn(greedy);
  const sampledOf = rewardsByTurn(sampled);
  return turns.map((turn) => {
    const g = greedyOf.get(turn.id)?.[0];
    const s = sampledOf.get(turn.id) ?? [];
    const complete = s.length === k && s.filter((r) => r !== undefined).length === k; // filter skips holes
    if (g === undefined || !complete) {
      throw new Error(
        `held-out state ${turn.id}: expected 1 greedy and ${k} sampled verdicts, got ${g === undefined ? 0 : 1} and ${s.length}`,
      );
    }
    return { id: turn.id, domain: turn.domain, template: turn.task.template, position: turn.index, greedy: g, sampled: s };
  });
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : 0);

function ratesOf(items: TurnEvalItem[]): Rates {
  return { n: items.length, greedy: mean(items.map((i) => i.greedy)), sampled: mean(items.map((i) => mean(i.sampled))) };
}

function ratesBy(items: TurnEvalItem[], key: (i: TurnEvalItem) => string): Record<string, Rates> {
  const groups = new Map<string, TurnEvalItem[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return Object.fromEntries([...groups.entries()].sort(byKey(([k]) => k)).map(([k, group]) => [k, ratesOf(group)]));
}

/** The summary of an evaluation's items: overall, per template and per turn position (sampled = mean of the K). */
export function summariseTurnEval(items: TurnEvalItem[], k: number, itemsKey: string, masked = 0): PerTurnSummary {
  const { greedy, sampled } = ratesOf(items);
  return {
    states: items.length,
    k,
    greedy,
    sampled,
    items: itemsKey,
    byTemplate: ratesBy(items, (i) => i.template),
    byPosition: ratesBy(items, (i) => String(i.position)),
    masked,
  };
}

/** Scores the chosen states from their verified greedy and sampled actions: writes the items, returns the summary. */
export async function scoreHeldoutStates(
  store: ArtefactStore,
  input: { turns: string; greedy: string; sampled: string; k: number; out: string },
): Promise<PerTurnSummary> {
  const turns = await getJsonl(store, input.turns, (v) => Turn.parse(v));
  const greedy = await getJsonl(store, input.greedy, (v) => Verdict.parse(v));
  const sampled = await getJsonl(store, input.sampled, (v) => Verdict.parse(v));
  const items = turnEvalItems(turns, greedy, sampled, input.k);
  await putJsonl(store, input.out, items);
  const masked = [...greedy, ...sampled].filter((v) => v.reward === null).length;
  return summariseTurnEval(items, input.k, input.out, masked);
}
