// The SFT and end-to-end RL workflows, the random-turns ablation and periodic evaluation, on a real dev server
// with the activities mocked (unit level): the commands each issues, its rollout-turn counts and learning curve;
// and the experiment's parent workflow over them (pi0's work shared, failures named, a restart reruns only those).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CampaignConfig } from '../../core/config';
import { pivotCampaign } from '../../workflows/campaign';
import { sftCampaign } from '../../workflows/sft';
import { e2eRlCampaign } from '../../workflows/e2e-rl';
import { workflowFor } from '../../workflows/methods';
import { experimentWorkflow } from '../../workflows/experiment';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
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

test('curveEpisodes false: the evaluations between steps skip the multi-turn episodes, the first and last play them', async () => {
  const calls: string[] = [];
  const result = await run(
    'curve-no-episodes',
    pivotCampaign,
    (c) => ({
      ...c,
      profile: { ...c.profile, selection: 'random' },
      train: { ...c.train, steps: 2 },
      evaluate: { ...c.evaluate, every: 1, curveEpisodes: false },
    }),
    calls,
  );
  const step = ['cpu:drawBatch', 'gpu:generate', 'cpu:verify', 'gpu:update'];
  const oodOnly = ['gpu:generate', 'cpu:scoreOod'];
  assert.deepEqual(calls, ['cpu:ingest', ...evalCalls, 'cpu:selectTurns', ...step, ...oodOnly, ...step, ...evalCalls]);
  assert.deepEqual(
    result.curve?.map((p) => [p.step, 'inDomain' in p, typeof p.ood]),
    [[1, false, 'number']],
  );
  assert.equal(typeof result.after?.inDomain.successRate, 'number');
});

test('the workflow of each method', () => {
  const c = mockConfig({ steps: 1, queue: 'x', address: 'x' });
  assert.equal(workflowFor(c), pivotCampaign);
  assert.equal(workflowFor({ ...c, method: 'sft' }), sftCampaign);
  assert.equal(workflowFor({ ...c, method: 'e2e-rl' }), e2eRlCampaign);
});

/** Seeds 1 and 2 of each method, a method being its change to the mock config. */
const experimentRuns = (queue: string, methods: Record<string, Partial<CampaignConfig>>) => {
  const base = mockConfig({ steps: 1, queue, address: temporal.address });
  return [1, 2].flatMap((seed) =>
    Object.entries(methods).map(([method, change]) => ({ method, seed, config: { ...base, ...change, seed } })),
  );
};

test('experiment: pi0 ingested and evaluated once, profiled once per profile config; the campaigns start at their updates', async () => {
  const calls: string[] = [];
  const runs = experimentRuns('exp', { sft: { method: 'sft' }, pivotrl: {}, strict: { verifier: 'strict' } });
  const result = await withMockWorkers(temporal.env.nativeConnection, 'exp', mocks(calls), () =>
    temporal.env.client.workflow.execute(experimentWorkflow, {
      taskQueue: 'exp-cpu',
      workflowId: 'wf-exp',
      args: [{ name: 'exp', parallel: 2, runs }],
    }),
  );
  const count = (name: string) => calls.filter((c) => c === name).length;
  assert.equal(count('cpu:ingest'), 1);
  assert.equal(count('cpu:startEpisodes'), 1 + runs.length, 'pi0 once, then each campaign after training');
  assert.equal(count('cpu:selectPivots'), 2, 'one profile for the functional verifier, one for the strict');
  assert.equal(count('gpu:update'), 4);
  assert.equal(count('gpu:sftUpdate'), 2);
  assert.deepEqual(
    result.runs.map((r) => r.workflowId),
    ['wf-exp-sft-s1', 'wf-exp-pivotrl-s1', 'wf-exp-strict-s1', 'wf-exp-sft-s2', 'wf-exp-pivotrl-s2', 'wf-exp-strict-s2'],
  );
  for (const r of result.runs) {
    assert.equal(r.result.stage, 'done');
    assert.deepEqual(r.result.before, result.runs[0].result.before, 'every campaign has the one pi0 evaluation');
  }
  const pivotrl = result.runs.find((r) => r.workflowId === 'wf-exp-pivotrl-s2')!.result;
  assert.equal(pivotrl.rolloutTurns.profiling, 16, 'the shared profile counts as the campaign would have spent it');
  assert.equal(pivotrl.pivots?.summary.pivots, 2);
  assert.equal(result.pi0.evaluations, 1);
  assert.deepEqual(
    result.pi0.profiles.map((p) => [p.id, p.verifier, p.seed, p.usedBy]),
    [
      ['pivotrl', 'functional', 1, ['wf-exp-pivotrl-s1', 'wf-exp-pivotrl-s2']],
      ['strict', 'strict', 1, ['wf-exp-strict-s1', 'wf-exp-strict-s2']],
    ],
  );
  assert.equal(result.pi0.sharedBy.length, runs.length);
});

test('experiment: a failed campaign is named after the others finish; started again, only it runs again', async () => {
  const calls: string[] = [];
  const runs = experimentRuns('expfail', { sft: { method: 'sft' }, pivotrl: {} });
  let broken = true;
  const acts = mocks(calls);
  const update = acts.gpu.update;
  Object.assign(acts.gpu, {
    update: async (input: Parameters<typeof update>[0]) => {
      if (broken && input.campaignId.endsWith('pivotrl-s1')) throw ApplicationFailure.nonRetryable('the GPU caught fire');
      return update(input);
    },
  });
  // The real activity reads the result through the worker's client; the mock through the test's.
  Object.assign(acts.cpu, {
    completedResult: async (input: { workflowId: string }) => (
      calls.push('cpu:completedResult'),
      temporal.env.client.workflow.getHandle(input.workflowId).result()
    ),
  });
  const start = () =>
    temporal.env.client.workflow.execute(experimentWorkflow, {
      taskQueue: 'expfail-cpu',
      workflowId: 'wf-expfail',
      args: [{ name: 'expfail', parallel: 1, runs }],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
  await withMockWorkers(temporal.env.nativeConnection, 'expfail', acts, async () => {
    await assert.rejects(start(), (err: WorkflowFailedError) => {
      assert.match(
        String(err.cause?.message),
        /expfail: 1 campaign\(s\) failed\npivotrl seed 1 \(wf-expfail-pivotrl-s1\): the GPU caught fire/,
      );
      return true;
    });
    assert.equal(calls.filter((c) => c === 'gpu:sftUpdate').length, 2, 'the other campaigns finished');
    broken = false;
    calls.length = 0;
    const result = await start();
    assert.equal(result.runs.length, 4);
    assert.deepEqual(
      calls.filter((c) => ['cpu:ingest', 'cpu:completedResult', 'gpu:sftUpdate', 'gpu:update'].includes(c)),
      ['cpu:completedResult', 'cpu:completedResult', 'gpu:update', 'cpu:completedResult', 'cpu:completedResult'],
      'pi0 and the completed campaigns are read back; only the failed one runs again',
    );
  });
});
