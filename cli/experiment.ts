// `pivotrl experiment`: every method x seed of an experiment as a campaign on Temporal, then the report
// (report.md, SVG plots, results.json) computed from the campaigns' results.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { assertInputsExist } from '../pipeline/config-file';
import { mapLimit } from '../core/concurrency';
import { firstIssue } from '../core/zod-errors';
import { openStore } from '../store';
import type { Claim } from '../experiment/claims';
import { baseHashOf, collectRunItems } from '../experiment/collect';
import { RunItems } from '../experiment/items';
import type { ExperimentPlan, PlannedRun } from '../experiment/plan';
import type { RunResult } from '../experiment/metrics';
import { buildReport } from '../experiment/report';
import type { Tables } from '../experiment/tables';
import { followCampaign, startEmbeddedWorkers } from './campaigns';

export interface ResultsFile {
  name: string;
  command: string;
  seconds: number;
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

/** Runs the campaigns (`parallel` at once), then writes the report. Fails, naming them, when campaigns fail. */
export async function runExperiment(
  plan: ExperimentPlan,
  opts: { where: string; command: string; embeddedWorkers?: boolean; log?: (line: string) => void },
): Promise<{ report: string; results: ResultsFile }> {
  const log = opts.log ?? console.log;
  for (const r of plan.runs) assertInputsExist(r.config, `${opts.where}: ${r.method} seed ${r.seed}`);
  const first = plan.runs[0].config;
  const started = Date.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const connection = await Connection.connect({ address: first.temporal.address });
  const temporal = new Client({ connection, namespace: first.temporal.namespace });
  const stopWorkers = opts.embeddedWorkers ? await startEmbeddedWorkers(first) : null;
  // Seed-major order, so that at any time the finished campaigns cover every method about evenly.
  const order = [...plan.runs].sort((a, b) => plan.experiment.seeds.indexOf(a.seed) - plan.experiment.seeds.indexOf(b.seed));
  const failures: string[] = [];
  let outcomes: (RunResult | null)[];
  try {
    outcomes = await mapLimit(order, plan.experiment.parallel, async (r) => {
      const workflowId = `${r.config.name}-${stamp}`;
      try {
        const result = await followCampaign(temporal, r.config, workflowId, (line) => log(`[${r.method} s${r.seed}] ${line.trim()}`));
        log(`[${r.method} s${r.seed}] done: in-domain ${result.after?.inDomain.successRate}, OOD ${result.after?.ood.accuracy}`);
        const store = openStore(r.config.store);
        const items = await collectRunItems(store, result, workflowId);
        const baseHash = await baseHashOf(store, result);
        return {
          method: r.method,
          label: r.label,
          role: r.role,
          seed: r.seed,
          workflowId,
          settings: settingsOf(r),
          result,
          config: r.config,
          baseHash,
          items,
        };
      } catch (err) {
        failures.push(`${r.method} seed ${r.seed} (${workflowId}): ${(err as Error).message}`);
        return null;
      }
    });
  } finally {
    await stopWorkers?.();
    await connection.close();
  }
  if (failures.length) throw new Error(`experiment ${plan.experiment.name}: ${failures.length} campaign(s) failed\n${failures.join('\n')}`);
  const results: ResultsFile = {
    name: plan.experiment.name,
    command: opts.command,
    seconds: Math.round((Date.now() - started) / 1000),
    runs: outcomes.filter((r): r is RunResult => r !== null),
  };
  return { report: writeReport(plan.out, results), results };
}
