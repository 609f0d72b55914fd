// Harness (tests and benches): a throwaway Temporal dev server (the pinned CLI from deploy/local/temporal-cli.sh) on free
// ports, with the project's custom search attributes registered.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerSearchAttributeFlags } from '../workflows/search-attributes';
import { telemetryEnv } from '../workers/env';
import { installRuntime } from '../workers/runtime';
import { requireDocker } from './docker';

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

/**
 * The Runtime this process's test server and workers share, installed before either: tests log errors only unless
 * PIVOTRL_LOG_LEVEL says otherwise (and export metrics if PIVOTRL_METRICS_ADDRESS is set).
 */
export function installTestRuntime(): void {
  installRuntime(telemetryEnv({ PIVOTRL_LOG_LEVEL: 'error', ...process.env }));
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
 * `--search-attribute` flags from the same list deploy/ uses; `extraArgs` adds flags such as
 * `--dynamic-config-value limit.historyCount.suggestContinueAsNew=200`.
 */
export async function startTestTemporal(opts: { ui?: boolean; dbFilename?: string; extraArgs?: string[] } = {}): Promise<TestTemporal> {
  const path = temporalCliPath();
  if (!existsSync(path)) {
    throw new Error(`Temporal CLI not found at ${path}: run deploy/local/temporal-cli.sh (or deploy/local/up.sh)`);
  }
  installTestRuntime();
  const uiPort = opts.ui ? await freePort() : undefined;
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      ip: '127.0.0.1',
      ui: opts.ui ?? false,
      uiPort,
      dbFilename: opts.dbFilename,
      log: { format: 'pretty', level: 'warn' },
      extraArgs: [...devServerSearchAttributeFlags(), ...(opts.extraArgs ?? [])],
    },
  });
  return { env, address: env.address, uiPort, stop: () => env.teardown() };
}

/**
 * For a suite of integration tests: `before` them, checks that Docker answers and starts a throwaway dev server
 * (`startTestTemporal(opts)`); `after` them, stops it. The returned object reads through to that server, so use it
 * inside tests only.
 */
export function useTestTemporal(opts: Parameters<typeof startTestTemporal>[0] = {}): TestTemporal {
  let started: TestTemporal | undefined;
  const get = (): TestTemporal => {
    if (!started) throw new Error('the test Temporal server is not started yet: use it inside a test');
    return started;
  };
  before(async () => {
    await requireDocker();
    started = await startTestTemporal(opts);
  });
  after(async () => {
    await started?.stop();
  });
  return {
    get env() {
      return get().env;
    },
    get address() {
      return get().address;
    },
    get uiPort() {
      return get().uiPort;
    },
    stop: () => get().stop(),
  };
}

/** A dev server run as a plain child process, so that a test can stop it and start it again on the same port and db. */
export interface DevServerProcess {
  address: string;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again with the same port, database file and flags. */
  start(): Promise<void>;
}

export async function spawnDevServer(opts: { dbFilename: string; extraArgs?: string[] }): Promise<DevServerProcess> {
  installTestRuntime();
  const path = temporalCliPath();
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const args = [
    'server',
    'start-dev',
    '--headless',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--db-filename',
    opts.dbFilename,
    '--log-level',
    'error',
    ...devServerSearchAttributeFlags(),
    ...(opts.extraArgs ?? []),
  ];
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const healthy = () =>
    new Promise<boolean>((resolve) =>
      execFile(path, ['operator', 'cluster', 'health', '--address', address, '--command-timeout', '2s'], (err) => resolve(!err)),
    );
  const server: DevServerProcess = {
    address,
    async start() {
      const proc = spawn(path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      proc.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      child = proc;
      for (let i = 0; i < 120; i++) {
        if (proc.exitCode !== null) throw new Error(`temporal dev server exited (${proc.exitCode}): ${stderr}`);
        if (await healthy()) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`temporal dev server on ${address} not healthy after 30 s: ${stderr}`);
    },
    async stop() {
      const proc = child;
      if (!proc || proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  await server.start();
  return server;
}
