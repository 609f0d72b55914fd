// Held-out per-turn evaluation without sandboxes: the expert states of held-out tasks, their stratified choice, and
// the items and summary computed from verdicts (pipeline/turn-eval.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/rng';
import { HeldoutTask, type Turn, type Verdict } from '../../core/schemas';
import { LocalStore, getJsonl, putJsonl } from '../../store';
import { generateTerminalSuite } from '../../tasks/terminal/suite';
import { generateSweSuite } from '../../tasks/swe/suite';
import { generateToolSuite } from '../../tasks/tool/suite';
import { ACTION_TOKENS, turnsOf } from '../../tasks/domains';
import { PromptRow } from '../../pipeline/records';
import {
  TurnEvalItem,
  chooseHeldoutStates,
  heldoutExpertTurns,
  scoreHeldoutStates,
  selectHeldoutStates,
  summariseTurnEval,
  turnEvalItems,
} from '../../pipeline/turn-eval';
import { tempDir } from '../../harness/temp-dir';

const terminalHeldout = (n: number, seed = 5) => generateTerminalSuite({ seed, trainTasks: 0, heldoutTasks: n }).heldout;
const bucketOf = (t: Turn) => `${t.task.template}#${t.index}`;
const countBy = <T>(xs: T[], key: (x: T) => string) => {
  const counts = new Map<string, number>();
  for (const x of xs) counts.set(key(x), (counts.get(key(x)) ?? 0) + 1);
  return counts;
};

test('held-out tasks of every suite carry their expert transcript, split into turns as ingest splits training', () => {
  const heldout = [
    ...terminalHeldout(8),
    ...generateSweSuite({ seed: 5, trainTasks: 0, heldoutTasks: 4 }).heldout,
    ...generateToolSuite({ seed: 5, trainTasks: 0, heldoutTasks: 6 }).heldout,
  ].map((h) => HeldoutTask.parse(JSON.parse(JSON.stringify(h)))); // as read back from the file
  const turns = heldoutExpertTurns(heldout, 'heldout.jsonl');
  for (const ref of heldout) {
    const expected = turnsOf({ id: ref.task.id, ...ref, messages: ref.messages! } as Parameters<typeof turnsOf>[0]);
    const mine = turns.filter((t) => t.trajectoryId === ref.task.id);
    assert.ok(mine.length >= 1, `${ref.task.id}: no expert turns`);
    assert.deepEqual(mine, expected);
    mine.forEach((t, i) => assert.equal(t.id, `${ref.task.id}#${i}`));
  }
  assert.deepEqual(new Set(turns.map((t) => t.domain)), new Set(['terminal', 'swe', 'tool']));
});

test('a held-out task without a transcript, or an id given twice, is refused naming the file and the task', () => {
  const [a, b] = terminalHeldout(2);
  const { messages: _dropped, ...bare } = a;
  assert.throws(
    () => heldoutExpertTurns([bare], 'data/heldout.jsonl'),
    /data\/heldout\.jsonl: held-out task terminal-5-heldout-0 has no expert transcript/,
  );
  assert.throws(
    () => heldoutExpertTurns([b, b], 'data/heldout.jsonl'),
    /data\/heldout\.jsonl: held-out task id terminal-5-heldout-1 appears twice/,
  );
});

test('states are spread over every template and turn position, evenly, and depend only on the task ids', () => {
  const turns = heldoutExpertTurns(terminalHeldout(48), 'h');
  const buckets = countBy(turns, bucketOf);
  assert.ok(buckets.size >= 10, `${buckets.size} buckets`);

  // One round: exactly one state per (template, position).
  const one = chooseHeldoutStates(turns, buckets.size);
  assert.deepEqual(new Set(one.map(bucketOf)), new Set(buckets.keys()));

  // More rounds: a bucket gets another state only when every bucket that still has one got as many.
  const count = Math.floor(turns.length * 0.6);
  const chosen = chooseHeldoutStates(turns, count);
  assert.equal(chosen.length, count);
  assert.equal(new Set(chosen.map((t) => t.id)).size, count, 'no state twice');
  const perBucket = countBy(chosen, bucketOf);
  const least = Math.min(...perBucket.values());
  for (const [bucket, n] of perBucket) {
    assert.ok(n <= least + 1 || n === buckets.get(bucket), `${bucket}: ${n} states while another has ${least}`);
  }
  assert.deepEqual(new Set(perBucket.keys()), new Set(buckets.keys()));

  // Same ids in another order (another file order, another campaign): the same states.
  const shuffled = new Rng(99).shuffle(turns);
  assert.deepEqual(
    chooseHeldoutStates(shuffled, count).map((t) => t.id),
    chosen.map((t) => t.id),
  );
  // Asking for more than there are gives every state once.
  assert.equal(chooseHeldoutStates(turns, turns.length + 50).length, turns.length);
});

