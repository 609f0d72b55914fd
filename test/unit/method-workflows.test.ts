// The SFT and end-to-end RL workflows, the random-turns ablation and periodic evaluation, on a real dev server
// with the activities mocked (unit level): the commands each issues, its rollout-turn counts and learning curve.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CampaignConfig } from '../../core/config';
import { pivotCampaign } from '../../workflows/campaign';
import { sftCampaign } from '../../workflows/sft';
import { e2eRlCampaign } from '../../workflows/e2e-rl';
import { workflowFor } from '../../workflows/methods';
import { startTestTemporal, type TestTemporal } from '../../harness/temporal';
import { mockConfig, mockMethodActivities as mocks, withMockWorkers } from '../support/mock-campaign';

let temporal: TestTemporal;
before(async () => {
  temporal = await startTestTemporal();
});
after(async () => {
  await temporal?.stop();
});

const run = async (queue: string, workflow: typeof pivotCampaign, change: (c: CampaignConfig) => CampaignConfig, calls: string[]) => {
  const config = change(mockConfig({ steps: 2, queue, address: temporal.address }));
  return withMockWorkers(temporal.env.nativeConnection, queue, mocks(calls), () =>
    temporal.env.client.workflow.execute(workflow, {
      taskQueue: `${queue}-cpu`,
      workflowId: `wf-${queue}`,
      args: [{ campaignId: queue, config }],
    }),
  );
};

const evalCalls = ['cpu:startEpisodes', 'gpu:generate', 'cpu:stepEpisodes', 'cpu:scoreEpisodes', 'gpu:generate', 'cpu:scoreOod'];

test('SFT: ingest, pi0 evaluated, every turn selected, one SFT step per step on expert turns, no rollouts', async () => {
  const calls: string[] = [];
  const result = await run('sft', sftCampaign, (c) => ({ ...c, method: 'sft' }), calls);
  const step = ['cpu:drawBatch', 'gpu:sftUpdate'];
  assert.deepEqual(calls, ['cpu:ingest', ...evalCalls, 'cpu:selectTurns', ...step, ...step, ...evalCalls]);
  assert.equal(result.stage, 'done');
  assert.equal(result.method, 'sft');
  assert.deepEqual(result.rolloutTurns, { profiling: 0, training: 0, evaluation: 8 });
  assert.equal(result.finalCheckpoint?.endsWith('step-000002'), true);
});

test('E2E RL: B x G episodes per step in rounds, final-check rewards, one GRPO update over their turns', async () => {
  const calls: string[] = [];
  const result = await run('e2e', e2eRlCampaign, (c) => ({ ...c, method: 'e2e-rl' }), calls);
  const step = ['cpu:startTrainingEpisodes', 'gpu:generate', 'cpu:stepEpisodes', 'cpu:scoreRollouts', 'gpu:episodeUpdate'];
  assert.deepEqual(calls, ['cpu:ingest', ...evalCalls, ...step, ...step, ...evalCalls]);
  // The mock generate returns 4 samples per prompt set and call: one round per step here.
  assert.deepEqual(result.rolloutTurns, { profiling: 0, training: 8, evaluation: 8 });
  assert.deepEqual(
    result.history.map((h) => [h.step, h.batchReward, h.zeroVarianceGroups]),
    [
      [1, 0.25, 0.5],
      [2, 0.25, 0.5],
    ],
  );
});

test('random turns: no profiling; periodic evaluation adds learning-curve points with the turns spent', async () => {
  const calls: string[] = [];
  const result = await run(
    'random',
    pivotCampaign,
    (c) => ({
      ...c,
      profile: { ...c.profile, selection: 'random' },
      train: { ...c.train, steps: 3 },
      evaluate: { ...c.evaluate, every: 1 },
    }),
    calls,
  );
  const step = ['cpu:drawBatch', 'gpu:generate', 'cpu:verify', 'gpu:update'];
  assert.deepEqual(calls, [
    'cpu:ingest',
    ...evalCalls,
    'cpu:selectTurns',
    ...step,
    ...evalCalls,
    ...step,
    ...evalCalls,
    ...step,
    ...evalCalls,
  ]);
  assert.equal(result.rolloutTurns.profiling, 0);
  assert.deepEqual(
    result.curve?.map((p) => [p.step, p.rolloutTurns.training, p.inDomain]),
    [
      [1, 16, 0.5],
      [2, 32, 0.5],
    ],
  );
});

test('the workflow of each method', () => {
  const c = mockConfig({ steps: 1, queue: 'x', address: 'x' });
  assert.equal(workflowFor(c), pivotCampaign);
  assert.equal(workflowFor({ ...c, method: 'sft' }), sftCampaign);
  assert.equal(workflowFor({ ...c, method: 'e2e-rl' }), e2eRlCampaign);
});
