// pivotrl: generate the task suites, run a campaign and watch it, steer a running one. The commands are declared in
// data-commands.ts and campaign-commands.ts (each loads its implementation when it runs, so `--help` is quick); this
// file makes the program and turns every outcome into an exit status (cli/exit-status.ts).
import { Command, CommanderError } from 'commander';
import { addCampaignCommands } from './campaign-commands';
import { addDataCommands } from './data-commands';

const EXIT_CODES = `
Exit status:
  0  done
  1  the command ran and failed: a campaign or experiment failed, \`ingest --check\` found bad lines
  2  bad usage or bad input: an unknown command or option, a bad number, an invalid config or data file
  3  Temporal is unreachable

Temporal: the config's temporal.address and .namespace when it names them (run, experiment), else Temporal's own
settings: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default default), TEMPORAL_TLS_* (mTLS),
TEMPORAL_API_KEY, or a profile (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE). PIVOTRL_PAYLOAD_KEYS turns the payload codec on.`;

export function makeProgram(): Command {
  const program = new Command('pivotrl')
    .description('PivotRL post-training as a durable pipeline on Temporal')
    .addHelpText('after', EXIT_CODES)
    .exitOverride()
    .configureOutput({
      // Commander says "argument 'abc' is invalid. a positive integer"; the reason reads better after a colon.
      outputError: (text, write) => write(text.replace(/ is invalid\. /, ' is invalid: ')),
    });
  addDataCommands(program);
  addCampaignCommands(program);
  for (const command of program.commands) {
    command.exitOverride();
    // After an error, the command's usage line rather than its whole help.
    command.showHelpAfterError(`usage: pivotrl ${command.name()} ${command.usage()}\n(pivotrl ${command.name()} --help lists the options)`);
  }
  program.showHelpAfterError(`usage: pivotrl ${program.usage()}\n(pivotrl --help lists the commands)`);
  return program;
}

/** Runs the command `argv` names; resolves to its exit status (commander has printed its own errors and help). */
export async function main(argv: string[]): Promise<number> {
  try {
    await makeProgram().parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    const { outcomeOf } = await import('./exit-status');
    const { status, message } = outcomeOf(err);
    console.error(`error: ${message}`);
    return status;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exit(await main(process.argv.slice(2)));
}
