// The commands that run campaigns on Temporal and steer them: run, experiment, status, pause, resume, stop, set. Each
// loads its implementation (campaigns.ts, experiment.ts, steer.ts) only when it runs.
import type { Command } from 'commander';
import { finiteNumber } from './options';
import type { Steer } from './steer';

export function addCampaignCommands(program: Command): void {
  program
    .command('run')
    .description('run a campaign and follow it (live bars on a terminal, progress lines otherwise), then print its summary')
    .usage('--config <file> [options]')
    .requiredOption('--config <file>', 'campaign config (JSON; every field in core/config.ts)')
    .option('--id <workflow-id>', "the campaign's workflow id (default: its name and the time)")
    .option('--embedded-workers', 'host a CPU and a GPU worker in this process', false)
    .action(async (o) => (await import('./campaigns')).runCommand(o));

  program
    .command('experiment')
    .description('run every method x seed of an experiment as one workflow (or reattach to it), then write its report')
    .usage('--config <file> [options]')
    .requiredOption('--config <file>', 'experiment config (configs/experiment.json)')
    .option('--embedded-workers', 'host a CPU and a GPU worker in this process', false)
    .option('--report-only', 'rewrite the report from its results.json alone', false)
    .action(async (o) => (await import('./experiment')).experimentCommand(o));

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
      .action(async (id: string) => (await import('./steer')).steer(name, id));
  }

  program
    .command('set')
    .description("change a running campaign's hyper-parameters (the workflow refuses a bad value)")
    .argument('<id>', "the campaign's workflow id")
    .option('--lr <x>', 'learning rate', finiteNumber)
    .option('--clip-eps <x>', 'PPO clip epsilon', finiteNumber)
    .option('--kl-beta <x>', 'KL penalty weight', finiteNumber)
    .option('--temperature <x>', 'sampling temperature', finiteNumber)
    .action(async (id: string, change) => (await import('./steer')).steer('set', id, change));
}
