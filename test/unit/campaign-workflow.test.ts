// The campaign workflow's logic on a real dev server, with the activities mocked (unit level): the stage
// order, which queue runs what, search attributes, and the ops controls.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { CpuActivities, GpuActivities } from '../../activities';
import type { CampaignConfig } from '../../core/config';
import { pivotCampaign, hyperUpdate, pauseUpdate, progressQuery, stopUpdate } from '../../workflows/campaign';
import { WORKFLOWS_PATH } from '../../workers/workflows-path';
import { PivotStage } from '../../workflows/search-attributes';
import { startTestTemporal, type TestTemporal } from '../support/temporal';

let temporal: TestTemporal;
before(async () => {
  temporal = await startTestTemporal();
});
after(async () => {
  await temporal?.stop();
});

const config = (steps: number, queue: string): CampaignConfig => ({
  name: 'wf-unit',
  seed: 1,
  data: { trajectories: ['/dev/null'], heldoutTasks: '/dev/null', ood: '/dev/null', shardSize: 64 },
  store: { kind: 'local', root: '/tmp/unused' },
  policy: { base: '/models/pi0', temperature: 1, topP: 1, maxActionTokens: 16 },
  profile: { k: 4, lambdaDiff: 0.6 },
  verifier: 'functional',
  train: { steps, batchPivots: 2, groupSize: 4, lr: 1e-3, clipEps: 0.2, klBeta: 0, leaveOneOut: false, maxGradNorm: 1, weightDecay: 0 },
  evaluate: { heldoutTasks: 2, oodItems: 2 },
  verify: { concurrency: 1, actionTimeoutMs: 1000 },
  temporal: { address: temporal.address, namespace: 'default', cpuQueue: `${queue}-cpu`, gpuQueue: `${queue}-gpu` },
});

function mocks(calls: string[], gate?: Promise<void>) {
  const record = (queue: string, name: string) => calls.push(`${queue}:${name}`);
  const cpu = {
    ingest: async () => {
      record('cpu', 'ingest');
      return {
        trajectories: 2,
        turns: 4,
        shards: [{ turns: 's0.turns', prompts: 's0.prompts', count: 4 }],
        badRecords: 1,
        badExamples: [],
        quarantine: 'q',
        heldout: 'h',
        heldoutCount: 2,
        ood: 'o',
        oodPrompts: 'op',
        oodCount: 2,
        baseCheckpoint: 'ck/0',
      };
    },
    selectPivots: async () => {
      record('cpu', 'selectPivots');
      return {
        summary: { candidates: 4, pivots: 2, allZero: 1, allOne: 1, tooEasy: 0, unverified: 0, pivotRate: 0.5, meanReward: 0.5 },
        profiles: 'p',
        pivots: 'pv',
        muHistogram: [],
      };
    },
    drawBatch: async () => (record('cpu', 'drawBatch'), { turns: 'bt', prompts: 'bp', count: 2 }),
    verify: async (input: { out: string }) => {
      record('cpu', 'verify');
      return { out: input.out, samples: 8, rewarded: 4, masked: 0, meanReward: 0.5, zeroVarianceGroups: 0, byReason: {} };
    },
    startEpisodes: async () => (record('cpu', 'startEpisodes'), { episodes: 'e0', prompts: 'p0', active: 2 }),
    stepEpisodes: async () => (record('cpu', 'stepEpisodes'), { episodes: 'e1', prompts: 'p1', active: 0 }),
    scoreEpisodes: async () => (
      record('cpu', 'scoreEpisodes'),
      { episodes: 2, successes: 1, successRate: 0.5, actions: 2, byTemplate: {} }
    ),
    scoreOod: async () => (record('cpu', 'scoreOod'), { items: 2, correct: 2, accuracy: 1, byKind: {} }),
  } as unknown as CpuActivities;
  const gpu = {
    generate: async (input: { out: string; sampling: { n: number } }) => {
      record('gpu', 'generate');
      return { out: input.out, samples: 4 * input.sampling.n, tokens: 10, backend: 'mock' };
    },
    update: async (input: { step: number; out: string }) => {
      record('gpu', 'update');
      await gate;
      return {
        step: input.step,
        checkpoint: input.out,
        hash: `h${input.step}`,
        items: 8,
        metrics: { loss: 0.1, policy_loss: 0.1, approx_kl: 0, clipfrac: 0, entropy: 1, grad_norm: 1, lr: 1e-3, tokens: 10, seconds: 0.1 },
      };
    },
  } as unknown as GpuActivities;
  return { cpu, gpu };
}

