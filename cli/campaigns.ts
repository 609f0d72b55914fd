// Running a campaign on Temporal from this process: start it with its method's workflow, follow its progress, and
// optionally host its workers here (`--embedded-workers`).
import { Client, Connection, WorkflowIdReusePolicy } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { CampaignConfig } from '../core/config';
import type { CampaignProgress } from '../pipeline/campaign-state';
import { createCpuWorker, createGpuWorker } from '../workers/build';
import { installRuntime } from '../workers/runtime';
import { progressQuery } from '../workflows/campaign';
import { campaignSummary } from '../workflows/details';
import { workflowFor } from '../workflows/methods';
import { PivotCampaign, PivotIteration, PivotStage } from '../workflows/search-attributes';
import { temporalSettings, temporalUiUrl } from '../workers/connection';
import { formatProgressLine, formatSummary } from './format';
import { dataConverterFromEnv } from '../workers/data-converter';

export const workflowUrl = (namespace: string, id: string) =>
  `${temporalUiUrl()}/namespaces/${namespace}/workflows/${encodeURIComponent(id)}`;

/** A CPU worker (workflows, sandboxes) and a GPU worker (generation, updates) in this process; returns their stop. */
export async function startEmbeddedWorkers(config: CampaignConfig): Promise<() => Promise<void>> {
  installRuntime(); // logs and metrics as a worker's (PIVOTRL_LOG_LEVEL, PIVOTRL_METRICS_ADDRESS)
  const settings = temporalSettings(config.temporal);
  const native = await NativeConnection.connect(settings.connection);
  const cpu = await createCpuWorker({
    connection: native,
    namespace: settings.namespace,
    taskQueue: config.temporal.cpuQueue,
    maxActivities: 4,
  });
  const gpu = await createGpuWorker({
    connection: native,
    namespace: settings.namespace,
    taskQueue: config.temporal.gpuQueue,
    allowCpu: true,
  });
  const running = Promise.all([cpu.worker.run(), gpu.worker.run()]);
  return async () => {
    cpu.worker.shutdown();
    gpu.worker.shutdown();
    await running;
    await Promise.all([cpu.close(), gpu.close()]);
    await native.close();
  };
}

/** Starts a campaign with the workflow of its method, its search attributes at their initial values and its summary. */
export function startCampaign(temporal: Client, config: CampaignConfig, workflowId: string) {
  return temporal.workflow.start(workflowFor(config), {
    taskQueue: config.temporal.cpuQueue,
    workflowId,
    args: [{ campaignId: workflowId, config }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: PivotCampaign, value: workflowId },
      { key: PivotStage, value: 'ingest' },
      { key: PivotIteration, value: 0 },
    ],
    staticSummary: campaignSummary(config),
    staticDetails: '```json\n' + JSON.stringify(config, null, 2) + '\n```',
  });
}

/** Starts a campaign and follows it to the end, printing progress. */
export async function followCampaign(temporal: Client, config: CampaignConfig, workflowId: string, log: (line: string) => void) {
  const handle = await startCampaign(temporal, config, workflowId);
  log(`started campaign ${workflowId}`);
  log(`  Temporal UI: ${workflowUrl(temporal.options.namespace, workflowId)}`);
  let last = '';
  let polling: Promise<void> = Promise.resolve();
  const poll = setInterval(() => {
    polling = (async () => {
      try {
        const line = formatProgressLine(await handle.query(progressQuery));
        if (line !== last) log(`  ${(last = line)}`);
      } catch {
        // The first workflow task may not have run yet; the next poll will tell.
      }
    })();
  }, 2000);
  try {
    return await handle.result();
  } finally {
    clearInterval(poll);
    // A query still in flight must finish before the caller closes the connection under it.
    await polling;
  }
}

/** Starts a campaign and follows it to the end, printing progress. */
export async function runCampaign(config: CampaignConfig, opts: { id?: string; embeddedWorkers?: boolean; log?: (line: string) => void }) {
  const log = opts.log ?? console.log;
  const settings = temporalSettings(config.temporal);
  const connection = await Connection.connect(settings.connection);
  const temporal = new Client({ connection, namespace: settings.namespace, dataConverter: dataConverterFromEnv() });
  const workflowId = opts.id ?? `${config.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const stopWorkers: (() => Promise<void>)[] = [];
  if (opts.embeddedWorkers) stopWorkers.push(await startEmbeddedWorkers(config));
  try {
    const result: CampaignProgress = await followCampaign(temporal, config, workflowId, log);
    log(formatSummary(result, workflowUrl(settings.namespace, workflowId)));
    return { workflowId, result };
  } finally {
    for (const stop of stopWorkers) await stop();
    await connection.close();
  }
}
