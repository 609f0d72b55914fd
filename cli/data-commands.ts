// The commands that work on files and stores, without a campaign: generate, profile-suites, export-pivots, ingest --check.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { firstIssue } from '../core/zod-errors';
import { TrajectorySource } from '../core/trajectory-source';
import { ConfigError, loadCampaignConfig } from '../pipeline/config-file';
import { exportPivots } from '../pipeline/export-pivots';
import { checkPassed, checkSources, formatBadLine, formatCheck } from '../pipeline/ingest-check';
import { LocalStore, openStore, type ArtefactStore } from '../store';
import { StoreEndpointError, storeAsWorkerReachesIt } from '../store/worker-endpoint';
import { generateOodSuite, parseOodLevels } from '../tasks/ood';
import { generateSweSuite } from '../tasks/swe/suite';
import { generateTerminalSuite } from '../tasks/terminal/suite';
import { generateToolSuite } from '../tasks/tool/suite';
import { numberAbove, positiveInteger, positiveNumber, integerFrom, wholeNumber } from './options';
import { ProfileSuitesOptions, formatSuitesTable, profileSuites, writeSuitesReport } from './profile-suites';

function writeJsonl(path: string, rows: unknown[]): void {
  writeFileSync(path, rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

function oodLevels(text: string) {
  try {
    return parseOodLevels(text);
  } catch (err) {
    throw new ConfigError(`generate: --ood-level: ${(err as Error).message}`);
  }
}

interface GenerateOptions {
  out: string;
  seed: number;
  train: number;
  heldout: number;
  heldoutTemplates: string;
  ood: number;
  oodLevel?: string;
  sweTrain: number;
  sweHeldout: number;
  toolTrain: number;
  toolHeldout: number;
}

function generate(o: GenerateOptions): void {
  const heldoutTemplates = o.heldoutTemplates.split(',').filter(Boolean);
  const levels = o.oodLevel === undefined ? undefined : oodLevels(o.oodLevel);
  const suite = generateTerminalSuite({ seed: o.seed, trainTasks: o.train, heldoutTasks: o.heldout, heldoutTemplates });
  mkdirSync(o.out, { recursive: true });
  writeJsonl(join(o.out, 'terminal-train.jsonl'), suite.train);
  writeJsonl(join(o.out, 'terminal-heldout.jsonl'), suite.heldout);
  writeJsonl(join(o.out, 'ood.jsonl'), generateOodSuite({ seed: o.seed, n: o.ood, levels }));
  if (o.sweTrain > 0 || o.sweHeldout > 0) {
    const swe = generateSweSuite({ seed: o.seed, trainTasks: o.sweTrain, heldoutTasks: o.sweHeldout });
    writeJsonl(join(o.out, 'swe-train.jsonl'), swe.train);
    writeJsonl(join(o.out, 'swe-heldout.jsonl'), swe.heldout);
    console.log(`wrote ${swe.train.length} SWE trajectories and ${swe.heldout.length} held-out SWE repositories to ${o.out}`);
  }
  if (o.toolTrain > 0 || o.toolHeldout > 0) {
    const tool = generateToolSuite({ seed: o.seed, trainTasks: o.toolTrain, heldoutTasks: o.toolHeldout });
    writeJsonl(join(o.out, 'tool-train.jsonl'), tool.train);
    writeJsonl(join(o.out, 'tool-heldout.jsonl'), tool.heldout);
    console.log(`wrote ${tool.train.length} tool-use trajectories and ${tool.heldout.length} held-out tool-use tasks to ${o.out}`);
  }
  console.log(`wrote ${suite.train.length} trajectories, ${suite.heldout.length} held-out tasks and ${o.ood} OOD items to ${o.out}`);
}

interface ProfileSuitesFlags {
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

/** Profiles a checkpoint on each suite's training turns (cli/profile-suites.ts) and writes the report. */
async function profileSuitesCommand(o: ProfileSuitesFlags): Promise<void> {
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

/**
 * The store `export-pivots` reads: a local folder (`--store`), or a campaign config's store (`--config`), local or
 * S3, reached as a worker reaches it (PIVOTRL_S3_ENDPOINT; S3 keys from the environment, as the SDK finds them).
 */
export function exportStore(o: { store?: string; config?: string }): ArtefactStore {
  if (o.store !== undefined && o.config !== undefined) throw new ConfigError('export-pivots: give --store DIR or --config FILE, not both');
  if (o.store !== undefined) return new LocalStore(o.store);
  if (o.config === undefined) throw new ConfigError('export-pivots: --store DIR or --config FILE is required');
  const { store } = loadCampaignConfig(o.config);
  try {
    return openStore(storeAsWorkerReachesIt(store, process.env.PIVOTRL_S3_ENDPOINT));
  } catch (err) {
    if (err instanceof StoreEndpointError) throw new ConfigError(`${o.config}: ${err.message}`);
    throw err;
  }
}

/** The campaign's pivots as NeMo-Gym pivot rows with their profiling statistics (formats/nemo-gym.ts). */
async function exportPivotsCommand(o: { store?: string; config?: string; campaign: string; out: string; agent?: string }): Promise<void> {
  const result = await exportPivots(exportStore(o), o.campaign, o.out, { agent: o.agent });
  console.log(`wrote ${result.rows} pivot rows to ${result.out}`);
}

/** `pivotrl ingest --check`: the files read as a campaign's ingest would read them; exit status 1 when any line is bad. */
async function ingestCommand(files: string[], o: { check: boolean; format: string; image?: string }): Promise<void> {
  if (!o.check) throw new ConfigError('ingest: only --check runs outside a campaign (`pivotrl run` ingests its data)');
  if (files.length === 0) throw new ConfigError('ingest --check: name at least one FILE');
  const sources = files.map((path) => {
    const parsed = TrajectorySource.safeParse({ path, format: o.format, ...(o.image && { image: o.image }) });
    if (!parsed.success) throw new ConfigError(`ingest --check: ${path}: ${firstIssue(parsed.error)}`);
    return parsed.data;
  });
  const result = await checkSources(sources, (bad) => console.log(formatBadLine(bad)));
  console.log(formatCheck(result));
  if (!checkPassed(result)) process.exitCode = 1;
}

export function addDataCommands(program: Command): void {
  program
    .command('generate')
    .description('write the task suites (terminal, SWE, tool use, out-of-domain) as JSON Lines')
    .usage('--out <dir> [options]')
    .requiredOption('--out <dir>', 'folder to write the suites to')
    .option('--seed <n>', 'suite seed', wholeNumber, 1)
    .option('--train <n>', 'terminal training trajectories', positiveInteger, 320)
    .option('--heldout <n>', 'held-out terminal tasks', wholeNumber, 40)
    .option('--heldout-templates <a,b>', 'terminal templates kept out of training (held-out tasks come from them only)', '')
    .option('--ood <n>', 'out-of-domain items', wholeNumber, 50)
    .option('--ood-level <level>', "how far OOD items reach beyond pi0's pretraining suite: L or KIND:L,.. (default: level 0)")
    .option('--swe-train <n>', 'SWE training trajectories', wholeNumber, 54)
    .option('--swe-heldout <n>', 'held-out SWE repositories', wholeNumber, 18)
    .option('--tool-train <n>', 'tool-use training trajectories', wholeNumber, 60)
    .option('--tool-heldout <n>', 'held-out tool-use tasks', wholeNumber, 24)
    .action(generate);

  program
    .command('profile-suites')
    .description("profile a checkpoint with K samples on each suite's training turns, write the report")
    .option('--checkpoint <dir>', 'checkpoint folder', 'models/pi0')
    .option('--seed <n>', 'suite seed', wholeNumber, 1)
    .option('--k <n>', 'samples per turn', integerFrom(2), 8)
    .option('--lambda-diff <x>', 'pivot filter: mean reward below it', numberAbove(0, 1), 0.6)
    .option('--terminal-tasks <n>', 'terminal tasks', wholeNumber, 96)
    .option('--swe-tasks <n>', 'SWE tasks', wholeNumber, 54)
    .option('--tool-tasks <n>', 'tool-use tasks', wholeNumber, 60)
    .option('--temperature <x>', 'sampling temperature', positiveNumber, 1)
    .option('--concurrency <n>', 'sandboxes at once per suite', positiveInteger, 2)
    .option('--out <path>', 'report path without extension', 'reports/suites')
    .action(profileSuitesCommand);

  program
    .command('export-pivots')
    .description("write a campaign's pivots as NeMo-Gym pivot rows, with their profiles")
    .usage('(--store <dir> | --config <file>) --campaign <id> --out <file> [options]')
    .option('--store <dir>', 'a local store folder')
    .option('--config <file>', 'a campaign config: its store (local or S3)')
    .requiredOption('--campaign <id>', "the campaign's workflow id")
    .requiredOption('--out <file>', 'JSON Lines file to write')
    .option('--agent <name>', "the Gym config's agent block (agent_ref.name)")
    .action(exportPivotsCommand);

  program
    .command('ingest')
    .description('check trajectory files without a campaign: every bad line (file:line:field), counts per format')
    .usage('--check <files...> [options]')
    .argument('[files...]', 'JSON Lines files')
    .option('--check', 'check the files (the only mode outside a campaign)', false)
    .addOption(new Option('--format <format>', 'record format').choices(['auto', 'chat', 'nemo-gym']).default('auto'))
    .option('--image <image>', 'sandbox image that replays terminal trajectories without a task block')
    .action(ingestCommand);
}
