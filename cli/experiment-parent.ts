// The experiment's parent workflow from the CLI: its id (the experiment's name and a hash of its effective plan),
// starting it or reattaching to it, and following it to its result.
import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { ExperimentPlan } from '../experiment/plan';
import { progressQuery } from '../workflows/campaign';
import { experimentProgressQuery, experimentWorkflow, type ChildState, type ExperimentResult } from '../workflows/experiment';
import { PivotCampaign, PivotIteration, PivotStage } from '../workflows/search-attributes';
import { workflowUrl } from './campaigns';
import type { ProgressView } from './progress-view';
import type { ExperimentSnapshot } from './stage-bars';

/** The runs as the parent workflow gets them: what the hash covers (a changed config is a new experiment). */
export const runsOf = (plan: ExperimentPlan) => plan.runs.map((r) => ({ method: r.method, seed: r.seed, config: r.config }));

/** `<name>-<12 hex digits of the plan's hash>`: the same config reattaches to the same experiment. */
export const experimentWorkflowId = (plan: ExperimentPlan) =>
  `${plan.experiment.name}-${createHash('sha256')
    .update(JSON.stringify(runsOf(plan)))
    .digest('hex')
    .slice(0, 12)}`;

/**
 * Starts the experiment, or uses the one under its id: a running one is followed, a completed one gives its result
 * without rerunning, a failed (or terminated) one starts again, and its completed campaigns are not rerun.
 */
export async function startExperiment(temporal: Client, plan: ExperimentPlan, log: (line: string) => void) {
  const workflowId = experimentWorkflowId(plan);
  const config = plan.runs[0].config;
  const prior = await temporal.workflow
    .getHandle(workflowId)
    .describe()
    .then(
      (d) => d.status.name,
      () => null,
    );
  const what =
    prior === null
      ? 'starting'
      : prior === 'RUNNING'
        ? 'reattaching to the running'
        : prior === 'COMPLETED'
          ? 'taking the result of the completed'
          : `starting again (its completed campaigns are kept) the ${prior.toLowerCase()}`;
  log(`${what} experiment ${workflowId}`);
  log(`  Temporal UI: ${workflowUrl(temporal.options.namespace, workflowId)}`);
  try {
    return await temporal.workflow.start(experimentWorkflow, {
      taskQueue: config.temporal.cpuQueue,
      workflowId,
      args: [{ name: plan.experiment.name, parallel: plan.experiment.parallel, runs: runsOf(plan) }],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: PivotCampaign, value: workflowId },
        { key: PivotStage, value: 'pi0' },
        { key: PivotIteration, value: 0 },
      ],
      staticSummary: `Experiment ${plan.experiment.name}: ${plan.experiment.methods.length} methods x ${plan.experiment.seeds.length} seeds`,
      memo: { experiment: plan.experiment.name, methods: plan.experiment.methods.map((m) => m.id), seeds: plan.experiment.seeds },
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return temporal.workflow.getHandle<typeof experimentWorkflow>(workflowId);
  }
}

/** What the experiment and its running campaigns say now (pi0's shared work under `<experiment id>-pi0`). */
async function snapshotOf(temporal: Client, handle: WorkflowHandle<typeof experimentWorkflow>): Promise<ExperimentSnapshot> {
  const status = await handle.query(experimentProgressQuery);
  const progressOf = (workflowId: string, state: ChildState) =>
    // A child not started yet answers nothing: it shows as running without progress until the next poll.
    state === 'running'
      ? temporal.workflow
          .getHandle(workflowId)
          .query(progressQuery)
          .catch(() => undefined)
      : Promise.resolve(undefined);
  const [pi0, ...children] = await Promise.all([
    progressOf(`${handle.workflowId}-pi0`, status.pi0).then((progress) => ({ who: 'pi0', state: status.pi0, progress })),
    ...status.children.map((c) =>
      progressOf(c.workflowId, c.state).then((progress) => ({ who: `${c.method} s${c.seed}`, state: c.state, progress })),
    ),
  ]);
  return { pi0, children };
}

/**
 * Follows the experiment to its result, showing each snapshot on `view` (stopped at the end). `signal` stops following
 * (the experiment runs on); the experiment's own failure is thrown with its message (the failed campaigns, named).
 */
export async function followExperiment(
  temporal: Client,
  handle: WorkflowHandle<typeof experimentWorkflow>,
  view: ProgressView<ExperimentSnapshot>,
  signal?: AbortSignal,
): Promise<ExperimentResult> {
  const pollOnce = async () => view.show(await snapshotOf(temporal, handle));
  let polling: Promise<void> = Promise.resolve();
  const poll = setInterval(() => {
    // A workflow task not yet run, or a child not yet started, answers nothing: the next poll will tell.
    polling = pollOnce().catch(() => {});
  }, 2000);
  const result = handle.result();
  result.catch(() => {}); // when following stops first, nobody awaits it
  const stopped = new Promise<never>((_, reject) => {
    if (signal?.aborted) reject(new Error('experiment: stopped following'));
    signal?.addEventListener('abort', () => reject(new Error('experiment: stopped following')), { once: true });
  });
  let outcome: ExperimentResult | undefined;
  try {
    return (outcome = await Promise.race([result, stopped]));
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause) throw new Error(err.cause.message);
    throw err;
  } finally {
    clearInterval(poll);
    // A query still in flight must finish before the caller closes the connection under it (and before the last view).
    await polling;
    // The view ends on the finished experiment (its runs come in the order of the status' children).
    if (outcome)
      view.show({
        pi0: { who: 'pi0', state: 'done' },
        children: outcome.runs.map((r) => ({ who: `${r.method} s${r.seed}`, state: 'done' })),
      });
    view.stop();
  }
}

/** How long the experiment ran, from its start to its close (across every CLI process that followed it). */
export async function secondsOf(handle: WorkflowHandle): Promise<number> {
  const d = await handle.describe();
  return Math.round(((d.closeTime ?? new Date()).getTime() - d.startTime.getTime()) / 1000);
}
