import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pi0Plan, type ExperimentRun } from '../../workflows/pi0';
import { mockConfig } from '../support/mock-campaign';

const base = mockConfig({ steps: 2, queue: 'q', address: 'x' });
const run = (method: string, seed: number, change: (c: typeof base) => typeof base = (c) => c): ExperimentRun => ({
  method,
  seed,
  config: change({ ...base, seed }),
});

test("runs that differ only in the learning curve's schedule share pi0's work; other evaluation settings do not", () => {
  const pivotrl = run('pivotrl', 1, (c) => ({ ...c, evaluate: { ...c.evaluate, every: 1, curveEpisodes: false } }));
  const sft = run('sft', 1, (c) => ({ ...c, method: 'sft' }));
  const moreTasks = run('e2e-rl', 1, (c) => ({ ...c, method: 'e2e-rl', evaluate: { ...c.evaluate, heldoutTasks: 3 } }));
  const plan = pi0Plan([pivotrl, sft, moreTasks]);
  assert.equal(plan.profileOf(pivotrl), 'pivotrl');
  assert.equal(plan.profileOf(sft), '', 'shares ingest and the pi0 evaluation, trains on no profile');
  assert.equal(plan.profileOf(moreTasks), undefined, 'another evaluation: does its own pi0 work');
});
