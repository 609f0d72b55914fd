// `pivotrl profile-suites`: profiles a checkpoint (pi0 by default) with K samples on the training turns of each
// suite, through a campaign's own generate and verify stages (functional verifiers, real sandboxes), and reports
// per suite how the candidates split into all-0, all-1, pivots and mixed-but-too-easy. Writes <out>.md, <out>.json
// and the verdicts the table is computed from (<out>.verdicts.jsonl).
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { seedOf } from '../core/rng';
import { firstIssue } from '../core/zod-errors';
import { Verdict, type Turn } from '../core/schemas';
import { ConfigError } from '../pipeline/config-file';
import { generateSamples } from '../pipeline/generate';
import { promptRowOf } from '../pipeline/records';
import { verifySamples, type VerifierFactory } from '../pipeline/verify';
import { PivotSummary, profileCandidate, summarisePivots } from '../pivotrl/pivots';
import { importCheckpointDir } from '../policy/checkpoint';
import { openInProcessPolicyEngine } from '../policy/engine';
import type { Sampler } from '../policy/openai';
import { DEFAULT_ACTION_TIMEOUT_MS } from '../sandboxes/limits';
import { connectEngine } from '../sandboxes/engine';
import { LocalStore, getJsonl, putJsonl, type ArtefactStore } from '../store';
import { ACTION_TOKENS, turnsOf } from '../tasks/domains';
import { SUITES, trainTrajectories, type SuiteName } from '../tasks/suites';
import { createVerifier } from '../verifiers';

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

/** The checkpoint's key in the scratch store. */
const CHECKPOINT = 'policy';

/** Where a suite's records go in the scratch store. */
const suiteKeys = (suite: SuiteName) => ({
  turns: `${suite}/turns.jsonl`,
  prompts: `${suite}/prompts.jsonl`,
  samples: `${suite}/samples.jsonl`,
  verdicts: `${suite}/verdicts.jsonl`,
});

/** A suite's training turns through the campaign's own generate and verify stages, in a scratch store. */
async function profileSuite(
  store: ArtefactStore,
  sampler: Sampler,
  makeVerifier: VerifierFactory,
  suite: SuiteName,
  turns: Turn[],
  o: ProfileSuitesOptions,
): Promise<Verdict[]> {
  const keys = suiteKeys(suite);
  await putJsonl(store, keys.turns, turns);
  await putJsonl(
    store,
    keys.prompts,
    turns.map((t) => promptRowOf(t.id, t, t.history)),
  );
  const sampling = {
    n: o.k,
    temperature: o.temperature,
    topP: 1,
    maxTokens: o.maxActionTokens[suite],
    seed: seedOf(o.seed, 'profile-suites', suite),
  };
  await generateSamples(store, sampler, { checkpoint: CHECKPOINT, prompts: keys.prompts, out: keys.samples, sampling });
  await verifySamples(store, makeVerifier, {
    turns: keys.turns,
    samples: keys.samples,
    out: keys.verdicts,
    verifier: 'functional',
    concurrency: o.concurrency,
    actionTimeoutMs: DEFAULT_ACTION_TIMEOUT_MS,
  });
  return getJsonl(store, keys.verdicts, (v) => Verdict.parse(v));
}

export async function profileSuites(o: ProfileSuitesOptions, log: (line: string) => void = console.log) {
  const started = performance.now();
  const scratch = await mkdtemp(join(tmpdir(), 'pivotrl-profile-suites-'));
  const engine = openInProcessPolicyEngine({ store: { kind: 'local', root: scratch }, onLog: () => {} });
  try {
    const store = new LocalStore(scratch);
    const backend = await engine.backend();
    const hash = await importCheckpointDir(o.checkpoint, store, CHECKPOINT);
    const docker = connectEngine();
    const makeVerifier: VerifierFactory = (kind, opts) => createVerifier(kind, { docker, owner: 'pivotrl-profile-suites', ...opts });
    const rows: SuiteRow[] = [];
    const verdicts: (Verdict & { suite: SuiteName })[] = [];
    for (const suite of SUITES) {
      const t0 = performance.now();
      const trajectories = trainTrajectories(suite, o.seed, o.tasks[suite]);
      const turns = trajectories.flatMap(turnsOf);
      const got = await profileSuite(store, engine, makeVerifier, suite, turns, o);
      verdicts.push(...got.map((v) => ({ suite, ...v })));
      const row = suiteRow(
        suite,
        trajectories.length,
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
  } finally {
    await engine.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Writes <out>.md (the table), <out>.json (the report) and <out>.verdicts.jsonl (one verdict per sample). */
export async function writeSuitesReport(out: string, r: Awaited<ReturnType<typeof profileSuites>>) {
  await mkdir(dirname(out), { recursive: true });
  await writeFile(`${out}.md`, formatSuitesTable(r.report));
  await writeFile(`${out}.json`, JSON.stringify(r.report, null, 2) + '\n');
  await writeFile(`${out}.verdicts.jsonl`, r.verdicts.map((v) => JSON.stringify(v) + '\n').join(''));
}

export interface ProfileSuitesFlags {
  checkpoint: string;
  seed: number;
  k: number;
  lambdaDiff: number;
  terminalTasks: number;
  sweTasks: number;
  toolTasks: number;
  temperature: number;
  concurrency: number;
  out: string;
}

/** `pivotrl profile-suites`: its options checked against ProfileSuitesOptions, then the profile and its report. */
export async function profileSuitesCommand(o: ProfileSuitesFlags): Promise<void> {
  const parsed = ProfileSuitesOptions.safeParse({
    checkpoint: o.checkpoint,
    seed: o.seed,
    k: o.k,
    lambdaDiff: o.lambdaDiff,
    tasks: { terminal: o.terminalTasks, swe: o.sweTasks, tool: o.toolTasks },
    temperature: o.temperature,
    concurrency: o.concurrency,
  });
  if (!parsed.success) throw new ConfigError(`profile-suites: option ${firstIssue(parsed.error)}`);
  const result = await profileSuites(parsed.data);
  await writeSuitesReport(o.out, result);
  console.log(formatSuitesTable(result.report));
  console.log(`wrote ${o.out}.md, ${o.out}.json and ${o.out}.verdicts.jsonl`);
}
