// Long campaigns continue as new, so every run's event history stays bounded; the progress query, the ops
// updates, the search attributes and the current details keep working across runs; SFT and E2E RL runs
// continue as new on the same rule and end as they would in one run. Real dev servers, mocked
// activities (the workflow's logic only).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import type { CampaignConfig } from '../../core/config';
import { campaignKeys } from '../../pipeline/keys';
import type { CampaignProgress } from '../../pipeline/campaign-state';
import { hyperUpdate, pauseUpdate, pivotCampaign, progressQuery, RECENT_STEPS } from '../../workflows/campaign';
import { e2eRlCampaign } from '../../workflows/e2e-rl';
import { sftCampaign } from '../../workflows/sft';
import { PivotCampaign, PivotIteration, PivotStage } from '../../workflows/search-attributes';
import { startTestTemporal, type TestTemporal } from '../../harness/temporal';
import { runsOf } from '../../harness/campaign-events';
import { mockActivities, mockConfig, mockMethodActivities, withMockWorkers } from '../support/mock-campaign';

let temporal: TestTemporal;
/** A server that suggests continue-as-new once a history holds 200 events. */
let suggesting: TestTemporal;
before(async () => {
  [temporal, suggesting] = await Promise.all([
    startTestTemporal(),
    startTestTemporal({ extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=200'] }),
  ]);
});
after(async () => {
  await Promise.all([temporal?.stop(), suggesting?.stop()]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function currentDetails(client: Client, workflowId: string): Promise<string> {
  const meta = await client.workflow.getHandle(workflowId).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return meta.currentDetails ?? '';
}

// One update step is 4 activities of 6 events each (scheduled, started, completed, and the workflow task that
// follows) plus the search-attribute upsert: 25 events. The stages outside the loop (start, ingest, profiling of
// one shard, pivot selection, and one evaluation, which the first and the last run each hold) stay under 100.
const EVENTS_PER_STEP = 25;
const FIXED_EVENTS = 100;

test('a 40-step campaign continues as new every 5 steps; each run stays under its bound; ops controls work across runs', async (t) => {
  const steps = 40;
  const stepsPerRun = 5;
  const bound = FIXED_EVENTS + stepsPerRun * EVENTS_PER_STEP;
  const calls: string[] = [];
  const client = temporal.env.client;
  const result = await withMockWorkers(temporal.env.nativeConnection, 'can', mockActivities(calls), async () => {
    const handle = await client.workflow.start(pivotCampaign, {
      taskQueue: 'can-cpu',
      workflowId: 'wf-can',
      args: [{ campaignId: 'wf-can', config: mockConfig({ steps, stepsPerRun, queue: 'can', address: temporal.address }) }],
    });

    // Well into the third run: the controls reach whichever run is current.
    let progress = await handle.query(progressQuery);
    while ((progress.run ?? 1) < 3) {
      await sleep(20);
      progress = await handle.query(progressQuery);
    }
    assert.equal((await handle.executeUpdate(hyperUpdate, { args: [{ lr: 5e-4 }] })).lr, 5e-4);
    await handle.executeUpdate(pauseUpdate, { args: [true] });
    // The step in flight finishes; then the campaign holds.
    while (!(progress = await handle.query(progressQuery)).now?.startsWith('paused')) await sleep(20);
    await sleep(700);
    assert.equal((await handle.query(progressQuery)).step, progress.step, 'a paused campaign starts no new step');
    assert.ok(progress.paused && progress.step >= 2 * stepsPerRun && progress.step < steps);
    const details = await currentDetails(client, 'wf-can');
    assert.match(details, new RegExp(`stage \\*\\*update\\*\\*, step ${progress.step}/40, run ${progress.run} — \\*\\*PAUSED\\*\\*`));
    assert.match(details, /PivotRL campaign wf-unit: 40 steps/);
    assert.match(details, /lr 0\.0005/);
    const attrs = (await handle.describe()).typedSearchAttributes;
    assert.equal(attrs.get(PivotStage), 'update');
    assert.equal(attrs.get(PivotIteration), progress.step);
    let found: string[] = [];
    for (let i = 0; i < 40 && found.length === 0; i++) {
      if (i) await sleep(100); // visibility is eventually consistent
      found = [];
      const query = `PivotCampaign = "wf-can" AND PivotIteration >= ${2 * stepsPerRun} AND ExecutionStatus = "Running"`;
      for await (const wf of client.workflow.list({ query })) found.push(wf.runId);
    }
    assert.equal(found.length, 1, 'the current run is found by its search attributes');
    await handle.executeUpdate(pauseUpdate, { args: [false] });

    const r = await handle.result();
    const runs = await runsOf(client, 'wf-can', handle.firstExecutionRunId);
    assert.equal(runs.length, steps / stepsPerRun);
    assert.deepEqual(
      runs.map((x) => x.continuedAsNew),
      runs.map((_, i) => i < runs.length - 1),
    );
    t.diagnostic(`events per run: ${runs.map((x) => x.events).join(', ')} (bound ${bound})`);
    for (const [i, run] of runs.entries()) assert.ok(run.events <= bound, `run ${i + 1} has ${run.events} events (bound ${bound})`);
    const final = (await handle.describe()).typedSearchAttributes;
    assert.equal(final.get(PivotStage), 'done');
    assert.equal(final.get(PivotIteration), steps);
    assert.equal(final.get(PivotCampaign), 'wf-can');
    return r;
  });
  // Every stage ran once, every step once, whatever run it fell in.
  const count = (c: string) => calls.filter((x) => x === c).length;
  assert.equal(count('cpu:ingest'), 1);
  assert.equal(count('cpu:selectPivots'), 1);
  assert.equal(count('gpu:update'), steps);
  assert.equal(count('cpu:drawBatch'), steps);
  assert.equal(result.stage, 'done');
  assert.equal(result.step, steps);
  assert.equal(result.run, steps / stepsPerRun);
  assert.equal(result.hyper.lr, 5e-4);
  assert.equal(result.rolloutTurns.training, steps * 4 * 4);
  assert.equal(result.history.length, RECENT_STEPS);
  assert.deepEqual(
    result.history.map((h) => h.step),
    Array.from({ length: RECENT_STEPS }, (_, i) => steps - RECENT_STEPS + 1 + i),
  );
  assert.equal(result.finalHash, `h${steps}`);
});

test('with limit.historyCount.suggestContinueAsNew=200 the campaign continues as new when told, in profiling and in updates', async (t) => {
  const steps = 40;
  const shards = 20;
  // Checked at shard and step boundaries: a run ends within one step (or shard) past the suggestion, and the last
  // run also holds the final evaluation.
  const bound = 200 + EVENTS_PER_STEP + 40;
  const calls: string[] = [];
  const client = suggesting.env.client;
  const config = mockConfig({ steps, stepsPerRun: 1000, queue: 'suggest', address: suggesting.address });
  const result = await withMockWorkers(suggesting.env.nativeConnection, 'suggest', mockActivities(calls, { shards }), async () => {
    const handle = await client.workflow.start(pivotCampaign, {
      taskQueue: 'suggest-cpu',
      workflowId: 'wf-suggest',
      args: [{ campaignId: 'wf-suggest', config }],
    });
    const r = await handle.result();
    const runs = await runsOf(client, 'wf-suggest', handle.firstExecutionRunId);
    // 20 shards and 40 steps make about 1300 events in all: at least 6 runs of at most ~265.
    assert.ok(runs.length >= 6, `${runs.length} runs`);
    t.diagnostic(`events per run: ${runs.map((x) => x.events).join(', ')} (bound ${bound})`);
    for (const [i, run] of runs.entries()) assert.ok(run.events <= bound, `run ${i + 1} has ${run.events} events (bound ${bound})`);
    return r;
  });
  const count = (c: string) => calls.filter((x) => x === c).length;
  assert.equal(count('cpu:ingest'), 1);
  assert.equal(count('cpu:verify'), shards + steps);
  assert.equal(count('cpu:selectPivots'), 1);
  assert.equal(count('gpu:update'), steps);
  assert.equal(result.stage, 'done');
  assert.equal(result.rolloutTurns.profiling, shards * 4 * 4);
  assert.ok((result.run ?? 1) >= 6);
});

/** SFT or E2E RL, 5 steps with an evaluation every 2: the update calls (step, from, to) and the runs. */
async function methodRun(workflow: typeof sftCampaign, stepsPerRun: number) {
  const method = workflow === sftCampaign ? 'sft' : 'e2e-rl';
  const queue = `${method}-${stepsPerRun}`;
  const calls: string[] = [];
  const updates: [number, string, string][] = [];
  const acts = mockMethodActivities(calls);
  const gpu = acts.gpu as unknown as Record<string, (input: { step: number; checkpoint: string; out: string }) => Promise<unknown>>;
  const name = method === 'sft' ? 'sftUpdate' : 'episodeUpdate';
  const mocked = gpu[name];
  gpu[name] = (input) => (updates.push([input.step, input.checkpoint, input.out]), mocked(input));
  const base = mockConfig({ steps: 5, stepsPerRun, queue, address: temporal.address });
  const config: CampaignConfig = { ...base, method, evaluate: { ...base.evaluate, every: 2 } };
  const client = temporal.env.client;
  return withMockWorkers(temporal.env.nativeConnection, queue, acts, async () => {
    const handle = await client.workflow.start(workflow, {
      taskQueue: `${queue}-cpu`,
      workflowId: `wf-${queue}`,
      args: [{ campaignId: method, config }],
    });
    const result = await handle.result();
    const runs = await runsOf(client, `wf-${queue}`, handle.firstExecutionRunId);
    return { result, runs, calls, updates };
  });
}

for (const workflow of [sftCampaign, e2eRlCampaign]) {
  test(`${workflow.name}: 5 steps, 2 per run, continue as new twice; each step once; the same result as in one run`, async () => {
    const [continued, single] = await Promise.all([methodRun(workflow, 2), methodRun(workflow, 100)]);
    assert.deepEqual(
      continued.runs.map((r) => r.continuedAsNew),
      [true, true, false],
    );
    assert.equal(single.runs.length, 1);
    const keys = campaignKeys(workflow === sftCampaign ? 'sft' : 'e2e-rl');
    const chain = [1, 2, 3, 4, 5].map((s) => [s, s === 1 ? 'ck/0' : keys.checkpoint(s - 1), keys.checkpoint(s)]);
    assert.deepEqual(continued.updates, chain, 'one update per step, each from the previous checkpoint');
    assert.deepEqual(single.updates, chain);
    const count = (calls: string[], c: string) => calls.filter((x) => x === c).length;
    assert.equal(count(continued.calls, 'cpu:ingest'), 1);
    assert.equal(count(continued.calls, 'cpu:selectTurns'), workflow === sftCampaign ? 1 : 0);
    assert.equal(count(continued.calls, 'cpu:scoreOod'), 4, 'pi0, after steps 2 and 4, final');
    assert.deepEqual(continued.calls, single.calls);
    assert.equal(continued.result.run, 3);
    assert.equal(continued.result.stage, 'done');
    assert.equal(continued.result.step, 5);
    assert.deepEqual(
      continued.result.curve?.map((p) => p.step),
      [2, 4],
    );
    if (workflow === e2eRlCampaign)
      assert.deepEqual(
        continued.result.history.map((h) => h.step),
        [1, 2, 3, 4, 5],
      );
    // Wall times differ between the two; what was counted must not, continue-as-new carrying the stage times.
    const callsOf = (r: CampaignProgress) => Object.fromEntries(Object.entries(r.stageTimes ?? {}).map(([k, t]) => [k, t.calls]));
    assert.deepEqual(callsOf(continued.result), callsOf(single.result));
    assert.equal(
      Object.values(callsOf(single.result)).reduce((a, n) => a + n, 0),
      single.calls.length,
    );
    const withoutTimes = (r: CampaignProgress) => ({ ...r, stageTimes: undefined, history: r.history.map(({ ms: _ms, ...h }) => h) });
    assert.deepEqual(withoutTimes({ ...continued.result, run: 1 }), withoutTimes(single.result));
  });
}
