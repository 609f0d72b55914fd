// `pivotrl profile-suites`: profiles a checkpoint (pi0 by default) with K samples on the training turns of each
// suite, through the pipeline's sampling and functional verifiers (real sandboxes), and reports per suite how the
// candidates split into all-0, all-1, pivots and mixed-but-too-easy. Writes <out>.md, <out>.json and the verdicts
// the table is computed from (<out>.verdicts.jsonl).
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connectEngine } from '../sandboxes/engine';
import { z } from 'zod';
import { seedOf } from '../core/rng';
import { Verdict, type Sample, type Turn } from '../core/schemas';
import { PivotSummary, profileCandidate, summarisePivots } from '../pivotrl/pivots';
import { initBackend } from '../policy/backend';
import { importCheckpointDir, loadCheckpoint } from '../policy/checkpoint';
import { disposeModel } from '../policy/model';
import { sample } from '../policy/sample';
import { LocalStore } from '../store';
import { ACTION_TOKENS, promptOf, turnsOf } from '../tasks/domains';
import { SUITES, trainTrajectories, type SuiteName } from '../tasks/suites';
import { ACTION_STOP } from '../tasks/terminal/render';
import { createVerifier } from '../verifiers/verifier';

/** Prompts per call to the model, as the generate activity chunks them (and seeds each chunk by its start). */
const CHUNK = 64;

export const ProfileSuitesOptions = z.object({
  checkpoint: z.string().min(1),
  /** Suite seed: the training trajectories `pivotrl generate --seed` writes. */
  seed: z.number().int().nonnegative(),
  k: z.number().int().min(2),
  lambdaDiff: z.number().gt(0).max(1),
  tasks: z.record(z.enum(SUITES), z.number().int().nonnegative()),
  temperature: z.number().positive(),
  /** Generation limit per suite (default: the domain's ACTION_TOKENS, what a campaign on that suite uses). */
  maxActionTokens: z.record(z.enum(SUITES), z.number().int().positive()).default(ACTION_TOKENS),
  concurrency: z.number().int().positive(),
});
export type ProfileSuitesOptions = z.infer<typeof ProfileSuitesOptions>;

export const SuiteRow = PivotSummary.extend({ suite: z.enum(SUITES), tasks: z.number().int(), samples: z.number().int() });
export type SuiteRow = z.infer<typeof SuiteRow>;

export const SuitesReport = z.object({
  checkpoint: z.string(),
  checkpointHash: z.string(),
  backend: z.string(),
  options: ProfileSuitesOptions,
  rows: z.array(SuiteRow),
  seconds: z.number(),
});
export type SuitesReport = z.infer<typeof SuitesReport>;

