// The experiment as one parent workflow: pi0's work once (workflows/pi0.ts), then every method x seed campaign as a
// child workflow of its method, `parallel` at once in seed-major order, under ids derived from the experiment's.
// A failed campaign fails the experiment, named, once the others have finished. Started again after a failure, the
// experiment reruns only what did not complete: a completed child's result is read back, not recomputed.
import {
  ApplicationFailure,
  defineQuery,
  executeChild,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { CpuActivities } from '../activities';
import { mapLimit } from '../core/concurrency';
import type { CampaignResult } from '../pipeline/campaign-state';
import { campaignSummary } from './details';
import { workflowFor } from './methods';
import { pi0Plan, pi0Workflow, sharedFor, type ExperimentRun, type Pi0Result } from './pi0';
import { PivotCampaign, PivotIteration, PivotStage } from './search-attributes';
import { assertValidConfig } from './valid-config';

export type { ExperimentRun } from './pi0';

export interface ExperimentInput {
  name: string;
  /** Campaigns running at once. */
  parallel: number;
  runs: ExperimentRun[];
}

export interface ExperimentRunResult {
  method: string;
  seed: number;
  workflowId: string;
  result: CampaignResult;
}

export interface ExperimentResult {
  runs: ExperimentRunResult[];
  /** pi0's work, done once: evaluated once, profiled once per distinct profile config, shared by `sharedBy` runs. */
  pi0: {
    workflowId: string;
    evaluations: number;
    profiles: { id: string; k: number; lambdaDiff: number; verifier: string; seed: number; usedBy: string[] }[];
    sharedBy: string[];
  };
}

export type ChildState = 'waiting' | 'running' | 'done' | 'failed';
export interface ExperimentStatus {
  pi0: ChildState;
  children: { workflowId: string; method: string; seed: number; state: ChildState }[];
}

export const experimentProgressQuery = defineQuery<ExperimentStatus>('experimentProgress');

/** The child workflow id of `run` in experiment `experimentId`. */
export const childIdOf = (experimentId: string, run: Pick<ExperimentRun, 'method' | 'seed'>) =>
  `${experimentId}-${run.method}-s${run.seed}`;

/** Seed-major order, so that at any time the finished campaigns cover every method about evenly. */
export function seedMajor(runs: ExperimentRun[]): ExperimentRun[] {
  const seeds = [...new Set(runs.map((r) => r.seed))];
  return [...runs].sort((a, b) => seeds.indexOf(a.seed) - seeds.indexOf(b.seed));
}

const { completedResult } = proxyActivities<CpuActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['BadInput'] },
});

/**
 * Runs a child to its result. A child that completed in an earlier run of this experiment is not started again
 * (its id is taken: ALLOW_DUPLICATE_FAILED_ONLY); its result is read back. A failed or terminated one runs again.
 */
