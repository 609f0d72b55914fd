// Running a campaign on Temporal from this process: start it with its method's workflow, follow its progress, and
// optionally host its workers here (`--embedded-workers`).
import { type Client, WorkflowIdReusePolicy } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { CampaignConfig } from '../core/config';
import { assertInputsExist, loadCampaignConfig } from '../pipeline/config-file';
import type { CampaignProgress } from '../pipeline/campaign-state';
import { createCpuWorker, createGpuWorker } from '../workers/build';
import { installRuntime } from '../workers/runtime';
import { progressQuery } from '../workflows/campaign';
import { campaignSummary } from '../workflows/details';
import { workflowFor } from '../workflows/methods';
import { PivotCampaign, PivotIteration, PivotStage } from '../workflows/search-attributes';
import { temporalSettings, temporalUiUrl } from '../workers/connection';
import { connectClient } from './connect';
import { formatSummary } from './format';
import { campaignView, type ProgressView, type Terminal } from './progress-view';
import { barPlanOf } from './stage-bars';

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

/** Starts a campaign and follows it to the end, showing each progress snapshot on `view` (stopped at the end). */
export async function followCampaign(
  temporal: Client,
  config: CampaignConfig,
  workflowId: string,
  log: (line: string) => void,
  view: ProgressView<CampaignProgress>,
) {
  const handle = await startCampaign(temporal, config, workflowId);
  log(`started campaign ${workflowId}`);
  log(`  Temporal UI: ${workflowUrl(temporal.options.namespace, workflowId)}`);
  let polling: Promise<void> = Promise.resolve();
  const poll = setInterval(() => {
    polling = handle.query(progressQuery).then(view.show, () => {
      // The first workflow task may not have run yet; the next poll will tell.
    });
  }, 2000);
  let result: CampaignProgress | undefined;
  try {
    return (result = await handle.result());
  } finally {
    clearInterval(poll);
    // A query still in flight must finish before the caller closes the connection under it (and before the last view).
    await polling;
    if (result) view.show(result);
    view.stop();
  }
}

/**
 * Starts a campaign and follows it to the end: live bars on `terminal` when given (a TTY), else progress lines
 * through `log`; then the summary.
 */
export async function runCampaign(
  config: CampaignConfig,
  opts: { id?: string; embeddedWorkers?: boolean; log?: (line: string) => void; terminal?: Terminal },
) {
  const log = opts.log ?? console.log;
  const temporal = await connectClient(config.temporal);
  const workflowId = opts.id ?? `${config.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  let stopWorkers: (() => Promise<void>) | null = null;
  try {
    if (opts.embeddedWorkers) stopWorkers = await startEmbeddedWorkers(config);
    const view = campaignView(barPlanOf(config), { log, terminal: opts.terminal });
    const result: CampaignProgress = await followCampaign(temporal, config, workflowId, log, view);
    log(formatSummary(result, workflowUrl(temporal.options.namespace, workflowId)));
    return { workflowId, result };
  } finally {
    await stopWorkers?.();
    await temporal.connection.close();
  }
}

/** Live bars on stdout when it is a terminal; progress lines otherwise (a log, a pipe). */
export const stdoutTerminal = () => (process.stdout.isTTY ? process.stdout : undefined);

/** `pivotrl run`: the config checked (schema, input files) before anything starts, then the campaign followed. */
export async function runCommand(o: { config: string; id?: string; embeddedWorkers: boolean }): Promise<void> {
  const config = loadCampaignConfig(o.config);
  assertInputsExist(config, o.config);
  await runCampaign(config, { id: o.id, embeddedWorkers: o.embeddedWorkers, terminal: stdoutTerminal() });
}
