// Harness (tests and benches): the production stack on this machine (deploy/prod/up.sh) and the client settings it writes (stack.env).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { temporalSettings } from '../workers/connection';

const run = promisify(execFile);
export const REPO = resolve(import.meta.dirname, '..');
export const PROD_UP = join(REPO, 'deploy/prod/up.sh');

/** $PIVOTRL_STATE/prod (PIVOTRL_STATE defaults to <repo>/.pivotrl, as in deploy/local/common.sh). */
export function prodStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.PIVOTRL_STATE || join(REPO, '.pivotrl'), 'prod');
}

/** What clients and workers get (stack.env): the S3 keys are the workers', limited to the bucket. */
export const StackEnv = z.object({
  TEMPORAL_ADDRESS: z.string().regex(/^[^:]+:\d+$/),
  TEMPORAL_NAMESPACE: z.string().min(1),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1),
  PIVOTRL_S3_ENDPOINT: z.url(),
  PIVOTRL_S3_BUCKET: z.string().min(1),
  AWS_ACCESS_KEY_ID: z.string().min(1),
  AWS_SECRET_ACCESS_KEY: z.string().min(1),
  AWS_REGION: z.string().min(1),
  PIVOTRL_UI_URL: z.url(),
  /** The payload codec's key(s) (workers/payload-keys.ts), and its codec server with the header the temporal CLI sends. */
  PIVOTRL_PAYLOAD_KEYS: z.string().min(1),
  TEMPORAL_CODEC_ENDPOINT: z.url(),
  TEMPORAL_CODEC_AUTH: z.string().regex(/^Bearer \S+$/),
  /** The CA of the login proxy's https certificate (the stack's CA, deploy/prod/tls.sh), for clients to trust. */
  PIVOTRL_UI_CERT: z.string().min(1),
});
export type StackEnv = z.infer<typeof StackEnv>;

/** The stack's own secrets (secrets.env, mode 600, deploy/prod/common.sh): for the stack scripts, and tests. */
export const StackSecrets = z.object({
  PIVOTRL_PG_PASSWORD: z.string().min(16),
  PIVOTRL_S3_ACCESS_KEY: z.string().min(1),
  PIVOTRL_S3_SECRET_KEY: z.string().min(16),
  PIVOTRL_S3_WORKER_ACCESS_KEY: z.string().min(1),
  PIVOTRL_S3_WORKER_SECRET_KEY: z.string().min(16),
  PIVOTRL_UI_VIEWER_PASSWORD: z.string().min(16),
  PIVOTRL_UI_OPS_PASSWORD: z.string().min(16),
});
export type StackSecrets = z.infer<typeof StackSecrets>;

/**
 * Parses stack.env, worker.env (`export KEY='value'` lines, as up.sh writes them) or secrets.env (plain `KEY=value`);
 * a bad line or a missing key is an error naming the file, line or key.
 */
function readEnvFile<T extends z.ZodType>(path: string, schema: T): z.infer<T> {
  const values: Record<string, string> = {};
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '' || line.startsWith('#')) return;
      const m = /^(?:export )?([A-Z_][A-Z0-9_]*)=(?:'([^']*)'|([^'\s]*))$/.exec(line);
      if (!m) throw new Error(`${path}:${i + 1}: expected export KEY='value', got ${JSON.stringify(line)}`);
      values[m[1]] = m[2] ?? m[3];
    });
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

export const readStackEnv = (path = join(prodStateDir(), 'stack.env')): StackEnv => readEnvFile(path, StackEnv);
export const readStackSecrets = (path = join(prodStateDir(), 'secrets.env')): StackSecrets => readEnvFile(path, StackSecrets);

/** The connection settings (address, namespace, mTLS) that a stack.env or worker.env gives (workers/connection.ts). */
export const stackSettings = (vars: StackEnv) => temporalSettings({}, vars);

export interface UpRun {
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs deploy/prod/up.sh; rejects (with its stderr) when it fails. */
export async function prodUp(env: NodeJS.ProcessEnv = process.env, timeoutMs = 15 * 60_000): Promise<UpRun> {
  const started = Date.now();
  const { stdout, stderr } = await run(PROD_UP, { env, timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { stdout, stderr, seconds: (Date.now() - started) / 1000 };
}

/** Runs deploy/prod/up.sh expecting it to fail: its exit code, stderr and duration. */
export async function prodUpFailing(env: NodeJS.ProcessEnv, timeoutMs = 5 * 60_000): Promise<UpRun & { code: number }> {
  const started = Date.now();
  try {
    await run(PROD_UP, { env, timeout: timeoutMs, maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '', seconds: (Date.now() - started) / 1000 };
  }
  throw new Error('deploy/prod/up.sh succeeded where it should have failed');
}