async function runChild<I, R>(
  workflow: (input: I) => Promise<R>,
  options: { workflowId: string; input: I; taskQueue: string; staticSummary: string },
): Promise<R> {
  try {
    return await executeChild(workflow, {
      workflowId: options.workflowId,
      args: [options.input],
      taskQueue: options.taskQueue,
      staticSummary: options.staticSummary,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [
        { key: PivotCampaign, value: options.workflowId },
        { key: PivotStage, value: 'ingest' },
        { key: PivotIteration, value: 0 },
      ],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return (await completedResult({ workflowId: options.workflowId })) as R;
  }
}

/** What a child's failure says: the cause (a ChildWorkflowFailure's own message only names the child). */
const reasonOf = (err: unknown): string => {
  const e = err as Error & { cause?: Error & { cause?: Error } };
  return e.cause?.cause?.message ?? e.cause?.message ?? e.message;
};

export async function experimentWorkflow(input: ExperimentInput): Promise<ExperimentResult> {
  const id = workflowInfo().workflowId;
  if (input.runs.length === 0) throw ApplicationFailure.nonRetryable(`experiment ${input.name}: no runs`, 'InvalidConfig');
  if (!Number.isInteger(input.parallel) || input.parallel < 1)
    throw ApplicationFailure.nonRetryable(`experiment ${input.name}: parallel must be a positive integer`, 'InvalidConfig');
  for (const r of input.runs) assertValidConfig(r.config, `experiment ${input.name}: ${r.method} seed ${r.seed}`);

  const order = seedMajor(input.runs);
  const plan = pi0Plan(order);
  const status: ExperimentStatus = {
    pi0: 'running',
    children: order.map((r) => ({ workflowId: childIdOf(id, r), method: r.method, seed: r.seed, state: 'waiting' })),
  };
  setHandler(experimentProgressQuery, () => status);
  const report = () => {
    const done = status.children.filter((c) => c.state === 'done').length;
    const stage = status.pi0 !== 'done' ? 'pi0' : done === order.length ? 'done' : 'campaigns';
    upsertSearchAttributes([
      { key: PivotCampaign, value: id },
      { key: PivotStage, value: stage },
      { key: PivotIteration, value: done },
    ]);
    setCurrentDetails(
      [
        `**Experiment** \`${input.name}\` — ${done}/${order.length} campaigns done, ${input.parallel} at once`,
        '',
        `- pi0 (ingest, evaluation, ${plan.profiles.length} profile(s)): ${status.pi0}`,
        ...status.children.map((c) => `- ${c.method} seed ${c.seed}: ${c.state} (\`${c.workflowId}\`)`),
      ].join('\n'),
    );
  };
  report();

  const base = plan.base.config;
  const pi0Id = `${id}-pi0`;
  let pi0: Pi0Result;
  try {
    pi0 = await runChild(pi0Workflow, {
      workflowId: pi0Id,
      input: { campaignId: pi0Id, config: base, profiles: plan.profiles },
      taskQueue: base.temporal.cpuQueue,
      staticSummary: `pi0 of experiment ${input.name}: ingest, evaluation, ${plan.profiles.length} profile(s)`,
    });
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`experiment ${input.name}: pi0's shared work (${pi0Id}) failed: ${reasonOf(err)}`);
  }
  status.pi0 = 'done';
  report();

  const failures: string[] = [];
  const outcomes = await mapLimit(order, input.parallel, async (run, i): Promise<ExperimentRunResult | null> => {
    const child = status.children[i];
    child.state = 'running';
    report();
    try {
      const result = await runChild(workflowFor(run.config), {
        workflowId: child.workflowId,
        input: { campaignId: child.workflowId, config: run.config, shared: sharedFor(plan, pi0, run) },
        taskQueue: run.config.temporal.cpuQueue,
        staticSummary: campaignSummary(run.config),
      });
      child.state = 'done';
      return { method: run.method, seed: run.seed, workflowId: child.workflowId, result };
    } catch (err) {
      child.state = 'failed';
      failures.push(`${run.method} seed ${run.seed} (${child.workflowId}): ${reasonOf(err)}`);
      return null;
    } finally {
      report();
    }
  });
  if (failures.length)
    throw ApplicationFailure.nonRetryable(
      `experiment ${input.name}: ${failures.length} campaign(s) failed\n${failures.join('\n')}`,
      'CampaignsFailed',
    );

  return {
    runs: outcomes.filter((r): r is ExperimentRunResult => r !== null),
    pi0: {
      workflowId: pi0Id,
      evaluations: 1,
      profiles: plan.profiles.map((p) => ({
        id: p.id,
        k: p.config.profile.k,
        lambdaDiff: p.config.profile.lambdaDiff,
        verifier: p.config.verifier,
        seed: p.config.seed,
        usedBy: order.filter((r) => plan.profileOf(r) === p.id).map((r) => childIdOf(id, r)),
      })),
      sharedBy: order.filter((r) => plan.profileOf(r) !== undefined).map((r) => childIdOf(id, r)),
    },
  };
}
