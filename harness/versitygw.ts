// Harness (tests and benches): a throwaway S3 server (versitygw, posix backend on a temporary folder) on a free 127.0.0.1 port,
// started from the binary the prod stack builds ($PIVOTRL_CACHE/bin/versitygw). It can be stopped and started again
// on the same port and folder, as an object store that goes down and comes back.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './temporal';
import { tempDir } from './temp-dir';

export function versitygwPath(): string {
  const cache = process.env.PIVOTRL_CACHE || join(homedir(), '.cache', 'pivotrl');
  return join(cache, 'bin', 'versitygw');
}

export interface TestObjectStore {
  endpoint: string;
  /** The root credentials, as the standard AWS environment variables. */
  env: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string; AWS_REGION: string };
  createBucket(name: string): Promise<void>;
  /** SIGTERM, and wait until the port is closed. */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder; resolves once it accepts connections. */
  start(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

export async function startVersitygw(): Promise<TestObjectStore> {
  const bin = versitygwPath();
  if (!existsSync(bin)) throw new Error(`versitygw not found at ${bin}: run deploy/prod/binaries.sh (make stack-prod runs it)`);
  const dir = tempDir('pivotrl-s3-');
  const port = await freePort();
  const env = {
    AWS_ACCESS_KEY_ID: `test${randomBytes(4).toString('hex')}`,
    AWS_SECRET_ACCESS_KEY: randomBytes(16).toString('hex'),
    AWS_REGION: 'us-east-1',
  };
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    if (child && child.exitCode === null) return;
    output = '';
    // The root keys in its environment, not on its command line (visible in ps).
    const proc = spawn(bin, ['--port', `127.0.0.1:${port}`, '--quiet', 'posix', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ROOT_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY },
    });
    child = proc;
    proc.stdout!.on('data', (d) => (output += d));
    proc.stderr!.on('data', (d) => (output += d));
    const until = Date.now() + 30_000;
    while (!(await accepts(port))) {
      if (proc.exitCode !== null) throw new Error(`versitygw exited (${proc.exitCode}):\n${output}`);
      if (Date.now() > until) throw new Error(`versitygw did not listen on ${endpoint} within 30 s:\n${output}`);
      await sleep(50);
    }
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    while (await accepts(port)) await sleep(50);
  };
  const createBucket = async (name: string) => {
    const client = new S3Client({
      endpoint,
      region: env.AWS_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } finally {
      client.destroy();
    }
  };
  await start();
  return { endpoint, env, createBucket, stop, start };
}
