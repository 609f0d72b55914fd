// The commands that run campaigns on Temporal and steer them: run, experiment, status, pause, resume, stop, set.
import type { Command } from 'commander';
import { assertInputsExist, loadCampaignConfig } from '../pipeline/config-file';
import type { Hyper } from '../pipeline/campaign-state';
import { loadExperiment } from '../experiment/plan';
import { hyperUpdate, pauseUpdate, progressQuery, stopUpdate } from '../workflows/campaign';
import { runCampaign } from './campaigns';
import { connectClient, envTarget } from './connect';
import { reportFromResults, runExperiment } from './experiment';
import { formatProgressLine } from './format';
import { finiteNumber } from './options';

/** Live bars on stdout when it is a terminal; progress lines otherwise (a log, a pipe). */
const terminal = () => (process.stdout.isTTY ? process.stdout : undefined);

async function run(o: { config: string; id?: string; embeddedWorkers: boolean }): Promise<void> {
  const config = loadCampaignConfig(o.config);
  assertInputsExist(config, o.config);
  await runCampaign(config, { id: o.id, embeddedWorkers: o.embeddedWorkers, terminal: terminal() });
}

async function experiment(o: { config: string; embeddedWorkers: boolean; reportOnly: boolean }): Promise<void> {
  const plan = loadExperiment(o.config);
  if (o.reportOnly) return void console.log(`wrote ${reportFromResults(plan.out)}`);
  const command = `pivotrl experiment --config ${o.config}`;
  const { report } = await runExperiment(plan, { where: o.config, command, embeddedWorkers: o.embeddedWorkers, terminal: terminal() });
  console.log(`wrote ${report}`);
}

type Steer = 'status' | 'pause' | 'resume' | 'stop' | 'set';

/** Sends the command's Update (none for status), then prints the campaign's progress line. */
async function steer(command: Steer, id: string, change: Partial<Hyper> = {}): Promise<void> {
  const client = await connectClient(envTarget());
  try {
    const handle = client.workflow.getHandle(id);
    if (command === 'pause' || command === 'resume') await handle.executeUpdate(pauseUpdate, { args: [command === 'pause'] });
    if (command === 'stop') await handle.executeUpdate(stopUpdate, { args: [] });
    if (command === 'set') console.log(JSON.stringify(await handle.executeUpdate(hyperUpdate, { args: [change] })));
    console.log(formatProgressLine(await handle.query(progressQuery)));
  } finally {
    await client.connection.close();
  }
}

export function addCampaignCommands(program: Command): void {
  program
    .command('run')
    .description('run a campaign and follow it (live bars on a terminal, progress lines otherwise), then print its summary')
    .usage('--config <file> [options]')
    .requiredOption('--config <file>', 'campaign config (JSON; every field in core/config.ts)')
    .option('--id <workflow-id>', "the campaign's workflow id (default: its name and the time)")
    .option('--embedded-workers', 'host a CPU and a GPU worker in this process', false)
    .action(run);

  program
    .command('experiment')
    .description('run every method x seed of an experiment as one workflow (or reattach to it), then write its report')
    .usage('--config <file> [options]')
    .requiredOption('--config <file>', 'experiment config (configs/experiment.json)')
    .option('--embedded-workers', 'host a CPU and a GPU worker in this process', false)
    .option('--report-only', 'rewrite the report from its results.json alone', false)
    .action(experiment);

  const steering: [Steer, string][] = [
    ['status', "print the campaign's progress"],
    ['pause', 'pause the campaign at its next step'],
    ['resume', 'resume a paused campaign'],
    ['stop', 'stop the campaign at a step boundary (it evaluates, then ends)'],
  ];
  for (const [name, description] of steering) {
    program
      .command(name)
      .description(description)
      .argument('<id>', "the campaign's workflow id")
      .action((id: string) => steer(name, id));
  }

  program
    .command('set')
    .description("change a running campaign's hyper-parameters (the workflow refuses a bad value)")
    .argument('<id>', "the campaign's workflow id")
    .option('--lr <x>', 'learning rate', finiteNumber)
    .option('--clip-eps <x>', 'PPO clip epsilon', finiteNumber)
    .option('--kl-beta <x>', 'KL penalty weight', finiteNumber)
    .option('--temperature <x>', 'sampling temperature', finiteNumber)
    .action((id: string, change: Partial<Hyper>) => steer('set', id, change));
}
