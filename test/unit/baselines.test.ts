// The baselines' stage libraries on a real local store, with a scripted episode runner (no Docker): training
// episodes per task, final-check rewards, the GRPO items over every turn, SFT targets, every turn as training set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalStore, getJsonl, putJsonl } from '../../store';
import { generateTerminalSuite } from '../../tasks/terminal/suite';
import { turnsOf } from '../../tasks/domains';
import { Episode } from '../../pipeline/records';
import { episodeGrpoItems, groupOf, scoreRollouts, selectAllTurns, sftExamples, startTrainingEpisodes } from '../../pipeline/baselines';
import type { EpisodeRunner } from '../../tasks/episode-runner';
import { tempDir } from '../../harness/temp-dir';

function setup() {
  const store = new LocalStore(tempDir('pivotrl-baselines-'));
  const suite = generateTerminalSuite({ seed: 5, trainTasks: 3, heldoutTasks: 1 });
  const turns = suite.train.flatMap(turnsOf);
  return { store, suite, turns };
}

test('every candidate turn becomes the training set; SFT targets are the expert actions with their stop', async () => {
  const { store, turns } = setup();
  await putJsonl(store, 's0.jsonl', turns.slice(0, 2));
  await putJsonl(store, 's1.jsonl', turns.slice(2));
  const sel = await selectAllTurns(store, ['s0.jsonl', 's1.jsonl'], 'all.jsonl');
  assert.equal(sel.summary.candidates, turns.length);
  assert.equal(sel.summary.unverified, turns.length, 'none profiled');
  const examples = await sftExamples(store, 'all.jsonl');
  assert.deepEqual(
    examples.map((e) => e.completion),
    turns.map((t) => `${t.expert}\n`),
  );
});

test('E2E RL: G episodes per drawn task; rewards from the final check; advantages per task group on every turn', async () => {
  const { store, suite, turns } = setup();
  await putJsonl(store, 's0.jsonl', turns);
  const round = await startTrainingEpisodes(store, ['s0.jsonl'], { tasks: 2, group: 3, seed: 9 }, { episodes: 'e0', prompts: 'p0' });
  assert.equal(round.active, 6);
  const episodes = await getJsonl(store, 'e0', (v) => Episode.parse(v));
  const groups = [...new Set(episodes.map((e) => groupOf(e.id)))];
  assert.equal(groups.length, 2);
  assert.ok(suite.train.some((t) => t.task.id === episodes[0].ref.task.id));

  // Scripted outcome: in group A episode 0 passed after its action, the others ran one action and failed;
  // every episode of group B failed (no signal there). One episode never acted: the runner checks its initial state.
  const [a, b] = groups;
  const finished = episodes.map((e, i) => ({
    ...e,
    done: true,
    steps: i === 5 ? [] : [{ action: `act${i}`, output: '' }],
    passed: i === 5 ? null : groupOf(e.id) === a && e.id.endsWith('~0'),
  }));
  await putJsonl(store, 'e1', finished);
  const replays: string[] = [];
  const runner: EpisodeRunner = {
    replay: async (ref, actions) => (replays.push(ref.task.id), { outputs: [], passed: actions.length > 0 }),
  };
  const score = await scoreRollouts(store, runner, { episodes: 'e1', concurrency: 2, out: 'rewards' });
  assert.equal(replays.length, 1, 'only the episode without a result is checked again');
  assert.ok(Math.abs(score.meanReward - 1 / 6) < 1e-12);
  assert.equal(score.zeroVarianceGroups, 0.5);

  // Round 0 prompts and one sample per episode with its logprobs.
  const prompts = await getJsonl(store, 'p0', (v) => v as { id: string; prompt: string });
  await putJsonl(
    store,
    's-t0',
    episodes.map((e, i) => ({ turnId: e.id, index: 0, text: `act${i}`, stop: '\n', logprobs: [-0.1, -0.2] })),
  );
  const items = await episodeGrpoItems(store, { rounds: [{ prompts: 'p0', samples: 's-t0' }], rewards: 'rewards' }, false);
  assert.equal(items.length, 6);
  const adv = new Map(episodes.map((e, i) => [e.id, items[i].advantage]));
  assert.ok(adv.get(`${a}~0`)! > 0 && adv.get(`${a}~1`)! < 0, 'the passing episode is pushed up, the failing ones down');
  for (const e of episodes.filter((x) => groupOf(x.id) === b)) assert.equal(adv.get(e.id), 0, 'no signal in an all-equal group');
  assert.equal(items[0].prompt, prompts[0].prompt);
  assert.equal(items[0].completion, 'act0\n');
});
