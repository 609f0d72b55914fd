// The generation limit of each domain (ACTION_TOKENS) against its suite: a turn whose every valid action is longer
// than the limit can never be got right (profiling would call it all-0 whatever the policy), and a prompt plus the
// limit must fit pi0's context or the prompt loses its start (the goal: sampling cuts prompts from the left).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ACTION_TOKENS, promptOf, turnsOf } from '../../tasks/domains';
import { SUITES, templateVariants, trainTrajectories } from '../../tasks/suites';
import { ACTION_STOP } from '../../tasks/actions';

const pi0 = JSON.parse(readFileSync('models/pi0/model.json', 'utf8')) as { modelTopology: { config: { ctx: number } } };
const CTX = pi0.modelTopology.config.ctx;

for (const suite of SUITES) {
  test(`${suite}: every training turn has a valid action within ACTION_TOKENS, and prompt + limit fits the context`, () => {
    const budget = ACTION_TOKENS[suite];
    const trajectories = trainTrajectories(suite, 1, 200);
    let turns = 0;
    trajectories.forEach((traj, i) => {
      const variants = templateVariants(suite, 1, i);
      turnsOf(traj).forEach((turn, t) => {
        turns++;
        const valid = variants?.[t] ?? [turn.expert];
        // An action is its text and the stop string; a prompt is the BOS token and its text.
        const shortest = Math.min(...valid.map((a) => a.length + ACTION_STOP.length));
        assert.ok(shortest <= budget, `${turn.id}: shortest valid action takes ${shortest} tokens > ${budget}: ${valid[0]}`);
        const prompt = promptOf(turn, turn.history);
        assert.ok(1 + prompt.length + budget <= CTX, `${turn.id}: 1 + prompt ${prompt.length} + ${budget} > ctx ${CTX}`);
      });
    });
    assert.ok(turns > 200);
  });
}
