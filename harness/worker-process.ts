// Harness (tests and benches): a worker entry point (workers/cpu.ts, workers/gpu.ts) run as a child process, the way ops run
// them, so that a test can kill it with SIGKILL mid-stage and start another.
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '..');

export interface WorkerProcess {
  kind: 'cpu' | 'gpu';
  /** Process group of the worker (npx, tsx and the worker's node process). */
  pgid: number;
  /** Everything it printed so far. */
  output(): string;
  exited: Promise<number | null>;
  /** kill -9 of the whole process group: no shutdown, no cleanup, like a lost machine. */
  kill9(): Promise<void>;
  /** A graceful stop (SIGTERM: the worker drains, closes its sandboxes and model threads). */
  stop(): Promise<void>;
}

/**
 * Starts `npx tsx workers/<kind>.ts` in its own process group; resolves once it polls its queue. With `logFile`,
 * everything it prints is also appended there, each line stamped with the time.
 */
export async function startWorkerProcess(
  kind: 'cpu' | 'gpu',
  env: Record<string, string>,
  opts: { logFile?: string } = {},
): Promise<WorkerProcess> {
  const child = spawn('npx', ['tsx', `workers/${kind}.ts`], {
    cwd: REPO,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const take = (d: Buffer) => {
    out += d;
    if (opts.logFile) {
      const stamp = `${new Date().toISOString()} [${kind} ${child.pid}] `;
      const lines = d.toString('utf8').replace(/\n$/, '').split('\n');
      appendFileSync(opts.logFile, lines.map((l) => stamp + l + '\n').join(''));
    }
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const pgid = child.pid!;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // already gone
    }
  };
  // The group leader (npx) may exit before the worker's own node process has finished: wait for the whole group.
  const groupGone = async () => {
    for (;;) {
      try {
        process.kill(-pgid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const w: WorkerProcess = {
    kind,
    pgid,
    output: () => out,
    exited,
    async kill9() {
      signal('SIGKILL');
      await Promise.all([exited, groupGone()]);
    },
    async stop() {
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), 30_000);
      await Promise.all([exited, groupGone()]);
      clearTimeout(timer);
    },
  };
  // Its log line "polling ...", as JSON (stdout is a pipe here) or as a readable line.
  const ready = new RegExp(`"name":"${kind}-worker".*"msg":"polling|\\[${kind}-worker\\] polling`);
  for (let i = 0; i < 600 && !ready.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`${kind} worker exited (${child.exitCode}):\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!ready.test(out)) {
    await w.stop();
    throw new Error(`${kind} worker not polling after 60 s:\n${out}`);
  }
  return w;
}

/** The process group of a process (to map a worker identity "pid@host" to the WorkerProcess that holds it). */
export function processGroupOf(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may contain spaces, so split after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}
