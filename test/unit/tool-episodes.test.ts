// Evaluation episodes of the tool-use domain through the pipeline's episode rounds: the simulated backend runs
// in-process, and an episode ends with the reply to the user (not at maxTurns).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { HeldoutTask, Sample } from '../../core/schemas';
import { getJsonl, putJsonl, LocalStore } from '../../store';
import { scoreEpisodes, startEpisodes, stepEpisodes } from '../../pipeline/episodes';
import { toolEpisodeRunner } from '../../tasks/tool/episode';
import { generateToolSuite } from '../../tasks/tool/suite';
import { toolTurns } from '../../tasks/tool/render';
import { tempDir } from '../../harness/temp-dir';

test('tool episodes: the policy acts round by round, the reply ends the episode, the final check scores it', async () => {
  const root = tempDir('tool-episodes-');
  const store = new LocalStore(root);
  try {
    const suite = generateToolSuite({ seed: 21, trainTasks: 8, heldoutTasks: 0 });
    const refs: HeldoutTask[] = suite.train.map((t) => ({ domain: 'tool', task: t.task }));
    // The "policy": the expert on every task but the first, which replies at once with a wrong answer.
    const plans = new Map(suite.train.map((t, i) => [t.task.id, i === 0 ? ['say I cannot help.'] : toolTurns(t).map((x) => x.expert)]));
    await putJsonl(store, 'heldout.jsonl', refs);
    let round = await startEpisodes(store, 'heldout.jsonl', refs.length, { episodes: 'ep-0.jsonl', prompts: 'pr-0.jsonl' });
    for (let r = 0; round.active > 0; r++) {
      assert.ok(r < 10, 'episodes end');
      const prompts = await getJsonl(store, round.prompts, (v) => v as { id: string; prompt: string });
      const episodes = await getJsonl(store, round.episodes, (v) => v as { id: string; steps: unknown[] });
      const samples: Sample[] = prompts.map((p) => {
        const taken = episodes.find((e) => e.id === p.id)!.steps.length;
        return { turnId: p.id, index: 0, text: plans.get(p.id)![taken], logprobs: [] };
      });
      await putJsonl(store, `s-${r}.jsonl`, samples);
      round = await stepEpisodes(
        store,
        toolEpisodeRunner,
        { episodes: round.episodes, samples: `s-${r}.jsonl`, concurrency: 2 },
        { episodes: `ep-${r + 1}.jsonl`, prompts: `pr-${r + 1}.jsonl` },
      );
    }
    const score = await scoreEpisodes(store, toolEpisodeRunner, round.episodes, 2);
    assert.equal(score.episodes, 8);
    assert.equal(score.successes, 7);
    // Every episode stopped at its reply: as many actions as the plans hold.
    assert.equal(
      score.actions,
      [...plans.values()].reduce((a, p) => a + p.length, 0),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
