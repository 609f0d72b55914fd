// pivotrl: generate the task suites, run a campaign and watch it, steer a running one.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { firstIssue } from '../core/zod-errors';
import { ConfigError, assertInputsExist, loadCampaignConfig } from '../pipeline/config-file';
import { generateTerminalSuite } from '../tasks/terminal/suite';
import { generateSweSuite } from '../tasks/swe/suite';
import { generateOodSuite, parseOodLevels } from '../tasks/ood';
import { generateToolSuite } from '../tasks/tool/suite';
import { ProfileSuitesOptions, formatSuitesTable, profileSuites, writeSuitesReport } from './profile-suites';
import type { Hyper } from '../pipeline/campaign-state';
import { progressQuery, pauseUpdate, stopUpdate, hyperUpdate } from '../workflows/campaign';
import { loadExperiment } from '../experiment/plan';
import { reportFromResults, runExperiment } from './experiment';
import { runCampaign } from './campaigns';
import { temporalSettings } from '../workers/connection';
import { formatProgressLine } from './format';
import { exportPivots } from '../pipeline/export-pivots';
import { checkPassed, checkSources, formatBadLine, formatCheck } from '../pipeline/ingest-check';
import { TrajectorySource } from '../core/trajectory-source';
import { BadInputError } from '../pipeline/jsonl-reader';
import { LocalStore } from '../store';
import { dataConverterFromEnv } from '../workers/data-converter';

const USAGE = `usage:
  pivotrl generate --out DIR [--seed N] [--train N] [--heldout N] [--heldout-templates A,B] [--ood N] [--ood-level L|KIND:L,..]
                   [--swe-train N] [--swe-heldout N] [--tool-train N] [--tool-heldout N]
  pivotrl profile-suites [--checkpoint DIR] [--seed N] [--k N] [--terminal-tasks N] [--swe-tasks N] [--tool-tasks N] [--out PATH]
  pivotrl run --config FILE [--id WORKFLOW_ID] [--embedded-workers]
  pivotrl experiment --config FILE [--embedded-workers] [--report-only]
  pivotrl status ID | pause ID | resume ID | stop ID
  pivotrl set ID [--lr X] [--clip-eps X] [--kl-beta X] [--temperature X]
  pivotrl export-pivots --store DIR --campaign ID --out FILE [--agent NAME]
  pivotrl ingest --check FILE... [--format auto|chat|nemo-gym] [--image SANDBOX_IMAGE]
                   validates trajectory files without a campaign: every bad line as file:line:field, counts per format,
                   how each turn will be verified; exit status 1 when any line is bad`;

