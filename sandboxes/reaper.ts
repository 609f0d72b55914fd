// Whose sandbox containers are (their labels), and removing those that dead workers left behind: a worker's own at
// its start, and any worker's stopped ones periodically.
import { hostname } from 'node:os';
import { toInfraError, withEngineTimeout, type ContainerInfo, type DockerClient } from './engine';

export const SANDBOX_LABEL = 'pivotrl.sandbox';
export const OWNER_LABEL = 'pivotrl.owner';
/** The process that made the sandbox, so a reaper on the same host spares sandboxes of live processes. */
export const PID_LABEL = 'pivotrl.pid';
/** The worker host that made the sandbox (PIVOTRL_HOST): hosts sharing one engine and one host name tell theirs apart. */
export const HOST_LABEL = 'pivotrl.host';

/** This worker host's name: PIVOTRL_HOST, else the machine's host name. */
export const sandboxHost = (): string => process.env.PIVOTRL_HOST || hostname();
/**
 * Whose sandboxes these are (label pivotrl.owner): PIVOTRL_SANDBOX_OWNER, else the machine's host name. Workers reap
 * their owner's leftovers; a run that sets its own owner (a test, a second deployment on one engine) sees only its own.
 */
export const sandboxOwner = (): string => process.env.PIVOTRL_SANDBOX_OWNER || hostname();

/**
 * Removes sandbox containers left behind (e.g. by a killed worker). With `owner`, only those labelled with that
 * owner (the worker's host name); with `spareLiveProcesses`, not those made by a process still alive on this host
 * (another worker on the same host). With `host`, that sparing stops at sandboxes labelled with that worker host:
 * an earlier incarnation of the host left them (their pid may since belong to another process). Returns how
 * many were removed.
 */
export async function reapSandboxes(
  docker: DockerClient,
  owner?: string,
  opts: { spareLiveProcesses?: boolean; host?: string } = {},
): Promise<number> {
  const label = [`${SANDBOX_LABEL}=1`];
  if (owner) label.push(`${OWNER_LABEL}=${owner}`);
  let list: ContainerInfo[];
  try {
    list = await withEngineTimeout(docker.listContainers({ all: true, filters: { label } }), 'list sandboxes');
  } catch (err) {
    throw toInfraError(err, 'list sandboxes');
  }
  if (opts.spareLiveProcesses) {
    list = list.filter((c) => (opts.host !== undefined && c.Labels?.[HOST_LABEL] === opts.host) || !isLiveProcess(c.Labels?.[PID_LABEL]));
  }
  let removed = 0;
  await Promise.all(
    list.map(async (c) => {
      try {
        await withEngineTimeout(docker.getContainer(c.Id).remove({ force: true, v: true }), 'remove sandbox');
        removed++;
      } catch (err) {
        // 404: already gone; 409: another worker on this host is removing it (workers starting together both reap).
        const status = (err as { statusCode?: number }).statusCode;
        if (status !== 404 && status !== 409) throw toInfraError(err, `remove sandbox ${c.Id.slice(0, 12)}`);
      }
    }),
  );
  return removed;
}

/** Whether a process with this pid (a sandbox's `pivotrl.pid` label) is running on this host. */
export function isLiveProcess(pid: string | undefined): boolean {
  if (!pid || !/^\d+$/.test(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A sandbox stops when its worker goes: the runner (PID 1's only client, on the worker's stream) sees its stdin end,
 * kills the action and tells PID 1 to exit (sandboxes/init.sh). So a stopped sandbox has no owner any more, whatever
 * host made it (a dead k8s pod's name never comes back), and a running one always has a live stream.
 */

/** A sandbox created but never started is left this long at least (its worker may be between create and start). */
export const NEVER_STARTED_GRACE_MS = 5 * 60_000;

/**
 * Removes the sandbox containers, of any owner and host, that stopped at least `afterMs` ago (or were created and never
 * started, at least max(afterMs, NEVER_STARTED_GRACE_MS) ago). Running sandboxes are never touched. Returns how many
 * were removed.
 */
export async function reapStoppedSandboxes(docker: DockerClient, afterMs: number, now = Date.now()): Promise<number> {
  let list: ContainerInfo[];
  try {
    list = await withEngineTimeout(
      docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABEL}=1`], status: ['exited', 'dead', 'created'] } }),
      'list stopped sandboxes',
    );
  } catch (err) {
    throw toInfraError(err, 'list stopped sandboxes');
  }
  let removed = 0;
  for (const c of list) {
    try {
      const container = docker.getContainer(c.Id);
      const { State, Created } = await withEngineTimeout(container.inspect(), 'inspect sandbox');
      if (State.Running || State.Paused || State.Restarting) continue;
      const neverStarted = State.Status === 'created';
      const since = Date.parse(neverStarted ? Created : State.FinishedAt);
      if (!(now - since >= (neverStarted ? Math.max(afterMs, NEVER_STARTED_GRACE_MS) : afterMs))) continue;
      await withEngineTimeout(container.remove({ v: true }), 'remove sandbox');
      removed++;
    } catch (err) {
      // 404: already gone; 409: being removed, or started meanwhile (a container is removed without force only stopped).
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw toInfraError(err, `remove sandbox ${c.Id.slice(0, 12)}`);
    }
  }
  return removed;
}

export interface PeriodicReaper {
  stop(): Promise<void>;
}

/**
 * Runs reapStoppedSandboxes every `intervalMs` until stopped; an engine failure is reported to `onError` and the next
 * round tries again.
 */
export function startPeriodicReaper(
  docker: DockerClient,
  o: { intervalMs: number; afterMs: number; onRemoved?: (n: number) => void; onError?: (err: unknown) => void },
): PeriodicReaper {
  let round: Promise<void> | null = null;
  const timer = setInterval(() => {
    // A round still running (a slow engine) is not stacked upon.
    round ??= reapStoppedSandboxes(docker, o.afterMs)
      .then((n) => {
        if (n > 0) o.onRemoved?.(n);
      }, o.onError)
      .finally(() => (round = null));
  }, o.intervalMs);
  timer.unref?.();
  return {
    async stop() {
      clearInterval(timer);
      await round;
    },
  };
}