async function withWorkers<T>(queue: string, acts: ReturnType<typeof mocks>, fn: () => Promise<T>): Promise<T> {
  const cpu = await Worker.create({
    connection: temporal.env.nativeConnection,
    taskQueue: `${queue}-cpu`,
    workflowsPath: WORKFLOWS_PATH,
    activities: acts.cpu,
  });
  const gpu = await Worker.create({ connection: temporal.env.nativeConnection, taskQueue: `${queue}-gpu`, activities: acts.gpu });
  return gpu.runUntil(cpu.runUntil(fn()));
}

test('stages run in order; generation and updates only on the GPU queue; search attributes follow', async () => {
  const calls: string[] = [];
  const result = await withWorkers('order', mocks(calls), async () => {
    const handle = await temporal.env.client.workflow.start(pivotCampaign, {
      taskQueue: 'order-cpu',
      workflowId: 'wf-order',
      args: [{ campaignId: 'wf-order', config: config(2, 'order') }],
    });
    const r = await handle.result();
    const desc = await handle.describe();
    assert.equal(desc.typedSearchAttributes.get(PivotStage), 'done');
    return r;
  });
  const evalCalls = ['cpu:startEpisodes', 'gpu:generate', 'cpu:stepEpisodes', 'cpu:scoreEpisodes', 'gpu:generate', 'cpu:scoreOod'];
  const stepCalls = ['cpu:drawBatch', 'gpu:generate', 'cpu:verify', 'gpu:update'];
  assert.deepEqual(calls, [
    'cpu:ingest',
    ...evalCalls,
    'gpu:generate',
    'cpu:verify',
    'cpu:selectPivots',
    ...stepCalls,
    ...stepCalls,
    ...evalCalls,
  ]);
  assert.equal(result.stage, 'done');
  assert.equal(result.step, 2);
  assert.equal(result.rolloutTurns.profiling, 16);
  assert.equal(result.rolloutTurns.training, 32);
  assert.equal(result.finalHash, 'h2');
  assert.equal(result.pivots?.summary.pivots, 2);
});

test('a bad hyper-parameter is refused at once; pause holds the next step; stop ends at a step boundary', async () => {
  const calls: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  await withWorkers('ops', mocks(calls, gate), async () => {
    const handle = await temporal.env.client.workflow.start(pivotCampaign, {
      taskQueue: 'ops-cpu',
      workflowId: 'wf-ops',
      args: [{ campaignId: 'wf-ops', config: config(5, 'ops') }],
    });
    // Wait for the first update to be in flight.
    while (!calls.includes('gpu:update')) await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(handle.executeUpdate(hyperUpdate, { args: [{ lr: -1 }] }), WorkflowUpdateFailedError);
    const hyper = await handle.executeUpdate(hyperUpdate, { args: [{ lr: 5e-4 }] });
    assert.equal(hyper.lr, 5e-4);
    await handle.executeUpdate(pauseUpdate, { args: [true] });
    release();
    while ((await handle.query(progressQuery)).step < 1) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(calls.filter((c) => c === 'gpu:update').length, 1, 'a paused campaign starts no new step');
    await handle.executeUpdate(stopUpdate, { args: [] });
    const result = await handle.result();
    assert.equal(result.stage, 'stopped');
    assert.equal(result.step, 1);
    assert.equal(result.hyper.lr, 5e-4);
  });
});
