// The campaign workflow's logic on a real dev server, with the activities mocked (unit level): the stage
// order, which queue runs what, search attributes, and the ops controls.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { pivotCampaign, hyperUpdate, pauseUpdate, progressQuery, stopUpdate } from '../../workflows/campaign';
import { PivotStage } from '../../workflows/search-attributes';
import { startTestTemporal, type TestTemporal } from '../../harness/temporal';
import { MOCK_VERIFICATION, mockActivities, mockConfig, withMockWorkers } from '../support/mock-campaign';
import { formatSummary } from '../../cli/format';

let temporal: TestTemporal;
before(async () => {
  temporal = await startTestTemporal();
});
after(async () => {
  await temporal?.stop();
});

const config = (steps: number, queue: string) => mockConfig({ steps, queue, address: temporal.address });
const mocks = (calls: string[], gate?: Promise<void>) => mockActivities(calls, { gate });
const withWorkers = <T>(queue: string, acts: ReturnType<typeof mocks>, fn: () => Promise<T>) =>
  withMockWorkers(temporal.env.nativeConnection, queue, acts, fn);

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
  // Where the time went: every call counted once, under its phase; the generated samples as the activities said.
  const times = result.stageTimes ?? {};
  const counted = Object.values(times).reduce((a, t) => a + t.calls, 0);
  assert.equal(counted, calls.length);
  assert.equal(times['update/update']?.calls, 2);
  assert.equal(times['profile/generate']?.samples, result.rolloutTurns.profiling);
  assert.equal(times['update/generate']?.samples, result.rolloutTurns.training);
  for (const t of Object.values(times)) assert.ok(t.ms >= 0);
  assert.deepEqual(Object.keys(result.history.at(-1)?.ms ?? {}).sort(), ['drawBatch', 'generate', 'update', 'verify']);
  // How the candidate turns are verified reaches the campaign's progress, and its summary.
  assert.deepEqual(result.verification, MOCK_VERIFICATION);
  assert.match(
    formatSummary(result, 'http://ui'),
    /^ {2}verified by {18}sandbox 2, replay 1, arguments 1 \(state not rebuilt, compared instead: 1 — swe_repository 1\)$/m,
  );
});

test('with evaluate.heldoutTurns, every evaluation also scores held-out expert states, greedy and K sampled', async () => {
  const calls: string[] = [];
  const base = config(1, 'turns');
  const withTurns = { ...base, evaluate: { ...base.evaluate, heldoutTurns: 4, turnSamples: 5 } };
  const result = await withWorkers('turns', mocks(calls), async () =>
    temporal.env.client.workflow.execute(pivotCampaign, {
      taskQueue: 'turns-cpu',
      workflowId: 'wf-turns',
      args: [{ campaignId: 'wf-turns', config: withTurns }],
    }),
  );
  const evalCalls = ['cpu:startEpisodes', 'gpu:generate', 'cpu:stepEpisodes', 'cpu:scoreEpisodes', 'gpu:generate', 'cpu:scoreOod'];
  // Greedy and sampled actions, then one verify pass for both (each state opened once).
  const stateCalls = ['cpu:selectHeldoutStates', 'gpu:generate', 'gpu:generate', 'cpu:verify', 'cpu:scoreHeldoutStates'];
  assert.deepEqual(calls.slice(1, 1 + evalCalls.length + stateCalls.length), [...evalCalls, ...stateCalls]);
  assert.deepEqual(calls.slice(-stateCalls.length), stateCalls);
  for (const e of [result.before, result.after]) {
    assert.equal(e?.perTurn?.k, 5);
    assert.equal(e?.perTurn?.greedy, 0.5);
  }
  assert.match(result.before?.perTurn?.items ?? '', /eval\/base\/states\.items\.jsonl$/);
  // Each evaluation's rollout turns: one round of episode actions, then 1 greedy + 5 sampled actions per state (the
  // mock generates 4 samples per n); OOD answers are not rollout turns.
  assert.equal(result.rolloutTurns.evaluation, 2 * (4 + 4 * 1 + 4 * 5));
});

test('evaluate.oodDrift: each evaluation also measures drift on the GPU queue after OOD scoring, and keeps both keys', async () => {
  const calls: string[] = [];
  const base = config(1, 'drift');
  const result = await withWorkers('drift', mocks(calls), () =>
    temporal.env.client.workflow.execute(pivotCampaign, {
      taskQueue: 'drift-cpu',
      workflowId: 'wf-drift',
      args: [{ campaignId: 'wf-drift', config: { ...base, evaluate: { ...base.evaluate, oodDrift: true } } }],
    }),
  );
  const scored = calls.flatMap((c, i) => (c === 'cpu:scoreOod' ? [calls[i + 1]] : []));
  assert.deepEqual(scored, ['gpu:measureOodDrift', 'gpu:measureOodDrift']);
  for (const [label, e] of [
    ['base', result.before],
    ['step-1', result.after],
  ] as const) {
    assert.equal(e?.oodItems, `campaigns/wf-drift/eval/${label}/ood.items.jsonl`);
    assert.deepEqual(e?.oodDrift, { meanNll: 1.5, items: `campaigns/wf-drift/eval/${label}/ood.drift.jsonl` });
  }
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

test('a hyper-parameter that is not a number (the CLI would send NaN, null on the wire) is refused; the campaign goes on', async () => {
  const calls: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  await withWorkers('nan', mocks(calls, gate), async () => {
    const handle = await temporal.env.client.workflow.start(pivotCampaign, {
      taskQueue: 'nan-cpu',
      workflowId: 'wf-nan',
      args: [{ campaignId: 'wf-nan', config: config(2, 'nan') }],
    });
    while (!calls.includes('gpu:update')) await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(
      handle.executeUpdate(hyperUpdate, { args: [{ klBeta: Number('abc') }] }),
      (err: Error) => err instanceof WorkflowUpdateFailedError && /klBeta/.test(String(err.cause?.message)),
    );
    release();
    const result = await handle.result();
    assert.equal(result.stage, 'done');
    assert.equal(result.step, 2);
    assert.equal(result.hyper.klBeta, 0);
  });
});
