// The generation limit of each domain (ACTION_TOKENS) against its suite: every expert action of every template
// variant must fit the limit with its stop string (one that does not can never be generated), and BOS + a turn's
// prompt + each of its actions must fit pi0's context (the sampler keeps the prompt's start and generates what the
// context leaves, at most the limit; policy/sample.ts). No config may pin another limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { ACTION_TOKENS, promptOf, turnsOf } from '../../tasks/domains';
import { SUITES, templateVariants, trainTrajectories } from '../../tasks/suites';
import { ACTION_STOP } from '../../tasks/actions';

const pi0 = JSON.parse(readFileSync('models/pi0/model.json', 'utf8')) as { modelTopology: { config: { ctx: number } } };
const CTX = pi0.modelTopology.config.ctx;
/** Enough tasks that every template is drawn many times, under two suite seeds. */
const TASKS = 400;
const SEEDS = [1, 7];

for (const suite of SUITES) {
  test(`${suite}: every expert action of every template variant fits ACTION_TOKENS with its stop, and BOS + prompt + action fits the context`, () => {
    const budget = ACTION_TOKENS[suite];
    let actions = 0;
    let longest = 0;
    for (const seed of SEEDS)
      trainTrajectories(suite, seed, TASKS).forEach((traj, i) => {
        const variants = templateVariants(suite, seed, i);
        turnsOf(traj).forEach((turn, t) => {
          // An action is its text and the stop string; a prompt is the BOS token and its text.
          const prompt = promptOf(turn, turn.history);
          for (const action of new Set([turn.expert, ...(variants?.[t] ?? [])])) {
            actions++;
            const tokens = action.length + ACTION_STOP.length;
            longest = Math.max(longest, tokens);
            assert.ok(tokens <= budget, `${turn.id} (seed ${seed}): action takes ${tokens} tokens > ${budget}: ${action}`);
            const used = 1 + prompt.length + tokens;
            assert.ok(used <= CTX, `${turn.id}: 1 + prompt ${prompt.length} + action ${tokens} > ctx ${CTX}: ${action}`);
          }
        });
      });
    assert.ok(actions > 2 * TASKS, `${actions} actions checked`);
    assert.equal(longest, budget, `the limit is the longest action (${longest} tokens)`);
  });
}

test('no shipped config pins a generation limit: every config follows the per-domain ACTION_TOKENS', () => {
  for (const file of readdirSync('configs').filter((f) => f.endsWith('.json'))) {
    const text = readFileSync(`configs/${file}`, 'utf8');
    assert.ok(!text.includes('maxActionTokens'), `configs/${file} sets maxActionTokens`);
  }
});