/** Verdicts: greedy reward per state, and K sampled rewards per state. */
const verdictsOf = (turns: Turn[], rewards: (i: number, j: number) => 0 | 1 | null, n: number): Verdict[] =>
  turns.flatMap((t, i) =>
    Array.from({ length: n }, (_, j): Verdict => ({ turnId: t.id, index: j, reward: rewards(i, j), reason: 'equivalent', detail: '' })),
  );

test('items and summary follow from the verdicts: greedy 0/1, K sampled, rates per template and position', () => {
  const turns = chooseHeldoutStates(heldoutExpertTurns(terminalHeldout(16), 'h'), 20);
  const k = 4;
  const greedy = verdictsOf(turns, (i) => (i % 2 === 0 ? 1 : 0), 1);
  // State i gets i mod 5 of its K samples right (4 -> all), sample 3 of state 0 masked.
  const sampled = verdictsOf(turns, (i, j) => (i === 0 && j === 3 ? null : j < i % 5 ? 1 : 0), k);
  const items = turnEvalItems(turns, greedy, sampled, k);
  items.forEach((item) => TurnEvalItem.parse(item));
  assert.equal(items.length, turns.length);
  assert.deepEqual(items[0], {
    id: turns[0].id,
    domain: 'terminal',
    template: turns[0].task.template,
    position: turns[0].index,
    greedy: 1,
    sampled: [0, 0, 0, 0],
  });
  assert.deepEqual(items[3].sampled, [1, 1, 1, 0]);

  const summary = summariseTurnEval(items, k, 'items.jsonl', 1);
  assert.equal(summary.states, 20);
  assert.equal(summary.k, 4);
  assert.equal(summary.greedy, 0.5);
  const expectSampled = turns.reduce((a, _, i) => a + Math.min(i % 5, 4) / 4, 0) / turns.length;
  assert.ok(Math.abs(summary.sampled - expectSampled) < 1e-12);
  assert.equal(summary.masked, 1);
  // Per group: n adds up, and each group's rate is its items' mean.
  for (const [groups, key] of [
    [summary.byTemplate, (i: TurnEvalItem) => i.template],
    [summary.byPosition, (i: TurnEvalItem) => String(i.position)],
  ] as const) {
    assert.equal(
      Object.values(groups).reduce((a, g) => a + g.n, 0),
      items.length,
    );
    for (const [name, g] of Object.entries(groups)) {
      const mine = items.filter((i) => key(i) === name);
      assert.equal(g.n, mine.length);
      assert.equal(g.greedy, mine.reduce((a, i) => a + i.greedy, 0) / mine.length);
    }
  }
});

test('a state missing its greedy verdict or one of its K sampled verdicts is an error, not a silent 0', () => {
  const turns = chooseHeldoutStates(heldoutExpertTurns(terminalHeldout(4), 'h'), 3);
  const greedy = verdictsOf(turns, () => 1, 1);
  const sampled = verdictsOf(turns, () => 1, 4);
  assert.throws(() => turnEvalItems(turns, greedy.slice(1), sampled, 4), /expected 1 greedy and 4 sampled verdicts, got 0 and 4/);
  const gap = sampled.filter((v) => !(v.turnId === turns[2].id && v.index === 1));
  assert.throws(() => turnEvalItems(turns, greedy, gap, 4), new RegExp(`${turns[2].id}: expected 1 greedy and 4 sampled`));
});

test('the stages write the chosen states with their prompts, and the items the summary is computed from', async () => {
  const store = new LocalStore(tempDir('turn-eval-'));
  await putJsonl(store, 'heldout.jsonl', terminalHeldout(12));
  const out = { turns: 'states.turns.jsonl', prompts: 'states.prompts.jsonl' };
  const selected = await selectHeldoutStates(store, 'heldout.jsonl', 10, out);
  assert.equal(selected.states, 10);
  const prompts = await getJsonl(store, out.prompts, (v) => PromptRow.parse(v));
  const turns = await getJsonl(store, out.turns, (v) => v as Turn);
  assert.deepEqual(
    prompts.map((p) => p.id),
    turns.map((t) => t.id),
  );
  assert.ok(prompts.every((p) => p.prompt.startsWith('G: ') && p.maxTokens === ACTION_TOKENS.terminal));

  await putJsonl(
    store,
    'g.jsonl',
    verdictsOf(turns, (i) => (i < 3 ? 1 : 0), 1),
  );
  await putJsonl(
    store,
    's.jsonl',
    verdictsOf(turns, (_, j) => (j === 0 ? 1 : 0), 4),
  );
  const summary = await scoreHeldoutStates(store, { turns: out.turns, greedy: 'g.jsonl', sampled: 's.jsonl', k: 4, out: 'items.jsonl' });
  assert.equal(summary.items, 'items.jsonl');
  assert.equal(summary.greedy, 0.3);
  assert.equal(summary.sampled, 0.25);
  const items = await getJsonl(store, 'items.jsonl', (v) => TurnEvalItem.parse(v));
  assert.deepEqual(summariseTurnEval(items, 4, 'items.jsonl', 0), summary);
});
