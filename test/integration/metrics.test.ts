// Metrics a short campaign exports: real worker processes (workers/cpu.ts, workers/gpu.ts) with their Prometheus
// endpoint on free loopback ports (PIVOTRL_METRICS_ADDRESS), a real dev server and real Docker sandboxes. The
// endpoints are scraped while the campaign runs and once it has ended, and the campaign's metrics are checked
// against the progress record it returns.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { DockerClient } from '../../sandboxes/engine';
import { OWNER_LABEL, SANDBOX_LABEL } from '../../sandboxes/reaper';
import { startCampaign } from '../../cli/campaigns';
import { freePort, startTestTemporal, type TestTemporal } from '../../harness/temporal';
import { requireDocker } from '../../harness/docker';
import { tinyCampaign } from '../../harness/campaign';
import { startWorkerProcess, type WorkerProcess } from '../../harness/worker-process';
import { scrape, sumOf, type Sample } from '../support/prometheus';
import { tempDir } from '../../harness/temp-dir';

const QUEUE = 'metrics';
const OWNER = `test-metrics-${process.pid}`;
let docker: DockerClient;
let temporal: TestTemporal;
let workers: WorkerProcess[] = [];
const address = { cpu: '', gpu: '' };

before(async () => {
  docker = await requireDocker();
  temporal = await startTestTemporal();
  address.cpu = `127.0.0.1:${await freePort()}`;
  address.gpu = `127.0.0.1:${await freePort()}`;
  const logFile = join(tempDir('pivotrl-metrics-'), 'workers.log');
  const env = (kind: 'cpu' | 'gpu') => ({
    TEMPORAL_ADDRESS: temporal.address,
    PIVOTRL_CPU_QUEUE: `${QUEUE}-cpu`,
    PIVOTRL_GPU_QUEUE: `${QUEUE}-gpu`,
    PIVOTRL_ALLOW_CPU: '1',
    PIVOTRL_SANDBOX_OWNER: OWNER,
    PIVOTRL_METRICS_ADDRESS: address[kind],
  });
  workers = await Promise.all([startWorkerProcess('cpu', env('cpu'), { logFile }), startWorkerProcess('gpu', env('gpu'), { logFile })]);
});

after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await temporal?.stop();
});

test(
  'worker and campaign metrics on the workers’ Prometheus endpoints, during and after a campaign',
  { timeout: 10 * 60_000 },
  async () => {
    const tiny = tinyCampaign({ address: temporal.address, queue: QUEUE, steps: 1, heldoutTurns: 4 });
    const client = new Client({ connection: temporal.env.connection });
    const campaign = 'metrics-campaign';
    const handle = await startCampaign(client, tiny.config, campaign);

    // During the campaign: every scrape answers; the live sandboxes gauge follows the pools.
    let running = true;
    const done = handle.result().finally(() => (running = false));
    let scrapesDuring = 0;
    let mostSandboxes = 0;
    while (running) {
      const cpu = await scrape(address.cpu);
      scrapesDuring++;
      mostSandboxes = Math.max(mostSandboxes, sumOf(cpu, 'pivotrl_sandboxes_live') ?? 0);
      await new Promise((r) => setTimeout(r, 300));
    }
    const progress = await done;
    assert.equal(progress.stage, 'done');
    assert.ok(scrapesDuring > 0);
    assert.ok(mostSandboxes > 0 && mostSandboxes <= 2 * tiny.config.verify.concurrency, `live sandboxes seen: ${mostSandboxes}`);

    // After it: the SDK's worker metrics, on each worker for its own activities.
    const [cpu, gpu] = await Promise.all([scrape(address.cpu), scrape(address.gpu)]);
    const activityCount = (samples: Sample[], activity: string) =>
      sumOf(samples, 'temporal_activity_execution_latency_count', { activity_type: activity }) ?? 0;
    assert.ok(activityCount(cpu, 'verify') > 0 && activityCount(gpu, 'generate') > 0);
    assert.equal(activityCount(cpu, 'generate'), 0, 'the CPU worker runs no generation');
    assert.ok((sumOf(cpu, 'temporal_worker_task_slots_available', { task_queue: `${QUEUE}-cpu` }) ?? 0) > 0);
    assert.ok((sumOf(cpu, 'temporal_workflow_completed_total', { workflow_type: 'pivotCampaign' }) ?? 0) >= 1);

    // The campaign's own metrics (from its workflow, on the CPU worker), as its progress record says.
    const of = { campaign, method: 'pivotrl' };
    const pivots = progress.pivots!.summary;
    assert.ok(pivots.pivots > 0);
    assert.equal(sumOf(cpu, 'pivotrl_profiled_turns', { ...of, class: 'pivot' }), pivots.pivots);
    assert.equal(sumOf(cpu, 'pivotrl_profiled_turns', { ...of, class: 'all0' }), pivots.allZero);
    assert.equal(sumOf(cpu, 'pivotrl_candidate_turns', of), tiny.candidates);
    assert.equal(sumOf(cpu, 'pivotrl_step', of), 1);
    const last = progress.history.at(-1)!;
    assert.ok(Math.abs(sumOf(cpu, 'pivotrl_batch_reward', of)! - last.batchReward) < 1e-9);
    assert.equal(sumOf(cpu, 'pivotrl_zero_variance_groups', of), last.zeroVarianceGroups);
    assert.equal(sumOf(cpu, 'pivotrl_rollout_turns', { ...of, kind: 'training' }), progress.rolloutTurns.training);
    const accuracy = (model: string, kind: string) => sumOf(cpu, 'pivotrl_accuracy', { ...of, model, kind });
    for (const [model, e] of [
      ['base', progress.before!],
      ['trained', progress.after!],
    ] as const) {
      assert.ok(Math.abs(accuracy(model, 'ood')! - e.ood.accuracy) < 1e-9);
      assert.ok(Math.abs(accuracy(model, 'episode')! - e.inDomain.successRate) < 1e-9);
      assert.ok(Math.abs(accuracy(model, 'per_turn_greedy')! - e.perTurn!.greedy) < 1e-9);
    }
    // Stage times: one series per phase/activity of the progress record, with its calls and milliseconds.
    const stageTimes = Object.entries(progress.stageTimes ?? {});
    assert.ok(stageTimes.length > 0);
    for (const [key, t] of stageTimes) {
      const [stage, activity] = key.split('/');
      assert.equal(sumOf(cpu, 'pivotrl_stage_calls_total', { ...of, stage, activity }), t.calls, `${key} calls`);
      assert.equal(sumOf(cpu, 'pivotrl_stage_ms_total', { ...of, stage, activity }), t.ms, `${key} ms`);
    }
    const totalCalls = stageTimes.reduce((a, [, t]) => a + t.calls, 0);
    assert.equal(sumOf(cpu, 'pivotrl_stage_calls_total', of), totalCalls, 'no series beyond the progress record’s');

    // The workers' logs are JSON lines (their stdout is a pipe), and their sandboxes go with them.
    const firstLine = workers[0].output().split('\n')[0];
    assert.doesNotThrow(() => JSON.parse(firstLine), `a JSON log line: ${firstLine}`);
    await Promise.all(workers.map((w) => w.stop()));
    const left = await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABEL}=1`, `${OWNER_LABEL}=${OWNER}`] } });
    assert.equal(left.length, 0, 'no sandbox container is left behind');
  },
);
