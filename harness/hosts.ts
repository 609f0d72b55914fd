// Harness (tests and benches): worker hosts in network namespaces (deploy/hosts/hosts.sh, the commands ops run), and a production
// stack of the test's own (deploy/prod/up.sh with its own state and ports, so a stack someone else runs is untouched).
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { StoreConfig } from '../store';
import type { DataConverter } from '@temporalio/common';
import type { TemporalSettings } from '../workers/connection';
import { dataConverterFromEnv } from '../workers/data-converter';
import { prodStateDir, prodUp, readStackEnv, stackSettings } from './prod-stack';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '..');
/** The bridge's address: what hosts reach this machine's services through. */
export const GATEWAY = '10.231.0.1';

async function sh(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await run(join(REPO, script), args, { env: { ...process.env, ...env }, maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${script} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

export type WorkerKind = 'cpu' | 'gpu';

export interface Hosts {
  /** Creates host `name` with address 10.231.0.<n> (idempotent). */
  add(name: string, n: number): Promise<void>;
  /** Starts a worker on the host with `env` (TEMPORAL_ADDRESS as the host reaches it, queues...); resolves once it polls. */
  start(name: string, kind: WorkerKind, env: Record<string, string>): Promise<void>;
  cut(name: string): Promise<void>;
  restore(name: string): Promise<void>;
  /** SIGTERM: the host's workers drain and close their sandboxes. */
  stop(name: string): Promise<void>;
  /** SIGKILL to every process of the host. */
  kill(name: string): Promise<void>;
  /** Kills the host's processes and deletes its namespace. */
  remove(name: string): Promise<void>;
  /** Processes running on the host. */
  processes(name: string): Promise<number>;
  /** What a host's worker printed so far. */
  log(name: string, kind: WorkerKind): string;
}

/** Host commands, with the workers' logs under `state`/hosts ($PIVOTRL_STATE of hosts.sh). */
export function hostsIn(state: string): Hosts {
  const hosts = (args: string[], env: Record<string, string> = {}) => sh('deploy/hosts/hosts.sh', args, { PIVOTRL_STATE: state, ...env });
  return {
    add: async (name, n) => void (await hosts(['add', name, String(n)])),
    start: async (name, kind, env) => void (await hosts(['start', name, kind], env)),
    cut: async (name) => void (await hosts(['cut', name])),
    restore: async (name) => void (await hosts(['restore', name])),
    stop: async (name) => void (await hosts(['stop', name])),
    kill: async (name) => void (await hosts(['kill', name])),
    remove: async (name) => void (await hosts(['remove', name])),
    async processes(name) {
      const { stdout } = await run('ip', ['netns', 'pids', `pv-${name}`]).catch(() => ({ stdout: '' }));
      return stdout.split('\n').filter(Boolean).length;
    },
    log: (name, kind) => readFileSync(join(state, 'hosts', `${name}-${kind}.log`), 'utf8'),
  };
}

export interface ProdStack {
  /** $PIVOTRL_STATE of the stack (and of the hosts' logs). */
  state: string;
  /** Temporal frontend as this process reaches it, and as the hosts do (through the bridge). */
  address: string;
  /** Options for Connection.connect / NativeConnection.connect from this process: the address and the cli certificate. */
  connection: TemporalSettings['connection'];
  hostAddress: string;
  namespace: string;
  /** The payload codec with the stack's key (its workers encrypt every payload): clients of the stack need it. */
  dataConverter: DataConverter | undefined;
  /** The artefact store as this process reaches it (the hosts' workers reach it through the bridge: PIVOTRL_S3_ENDPOINT). */
  store: StoreConfig;
  /**
   * What a host's worker needs besides its queues: the server and the bucket as hosts reach them, the S3 credentials,
   * the worker certificate (the server's certificate names the bridge's address too: PIVOTRL_TLS_SANS).
   */
  workerEnv: Record<string, string>;
  /** Stops the Temporal server and starts it again on its database. */
  restartTemporal(pauseMs?: number): Promise<void>;
  /** Stops the stack and deletes its state. */
  down(): Promise<void>;
}

/** Whether nothing listens on `port` (any address). */
const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });

/**
 * Brings up the production stack in a state directory of its own, on the default ports plus the first offset from
 * `offsets` whose ports are all free, its services on `bindAddress` (all addresses by default: hosts reach them through
 * the bridge, which exists only once a host is added). Sets the workers' S3 keys in this process's environment (the
 * store reads the standard AWS variables).
 */
export async function startProdStack(offsets: number[], bindAddress = '0.0.0.0'): Promise<ProdStack> {
  const defaults = { temporal: 7243, ui: 8243, s3: 7070, pg: 5432, codec: 8248 };
  // The frontend, then the other services' ports from the base (deploy/prod/temporal.sh: 7244..7250); the UI's login
  // proxy and the UI server behind it (ui + 1); the codec server.
  const portsAt = (o: number) =>
    [
      defaults.temporal,
      ...Array.from({ length: 7 }, (_, i) => 7244 + i),
      defaults.ui,
      defaults.ui + 1,
      defaults.s3,
      defaults.pg,
      defaults.codec,
    ].map((p) => p + o);
  let offset: number | undefined;
  for (const o of offsets) {
    if ((await Promise.all(portsAt(o).map(portFree))).every(Boolean)) {
      offset = o;
      break;
    }
  }
  if (offset === undefined) throw new Error(`no free ports for a production stack at offsets ${offsets.join(', ')}`);
  const state = mkdtempSync(join(tmpdir(), 'pivotrl-prod-'));
  chmodSync(state, 0o755); // PostgreSQL runs as `postgres` and must reach its data directory inside
  const env = {
    ...process.env,
    PIVOTRL_STATE: state,
    PIVOTRL_BIND_ADDRESS: bindAddress,
    PIVOTRL_PROD_TEMPORAL_PORT: String(defaults.temporal + offset),
    PIVOTRL_PROD_TEMPORAL_PORT_BASE: String(7244 + offset),
    PIVOTRL_PROD_UI_PORT: String(defaults.ui + offset),
    PIVOTRL_S3_PORT: String(defaults.s3 + offset),
    PIVOTRL_PG_PORT: String(defaults.pg + offset),
    PIVOTRL_CODEC_PORT: String(defaults.codec + offset),
    PIVOTRL_TLS_SANS: `IP:${GATEWAY}`,
  };
  const down = async () => {
    await sh('deploy/prod/down.sh', [], env);
    rmSync(state, { recursive: true, force: true });
  };
  try {
    await prodUp(env);
  } catch (err) {
    await down().catch(() => {});
    throw err;
  }
  const vars = readStackEnv(join(prodStateDir(env), 'stack.env'));
  const worker = readStackEnv(join(prodStateDir(env), 'worker.env'));
  const aws = { AWS_ACCESS_KEY_ID: vars.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: vars.AWS_SECRET_ACCESS_KEY, AWS_REGION: vars.AWS_REGION };
  Object.assign(process.env, aws);
  const viaBridge = (url: string) => url.replace('127.0.0.1', GATEWAY);
  const hostAddress = viaBridge(vars.TEMPORAL_ADDRESS);
  return {
    state,
    address: vars.TEMPORAL_ADDRESS,
    connection: stackSettings(vars).connection,
    hostAddress,
    namespace: vars.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterFromEnv({ PIVOTRL_PAYLOAD_KEYS: vars.PIVOTRL_PAYLOAD_KEYS }),
    store: {
      kind: 's3',
      bucket: vars.PIVOTRL_S3_BUCKET,
      endpoint: vars.PIVOTRL_S3_ENDPOINT,
      region: aws.AWS_REGION,
      prefix: '',
      forcePathStyle: true,
    },
    workerEnv: {
      ...worker,
      TEMPORAL_ADDRESS: hostAddress,
      PIVOTRL_S3_ENDPOINT: viaBridge(vars.PIVOTRL_S3_ENDPOINT),
      ...aws,
    },
    async restartTemporal(pauseMs = 2000) {
      await sh('deploy/prod/temporal.sh', ['stop'], env);
      await new Promise((r) => setTimeout(r, pauseMs));
      await sh('deploy/prod/temporal.sh', ['start'], env);
    },
    down,
  };
}
