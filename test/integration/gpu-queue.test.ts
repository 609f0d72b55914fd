// GPU activities run only on the GPU queue: with only the CPU worker up they wait; once the GPU worker
// starts, the campaign proceeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCpuWorker, createGpuWorker } from '../../workers/build';
import { pivotCampaign, progressQuery } from '../../workflows/campaign';
import { useTestTemporal } from '../../harness/temporal';
import { tinyCampaign } from '../../harness/campaign';

const temporal = useTestTemporal();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('generation waits for a GPU worker, then the campaign proceeds', { timeout: 15 * 60_000 }, async () => {
  const { config } = tinyCampaign({ address: temporal.address, queue: 'gpuq', steps: 1 });
  const connection = temporal.env.nativeConnection;
  const cpu = await createCpuWorker({ connection, namespace: 'default', taskQueue: config.temporal.cpuQueue });
  await cpu.worker.runUntil(async () => {
    const handle = await temporal.env.client.workflow.start(pivotCampaign, {
      taskQueue: config.temporal.cpuQueue,
      workflowId: 'gpu-queue-campaign',
      args: [{ campaignId: 'gpu-queue-campaign', config }],
    });
    // Wait until the first generation is scheduled on the GPU queue.
    let pending: { activityType?: { name?: string | null } | null; state?: unknown; attempt?: number | null }[] = [];
    // (ingest runs first on the CPU worker and is pending too while it runs, longer on a loaded machine).
    const generating = () => pending.length === 1 && pending[0].activityType?.name === 'generate';
    for (let i = 0; i < 240 && !generating(); i++) {
      await sleep(250);
      pending = (await handle.describe()).raw.pendingActivities ?? [];
    }
    assert.equal(pending.length, 1);
    assert.equal(pending[0].activityType?.name, 'generate');
    // With only the CPU worker polling, it stays scheduled and is never started.
    await sleep(3000);
    const still = (await handle.describe()).raw.pendingActivities ?? [];
    assert.equal(still.length, 1);
    assert.equal(still[0].activityType?.name, 'generate');
    assert.equal(String(still[0].state), '1', 'PENDING_ACTIVITY_STATE_SCHEDULED');
    assert.equal((await handle.query(progressQuery)).stage, 'evaluate-base');

    const gpu = await createGpuWorker({ connection, namespace: 'default', taskQueue: config.temporal.gpuQueue, allowCpu: true });
    try {
      const result = await gpu.worker.runUntil(handle.result());
      assert.equal(result.stage, 'done');
      assert.equal(result.step, 1);
    } finally {
      await gpu.close();
    }
  });
  await cpu.close();
});