function writeJsonl(path: string, rows: unknown[]): void {
  writeFileSync(path, rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

function generate(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: 'string' },
      seed: { type: 'string', default: '1' },
      train: { type: 'string', default: '320' },
      heldout: { type: 'string', default: '40' },
      /** Terminal templates kept out of training (held-out tasks come from them only). */
      'heldout-templates': { type: 'string', default: '' },
      ood: { type: 'string', default: '50' },
      /** How far OOD items reach beyond pi0's pretraining suite (tasks/ood.ts); absent: level 0, that suite. */
      'ood-level': { type: 'string' },
      'swe-train': { type: 'string', default: '54' },
      'swe-heldout': { type: 'string', default: '18' },
      'tool-train': { type: 'string', default: '60' },
      'tool-heldout': { type: 'string', default: '24' },
    },
  });
  if (!values.out) throw new ConfigError('generate: --out DIR is required');
  const seed = Number(values.seed);
  const heldoutTemplates = values['heldout-templates'].split(',').filter(Boolean);
  const oodLevels = values['ood-level'] === undefined ? undefined : oodLevelsOption(values['ood-level']);
  const suite = generateTerminalSuite({ seed, trainTasks: Number(values.train), heldoutTasks: Number(values.heldout), heldoutTemplates });
  mkdirSync(values.out, { recursive: true });
  writeJsonl(join(values.out, 'terminal-train.jsonl'), suite.train);
  writeJsonl(join(values.out, 'terminal-heldout.jsonl'), suite.heldout);
  writeJsonl(join(values.out, 'ood.jsonl'), generateOodSuite({ seed, n: Number(values.ood), levels: oodLevels }));
  const [sweTrain, sweHeldout] = [Number(values['swe-train']), Number(values['swe-heldout'])];
  if (sweTrain > 0 || sweHeldout > 0) {
    const swe = generateSweSuite({ seed, trainTasks: sweTrain, heldoutTasks: sweHeldout });
    writeJsonl(join(values.out, 'swe-train.jsonl'), swe.train);
    writeJsonl(join(values.out, 'swe-heldout.jsonl'), swe.heldout);
    console.log(`wrote ${swe.train.length} SWE trajectories and ${swe.heldout.length} held-out SWE repositories to ${values.out}`);
  }
  const [toolTrain, toolHeldout] = [Number(values['tool-train']), Number(values['tool-heldout'])];
  if (toolTrain > 0 || toolHeldout > 0) {
    const tool = generateToolSuite({ seed, trainTasks: toolTrain, heldoutTasks: toolHeldout });
    writeJsonl(join(values.out, 'tool-train.jsonl'), tool.train);
    writeJsonl(join(values.out, 'tool-heldout.jsonl'), tool.heldout);
    console.log(`wrote ${tool.train.length} tool-use trajectories and ${tool.heldout.length} held-out tool-use tasks to ${values.out}`);
  }
  console.log(
    `wrote ${suite.train.length} trajectories, ${suite.heldout.length} held-out tasks and ${values.ood} OOD items to ${values.out}`,
  );
}

function oodLevelsOption(text: string) {
  try {
    return parseOodLevels(text);
  } catch (err) {
    throw new ConfigError(`generate: --ood-level: ${(err as Error).message}`);
  }
}

/** Profiles a checkpoint on each suite's training turns (cli/profile-suites.ts) and writes the report. */
async function profileSuitesCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      checkpoint: { type: 'string', default: 'models/pi0' },
      seed: { type: 'string', default: '1' },
      k: { type: 'string', default: '8' },
      'lambda-diff': { type: 'string', default: '0.6' },
      'terminal-tasks': { type: 'string', default: '96' },
      'swe-tasks': { type: 'string', default: '54' },
      'tool-tasks': { type: 'string', default: '60' },
      temperature: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '2' },
      out: { type: 'string', default: 'reports/suites' },
    },
  });
  const parsed = ProfileSuitesOptions.safeParse({
    checkpoint: values.checkpoint,
    seed: Number(values.seed),
    k: Number(values.k),
    lambdaDiff: Number(values['lambda-diff']),
    tasks: { terminal: Number(values['terminal-tasks']), swe: Number(values['swe-tasks']), tool: Number(values['tool-tasks']) },
    temperature: Number(values.temperature),
    concurrency: Number(values.concurrency),
  });
  if (!parsed.success) throw new ConfigError(`profile-suites: option ${firstIssue(parsed.error)}`);
  const result = await profileSuites(parsed.data);
  await writeSuitesReport(values.out, result);
  console.log(formatSuitesTable(result.report));
  console.log(`wrote ${values.out}.md, ${values.out}.json and ${values.out}.verdicts.jsonl`);
}

/** The campaign's pivots as NeMo-Gym pivot rows with their profiling statistics (formats/nemo-gym.ts). */
async function exportPivotsCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { store: { type: 'string' }, campaign: { type: 'string' }, out: { type: 'string' }, agent: { type: 'string' } },
  });
  if (!values.store || !values.campaign || !values.out)
    throw new ConfigError('export-pivots: --store DIR, --campaign ID and --out FILE are required');
  const result = await exportPivots(new LocalStore(values.store), values.campaign, values.out, { agent: values.agent });
  console.log(`wrote ${result.rows} pivot rows to ${result.out}`);
}

