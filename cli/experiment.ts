// `pivotrl experiment`: every method x seed of an experiment as a child campaign of one parent workflow on Temporal,
// then the report (report.md, SVG plots, results.json) computed from the campaigns' results.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertInputsExist } from '../pipeline/config-file';
import { firstIssue } from '../core/zod-errors';
import { openStore } from '../store';
import type { Claim } from '../experiment/claims';
import { baseHashOf, collectRunItems } from '../experiment/collect';
import { RunItems } from '../experiment/items';
import { loadExperiment, type ExperimentPlan, type PlannedRun } from '../experiment/plan';
import type { RunResult } from '../experiment/metrics';
import { buildReport } from '../experiment/report';
import type { Tables } from '../experiment/tables';
import type { ExperimentResult } from '../workflows/experiment';
import { pi0Plan } from '../workflows/pi0';
import { startEmbeddedWorkers, stdoutTerminal } from './campaigns';
import { connectClient } from './connect';
import { followExperiment, runsOf, secondsOf, startExperiment } from './experiment-parent';
import { experimentView, type Terminal } from './progress-view';
import { barPlanOf, pi0BarPlan } from './stage-bars';

export interface ResultsFile {
  name: string;
  command: string;
  seconds: number;
  /** pi0's work, done once for every campaign (absent in results recorded before it was shared). */
  pi0?: ExperimentResult['pi0'];
  /** Each run with its effective config, pi0's hash and the per-item rows of its evaluations. */
  runs: RunResult[];
  /** sha256 of pi0 when every run started from the same one (null: they did not; see tables.shared). */
  pi0Hash?: string | null;
  /** Written with the report, recomputed from `runs` by --report-only: the report's numbers are these. */
  claims?: Claim[];
  tables?: Tables;
}

const settingsOf = (r: PlannedRun): RunResult['settings'] => ({
  method: r.config.method,
  selection: r.role === 'sft' || r.role === 'e2e-rl' ? 'all' : r.config.profile.selection,
  verifier: r.role === 'sft' ? 'none' : r.role === 'e2e-rl' ? 'final check' : r.config.verifier,
  steps: r.config.train.steps,
  batch: r.config.train.batchPivots,
  group: r.config.train.groupSize,
  k: r.config.profile.k,
});

/** Writes report.md, the plots and results.json into `out`; returns the report's path. */
export function writeReport(out: string, results: ResultsFile): string {
  const report = buildReport(results.runs, results);
  const hashes = report.tables.shared.pi0Hashes;
  const written: ResultsFile = {
    ...results,
    pi0Hash: hashes.length === 1 ? hashes[0] : null,
    claims: report.claims,
    tables: report.tables,
  };
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), JSON.stringify(written, null, 2) + '\n');
  for (const [name, svg] of Object.entries(report.plots)) writeFileSync(join(out, name), svg);
  writeFileSync(join(out, 'report.md'), report.markdown);
  return join(out, 'report.md');
}

/** Rewrites the report (claims and tables included) from results.json alone; bad per-item rows are named. */
export function reportFromResults(out: string): string {
  const path = join(out, 'results.json');
  const results = JSON.parse(readFileSync(path, 'utf8')) as ResultsFile;
  if (!Array.isArray(results.runs) || results.runs.length === 0) throw new Error(`${path}: runs: no runs`);
  results.runs.forEach((r, i) => {
    const items = r.items === undefined ? null : RunItems.safeParse(r.items);
    if (items && !items.success) throw new Error(`${path}: runs.${i}.items.${firstIssue(items.error)}`);
  });
  return writeReport(out, results);
}

/** What the experiment's bars need: pi0's stages and profiles, and each campaign's stages. */
function barPlansOf(plan: ExperimentPlan, planned: Map<string, PlannedRun>) {
  const pi0 = pi0BarPlan(pi0Plan(runsOf(plan)).profiles.map((p) => p.config));
  return { pi0, of: (who: string) => barPlanOf(planned.get(who)!.config) };
}

/**
 * Runs the experiment as one parent workflow (workflows/experiment.ts) and follows it, or reattaches to it when it
 * already runs (see `startExperiment`), then writes the report. Fails, naming them, when campaigns fail. `signal`
 * stops this process's part (following, embedded workers); the experiment runs on, and the next call reattaches.
 * Progress: live bars on `terminal` when given (a TTY), else lines through `log`.
 */
export async function runExperiment(
  plan: ExperimentPlan,
  opts: {
    where: string;
    command: string;
    embeddedWorkers?: boolean;
    log?: (line: string) => void;
    signal?: AbortSignal;
    terminal?: Terminal;
  },
): Promise<{ report: string; results: ResultsFile }> {
  const log = opts.log ?? console.log;
  for (const r of plan.runs) assertInputsExist(r.config, `${opts.where}: ${r.method} seed ${r.seed}`);
  const first = plan.runs[0].config;
  const planned = new Map(plan.runs.map((r) => [`${r.method} s${r.seed}`, r]));
  const temporal = await connectClient(first.temporal);
  let stopWorkers: (() => Promise<void>) | null = null;
  let outcome: ExperimentResult;
  let seconds: number;
  try {
    if (opts.embeddedWorkers) stopWorkers = await startEmbeddedWorkers(first);
    const handle = await startExperiment(temporal, plan, log);
    const view = experimentView(barPlansOf(plan, planned), { log, terminal: opts.terminal });
    outcome = await followExperiment(temporal, handle, view, opts.signal);
    seconds = await secondsOf(handle);
  } finally {
    await stopWorkers?.();
    await temporal.connection.close();
  }
  const results: ResultsFile = {
    name: plan.experiment.name,
    command: opts.command,
    seconds,
    pi0: outcome.pi0,
    runs: await Promise.all(
      outcome.runs.map(async ({ method, seed, workflowId, result }): Promise<RunResult> => {
        const r = planned.get(`${method} s${seed}`)!;
        const store = openStore(r.config.store);
        const items = await collectRunItems(store, result, workflowId);
        const baseHash = await baseHashOf(store, result);
        const settings = settingsOf(r);
        return { method, label: r.label, role: r.role, seed, workflowId, settings, result, config: r.config, baseHash, items };
      }),
    ),
  };
  return { report: writeReport(plan.out, results), results };
}

/** `pivotrl experiment`: runs (or reattaches to) the experiment and writes its report, or only rewrites the report. */
export async function experimentCommand(o: { config: string; embeddedWorkers: boolean; reportOnly: boolean }): Promise<void> {
  const plan = loadExperiment(o.config);
  if (o.reportOnly) return void console.log(`wrote ${reportFromResults(plan.out)}`);
  const command = `pivotrl experiment --config ${o.config}`;
  const { report } = await runExperiment(plan, {
    where: o.config,
    command,
    embeddedWorkers: o.embeddedWorkers,
    terminal: stdoutTerminal(),
  });
  console.log(`wrote ${report}`);
}
