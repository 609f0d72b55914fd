// Records event histories of the campaign workflows for the replay test (test/unit/campaign-replay.test.ts).
//
//   npx tsx test/histories/record.ts                  # re-record the histories of the current workflow code
//   npx tsx test/histories/record.ts --ref bd4f337    # record with the workflow code of a git commit: at-<ref>-*.json
//
// Each history is a campaign run on a throwaway dev server with the activities mocked (test/support/mock-campaign.ts),
// saved as <name>.json here in the JSON form of `temporal workflow show --output json`. Scenarios: `ops` (2 steps;
// 12 with --ref, more than one run of the current code holds; a hyper-parameter change and a pause and resume while
// an update is in flight), `continued` (2 profiling shards, 4 steps, 2 steps per run: one file per run), and `sft`
// and `e2e-rl` (those methods' workflows, 4 steps, an evaluation after step 2, 2 steps per run: one file per run);
// all but `ops` are skipped for --ref, whose code may not continue as new. `--scenario` (repeatable) records only
// the scenarios named, e.g. `--scenario sft --scenario e2e-rl` after a change to those workflows only.
//
// When to re-record: the current-*.json files follow the workflow code; re-record them after a change. Before a
// change that running campaigns must survive, record the code they run with --ref (the last commit before the
// change) and keep those at-<ref>-*.json files for as long as such campaigns may run: the replay test proves the
// current code replays every file here, i.e. that the change is behind `patched`. For --ref, the commit is
// extracted with `git archive` to a temporary folder; the working tree and the repository do not change.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_STEPS_PER_RUN, pivotCampaign, hyperUpdate, pauseUpdate, progressQuery } from '../../workflows/campaign';
import { e2eRlCampaign } from '../../workflows/e2e-rl';
import { sftCampaign } from '../../workflows/sft';
import { startTestTemporal, temporalCliPath, type TestTemporal } from '../../harness/temporal';
import { runsOf } from '../../harness/campaign-events';
import { mockActivities, mockConfig, mockMethodActivities, withMockWorkers } from '../support/mock-campaign';

const HERE = import.meta.dirname;
const REPO = resolve(HERE, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The workflow entry point of a git commit, extracted (read-only `git archive`) with this repo's node_modules. */
function workflowsAt(ref: string): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'pivotrl-ref-'));
  const tar = execFileSync('git', ['-C', REPO, 'archive', ref], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  return { path: join(dir, 'workflows/index.ts'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The run's history as `temporal workflow show --output json` prints it: the JSON form every SDK's replayer reads.
 * (The SDK's own historyToJSON fails in this install: @temporalio/common and @temporalio/proto each carry their own
 * copy of protobufjs, and its type check does not accept the other copy's types.)
 */
function save(temporal: TestTemporal, workflowId: string, runId: string, file: string): void {
  const json = execFileSync(
    temporalCliPath(),
    ['workflow', 'show', '--address', temporal.address, '--workflow-id', workflowId, '--run-id', runId, '--output', 'json'],
    { maxBuffer: 1 << 28 },
  ).toString('utf8');
  writeFileSync(join(HERE, file), json.endsWith('\n') ? json : json + '\n');
  console.log(`wrote test/histories/${file} (${(JSON.parse(json) as { events: unknown[] }).events.length} events)`);
}

/** `steps` steps; while the first update is held: a hyper-parameter change and a pause; resumed after it. */
async function recordOps(temporal: TestTemporal, prefix: string, steps: number, workflowsPath?: string): Promise<void> {
  const client = temporal.env.client;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calls: string[] = [];
  await withMockWorkers(
    temporal.env.nativeConnection,
    'ops',
    mockActivities(calls, { gate }),
    async () => {
      const handle = await client.workflow.start(pivotCampaign, {
        taskQueue: 'ops-cpu',
        workflowId: 'history-ops',
        args: [{ campaignId: 'history-ops', config: mockConfig({ steps, queue: 'ops', address: temporal.address }) }],
      });
      while (!calls.includes('gpu:update')) await sleep(20);
      await handle.executeUpdate(hyperUpdate, { args: [{ lr: 5e-4, temperature: 0.8 }] });
      await handle.executeUpdate(pauseUpdate, { args: [true] });
      release();
      while ((await handle.query(progressQuery)).step < 1) await sleep(20);
      await sleep(300);
      await handle.executeUpdate(pauseUpdate, { args: [false] });
      await handle.result();
      save(temporal, 'history-ops', handle.firstExecutionRunId, `${prefix}ops.json`);
    },
    { workflowsPath },
  );
}

/** 2 profiling shards, 4 steps, 2 steps per run: three runs, each saved. */
async function recordContinued(temporal: TestTemporal, prefix: string): Promise<void> {
  const client = temporal.env.client;
  await withMockWorkers(temporal.env.nativeConnection, 'continued', mockActivities([], { shards: 2 }), async () => {
    const handle = await client.workflow.start(pivotCampaign, {
      taskQueue: 'continued-cpu',
      workflowId: 'history-continued',
      args: [
        {
          campaignId: 'history-continued',
          config: mockConfig({ steps: 4, stepsPerRun: 2, queue: 'continued', address: temporal.address }),
        },
      ],
    });
    await handle.result();
    const runs = await runsOf(client, 'history-continued', handle.firstExecutionRunId);
    runs.forEach((run, i) => save(temporal, 'history-continued', run.runId, `${prefix}continued-run${i + 1}.json`));
  });
}

/** A baseline method's workflow: 4 steps, an evaluation after step 2, 2 steps per run: each run saved. */
async function recordMethod(temporal: TestTemporal, prefix: string, method: 'sft' | 'e2e-rl'): Promise<void> {
  const client = temporal.env.client;
  const workflowId = `history-${method}`;
  const base = mockConfig({ steps: 4, stepsPerRun: 2, queue: method, address: temporal.address });
  const config = { ...base, method, evaluate: { ...base.evaluate, every: 2 } };
  await withMockWorkers(temporal.env.nativeConnection, method, mockMethodActivities([]), async () => {
    const handle = await client.workflow.start(method === 'sft' ? sftCampaign : e2eRlCampaign, {
      taskQueue: `${method}-cpu`,
      workflowId,
      args: [{ campaignId: workflowId, config }],
    });
    await handle.result();
    const runs = await runsOf(client, workflowId, handle.firstExecutionRunId);
    runs.forEach((run, i) => save(temporal, workflowId, run.runId, `${prefix}${method}-run${i + 1}.json`));
  });
}

const SCENARIOS = ['ops', 'continued', 'sft', 'e2e-rl'] as const;
const { values } = parseArgs({ options: { ref: { type: 'string' }, scenario: { type: 'string', multiple: true } } });
const chosen = values.scenario ?? [...SCENARIOS];
for (const name of chosen)
  if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--scenario ${name}: expected one of ${SCENARIOS.join(', ')}`);
const temporal = await startTestTemporal();
try {
  if (values.ref) {
    const at = workflowsAt(values.ref);
    try {
      // More steps than a run of the current code holds (DEFAULT_STEPS_PER_RUN): replaying it needs the patch.
      await recordOps(temporal, `at-${values.ref}-`, DEFAULT_STEPS_PER_RUN + 2, at.path);
    } finally {
      at.cleanup();
    }
  } else {
    if (chosen.includes('ops')) await recordOps(temporal, 'current-', 2);
    if (chosen.includes('continued')) await recordContinued(temporal, 'current-');
    for (const method of ['sft', 'e2e-rl'] as const) if (chosen.includes(method)) await recordMethod(temporal, 'current-', method);
  }
} finally {
  await temporal.stop();
}