/** A suite's row of the table, from its verdicts (grouped by turn, in turn order). */
export function suiteRow(suite: SuiteName, tasks: number, turnIds: string[], verdicts: Verdict[], lambdaDiff: number): SuiteRow {
  const byTurn = new Map<string, Verdict['reward'][]>(turnIds.map((id) => [id, []]));
  for (const v of verdicts) byTurn.get(v.turnId)?.push(v.reward);
  const profiles = turnIds.map((id) => profileCandidate(id, byTurn.get(id)!));
  return { suite, tasks, samples: verdicts.length, ...summarisePivots(profiles, lambdaDiff) };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function formatSuitesTable(report: SuitesReport): string {
  const o = report.options;
  const head =
    `# pi0 profiled on each suite's training turns\n\n` +
    `Checkpoint \`${report.checkpoint}\` (hash \`${report.checkpointHash.slice(0, 16)}\`), suite seed ${o.seed}, ` +
    `K = ${o.k} samples per turn at temperature ${o.temperature}, lambda_diff = ${o.lambdaDiff}, functional verifiers; ` +
    `${report.seconds} s on backend ${report.backend}. Command: \`npx tsx cli/pivotrl.ts profile-suites\`.\n\n` +
    '| suite | tasks | candidate turns | all-0 | all-1 | pivots | mixed, too easy | unverified | mean turn success |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n';
  const rows = report.rows.map(
    (r) =>
      `| ${r.suite} | ${r.tasks} | ${r.candidates} | ${r.allZero} | ${r.allOne} | ${r.pivots} | ${r.tooEasy} | ${r.unverified} | ${pct(r.meanReward)} |\n`,
  );
  return head + rows.join('');
}

/** Samples K actions per turn with the checkpoint, chunk by chunk as the generate activity does. */
async function sampleTurns(checkpointDir: string, suites: { suite: SuiteName; turns: Turn[] }[], o: ProfileSuitesOptions) {
  const scratch = await mkdtemp(join(tmpdir(), 'pivotrl-profile-suites-'));
  try {
    const store = new LocalStore(scratch);
    const hash = await importCheckpointDir(checkpointDir, store, 'policy');
    const { model } = await loadCheckpoint(store, 'policy');
    const samples = suites.map(({ suite, turns }) => {
      const out: Sample[] = [];
      for (let start = 0; start < turns.length; start += CHUNK) {
        const chunk = turns.slice(start, start + CHUNK);
        const r = sample(
          model,
          chunk.map((t) => promptOf(t, t.history)),
          {
            n: o.k,
            temperature: o.temperature,
            topP: 1,
            maxTokens: o.maxActionTokens[suite],
            stop: [ACTION_STOP],
            seed: seedOf(o.seed, 'profile-suites', suite, start),
          },
        );
        r.completions.forEach((group, i) =>
          group.forEach((c, index) => out.push({ turnId: chunk[i].id, index, text: c.text, stop: c.stop, logprobs: c.logprobs })),
        );
      }
      return out;
    });
    disposeModel(model);
    return { hash, samples };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export async function profileSuites(o: ProfileSuitesOptions, log: (line: string) => void = console.log) {
  const started = performance.now();
  const backend = await initBackend(() => {});
  const suites = SUITES.map((suite) => {
    const trajectories = trainTrajectories(suite, o.seed, o.tasks[suite]);
    return { suite, tasks: trajectories.length, turns: trajectories.flatMap(turnsOf) };
  });
  const { hash, samples } = await sampleTurns(o.checkpoint, suites, o);
  const verifier = createVerifier('functional', { docker: connectEngine(), concurrency: o.concurrency, owner: 'pivotrl-profile-suites' });
  const rows: SuiteRow[] = [];
  const verdicts: (Verdict & { suite: SuiteName })[] = [];
  for (const [i, { suite, tasks, turns }] of suites.entries()) {
    const t0 = performance.now();
    const bySample = samples[i];
    const items = turns.map((turn) => ({ turn, samples: bySample.filter((s) => s.turnId === turn.id) }));
    const got = (await verifier.verifyBatch(items)).map((v) => Verdict.parse(v));
    verdicts.push(...got.map((v) => ({ suite, ...v })));
    const row = suiteRow(
      suite,
      tasks,
      turns.map((t) => t.id),
      got,
      o.lambdaDiff,
    );
    rows.push(row);
    log(
      `${suite}: ${row.candidates} turns, ${row.pivots} pivots, all-0 ${row.allZero}, all-1 ${row.allOne}, ` +
        `mean success ${pct(row.meanReward)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
  const report: SuitesReport = {
    checkpoint: o.checkpoint,
    checkpointHash: hash,
    backend,
    options: o,
    rows,
    seconds: Math.round((performance.now() - started) / 1000),
  };
  return { report, verdicts };
}

/** Writes <out>.md (the table), <out>.json (the report) and <out>.verdicts.jsonl (one verdict per sample). */
export async function writeSuitesReport(out: string, r: Awaited<ReturnType<typeof profileSuites>>) {
  await mkdir(dirname(out), { recursive: true });
  await writeFile(`${out}.md`, formatSuitesTable(r.report));
  await writeFile(`${out}.json`, JSON.stringify(r.report, null, 2) + '\n');
  await writeFile(`${out}.verdicts.jsonl`, r.verdicts.map((v) => JSON.stringify(v) + '\n').join(''));
}
