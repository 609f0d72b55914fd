// The commands that work on files and stores, without a campaign: generate, profile-suites, export-pivots, ingest
// --check. Each loads its implementation (data-actions.ts, profile-suites.ts) only when it runs.
import { Option, type Command } from 'commander';
import { integerFrom, numberAbove, positiveInteger, positiveNumber, wholeNumber } from './options';

const actions = () => import('./data-actions');

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
    .action(async (o) => (await actions()).generate(o));

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
    .action(async (o) => (await import('./profile-suites')).profileSuitesCommand(o));

  program
    .command('export-pivots')
    .description("write a campaign's pivots as NeMo-Gym pivot rows, with their profiles")
    .usage('(--store <dir> | --config <file>) --campaign <id> --out <file> [options]')
    .option('--store <dir>', 'a local store folder')
    .option('--config <file>', 'a campaign config: its store (local or S3)')
    .requiredOption('--campaign <id>', "the campaign's workflow id")
    .requiredOption('--out <file>', 'JSON Lines file to write')
    .option('--agent <name>', "the Gym config's agent block (agent_ref.name)")
    .action(async (o) => (await actions()).exportPivotsCommand(o));

  program
    .command('ingest')
    .description('check trajectory files without a campaign: every bad line (file:line:field), counts per format')
    .usage('--check <files...> [options]')
    .argument('[files...]', 'JSON Lines files')
    .option('--check', 'check the files (the only mode outside a campaign)', false)
    .addOption(new Option('--format <format>', 'record format').choices(['auto', 'chat', 'nemo-gym']).default('auto'))
    .option('--image <image>', 'sandbox image that replays terminal trajectories without a task block')
    .action(async (files: string[], o) => (await actions()).ingestCommand(files, o));
}
