#!/usr/bin/env node
// The `pivotrl` command (package.json `bin`): runs cli/pivotrl.ts through tsx with the same arguments and exit code.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('./pivotrl.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');
const run = spawnSync(process.execPath, ['--import', tsx, cli, ...process.argv.slice(2)], { stdio: 'inherit' });
if (run.error) throw run.error;
process.exit(run.status ?? 1);
