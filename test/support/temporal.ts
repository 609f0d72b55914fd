// Test support: a throwaway Temporal dev server (the pinned CLI from deploy/local/temporal-cli.sh) on free
// ports, with the project's custom search attributes registered.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerSearchAttributeFlags } from '../../workflows/search-attributes';

/** The Temporal CLI that deploy/local/temporal-cli.sh installs ($PIVOTRL_CACHE/bin/temporal). */
export function temporalCliPath(): string {
  const cache = process.env.PIVOTRL_CACHE || join(homedir(), '.cache', 'pivotrl');
  return join(cache, 'bin', 'temporal');
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TestTemporal {
  env: TestWorkflowEnvironment;
  /** host:port of the frontend. */
  address: string;
  /** Web UI port, when started with `{ ui: true }`. */
  uiPort?: number;
  stop(): Promise<void>;
}

/**
 * Starts an in-memory dev server (or one on `dbFilename`) on a free port. The search attributes go in as
 * `--search-attribute` flags from the same list deploy/ uses.
 */
export async function startTestTemporal(opts: { ui?: boolean; dbFilename?: string } = {}): Promise<TestTemporal> {
  const path = temporalCliPath();
  if (!existsSync(path)) {
    throw new Error(`Temporal CLI not found at ${path}: run deploy/local/temporal-cli.sh (or deploy/local/up.sh)`);
  }
  const uiPort = opts.ui ? await freePort() : undefined;
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      ip: '127.0.0.1',
      ui: opts.ui ?? false,
      uiPort,
      dbFilename: opts.dbFilename,
      log: { format: 'pretty', level: 'warn' },
      extraArgs: devServerSearchAttributeFlags(),
    },
  });
  return { env, address: env.address, uiPort, stop: () => env.teardown() };
}