/** `pivotrl ingest --check`: the files read as a campaign's ingest would read them; exit status 1 when any line is bad. */
async function ingestCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { check: { type: 'boolean', default: false }, format: { type: 'string', default: 'auto' }, image: { type: 'string' } },
  });
  if (!values.check) throw new ConfigError('ingest: only --check runs outside a campaign (`pivotrl run` ingests its data)');
  if (positionals.length === 0) throw new ConfigError('ingest --check: name at least one FILE');
  const sources = positionals.map((path, i) => {
    const parsed = TrajectorySource.safeParse({ path, format: values.format, ...(values.image && { image: values.image }) });
    if (!parsed.success) throw new ConfigError(`ingest --check: ${positionals[i]}: ${firstIssue(parsed.error)}`);
    return parsed.data;
  });
  const result = await checkSources(sources, (bad) => console.log(formatBadLine(bad)));
  console.log(formatCheck(result));
  if (!checkPassed(result)) process.exitCode = 1;
}

/**
 * `pivotrl set`'s options as the hyper-parameter change to send. A value that is not a number is refused here, before
 * anything is sent (JSON would carry NaN as null); its range is the workflow's Update validator's to check.
 */
function hyperChange(values: Record<string, string | boolean | undefined>): Partial<Hyper> {
  const num = (option: string): number | undefined => {
    const v = values[option];
    if (typeof v !== 'string') return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`set: --${option} expects a number, not '${v}'`);
    return n;
  };
  const change = { lr: num('lr'), clipEps: num('clip-eps'), klBeta: num('kl-beta'), temperature: num('temperature') };
  return Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined));
}

async function client(): Promise<Client> {
  const settings = temporalSettings();
  return new Client({
    connection: await Connection.connect(settings.connection),
    namespace: settings.namespace,
    dataConverter: dataConverterFromEnv(),
  });
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'generate':
      return generate(rest);
    case 'export-pivots':
      return exportPivotsCommand(rest);
    case 'ingest':
      return ingestCommand(rest);
    case 'profile-suites':
      return profileSuitesCommand(rest);
    case 'experiment': {
      const { values } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string' },
          'embedded-workers': { type: 'boolean', default: false },
          'report-only': { type: 'boolean', default: false },
        },
      });
      if (!values.config) throw new ConfigError('experiment: --config FILE is required');
      const plan = loadExperiment(values.config);
      if (values['report-only']) return void console.log(`wrote ${reportFromResults(plan.out)}`);
      const command = `pivotrl experiment --config ${values.config}`;
      const { report } = await runExperiment(plan, { where: values.config, command, embeddedWorkers: values['embedded-workers'] });
      console.log(`wrote ${report}`);
      return;
    }
    case 'run': {
      const { values } = parseArgs({
        args: rest,
        options: { config: { type: 'string' }, id: { type: 'string' }, 'embedded-workers': { type: 'boolean', default: false } },
      });
      if (!values.config) throw new ConfigError('run: --config FILE is required');
      const config = loadCampaignConfig(values.config);
      assertInputsExist(config, values.config);
      await runCampaign(config, { id: values.id, embeddedWorkers: values['embedded-workers'] });
      return;
    }
    case 'status':
    case 'pause':
    case 'resume':
    case 'stop':
    case 'set': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { lr: { type: 'string' }, 'clip-eps': { type: 'string' }, 'kl-beta': { type: 'string' }, temperature: { type: 'string' } },
      });
      const id = positionals[0];
      if (!id) throw new ConfigError(`${command}: the campaign's workflow id is required`);
      const change = command === 'set' ? hyperChange(values) : {};
      const handle = (await client()).workflow.getHandle(id);
      if (command === 'pause' || command === 'resume') await handle.executeUpdate(pauseUpdate, { args: [command === 'pause'] });
      if (command === 'stop') await handle.executeUpdate(stopUpdate, { args: [] });
      if (command === 'set') {
        console.log(JSON.stringify(await handle.executeUpdate(hyperUpdate, { args: [change] })));
      }
      console.log(formatProgressLine(await handle.query(progressQuery)));
      return;
    }
    case 'help':
    case '--help':
    case '-h':
      return void console.log(USAGE);
    default:
      console.error(USAGE);
      process.exitCode = 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof ConfigError || err instanceof BadInputError ? err.message : err);
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
}
