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

const run = async (
  queue: string,
  workflow: typeof pivotCampaign,
  change: (c: CampaignConfig) => CampaignConfig,
  calls: string[],
  valLoss?: (checkpoint: string) => number,
) => {
  const config = change(mockConfig({ steps: 2, queue, address: temporal.address }));
  return withMockWorkers(temporal.env.nativeConnection, queue, mocks(calls, { valLoss }), () =>
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

test('SFT with train.sft: split, pi0 val loss, lr probes on shared batches, val loss every evalEvery steps, early stop keeps the best', async () => {
  const calls: string[] = [];
  // Validation loss by checkpoint: the lr-1 probe (1e-3) beats lr-0 (3e-4); training improves until step 2, then not.
  const losses: Record<string, number> = { 'ck/0': 2, 'probe-lr00': 1.5, 'probe-lr01': 1.2, 'step-000002': 1.0, 'step-000004': 1.1 };
  const valLoss = (checkpoint: string) =>
    Object.entries(losses).find(([k]) => checkpoint.includes(k))?.[1] ?? (checkpoint.includes('step-000006') ? 1.3 : 9);
  const result = await run(
    'sft-best',
    sftCampaign,
    (c) => ({
      ...c,
      method: 'sft',
      train: { ...c.train, steps: 10, sft: { valFraction: 0.1, evalEvery: 2, patience: 2, lrs: [3e-4, 1e-3], probeSteps: 2 } },
    }),
    calls,
    valLoss,
  );
  const step = ['cpu:drawBatch', 'gpu:sftUpdate'];
  const probe = ['gpu:sftUpdate', 'gpu:sftUpdate', 'gpu:sftValLoss'];
  assert.deepEqual(calls, [
    'cpu:ingest',
    ...evalCalls,
    'cpu:selectTurns',
    'cpu:splitSftTurns',
    'gpu:sftValLoss',
    'cpu:drawBatch',
    'cpu:drawBatch',
    ...probe,
    ...probe,
    ...[1, 2, 3, 4, 5, 6].flatMap((s) => (s % 2 === 0 ? [...step, 'gpu:sftValLoss'] : step)),
    ...evalCalls,
  ]);
  const sft = result.sft!;
  assert.deepEqual(sft.lrSweep, [
    { lr: 3e-4, valLoss: 1.5 },
    { lr: 1e-3, valLoss: 1.2 },
  ]);
  assert.equal(sft.lr, 1e-3);
  assert.equal(result.hyper.lr, 1e-3);
  assert.deepEqual(sft.valCurve, [
    { step: 0, valLoss: 2 },
    { step: 2, valLoss: 1 },
    { step: 4, valLoss: 1.1 },
    { step: 6, valLoss: 1.3 },
  ]);
  assert.equal(sft.stoppedAt, 6);
  assert.equal(sft.bestStep, 2);
  assert.equal(result.step, 6);
  assert.equal(result.finalCheckpoint?.endsWith('step-000002'), true, 'the best-validation checkpoint is the final one');
  assert.equal(result.finalHash, 'h2');
  assert.deepEqual(
    sft.losses.map((l) => l.step),
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual(
    result.history.map((h) => [h.step, h.loss, h.valLoss]),
    [
      [1, 0.1, undefined],
      [2, 0.1, 1],
      [3, 0.1, undefined],
      [4, 0.1, 1.1],
      [5, 0.1, undefined],
      [6, 0.1, 1.3],
    ],
  );
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
