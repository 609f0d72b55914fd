// Docker sandboxes (dockerode). A Sandbox is one locked-down container from a sandbox image:
//   - no network, read-only root filesystem, sized tmpfs for /work, /tmp and a private scratch dir,
//     memory without swap, a pids limit, a CPU quota, no host mounts, no docker socket, no-new-privileges;
//   - PID 1 is a tiny root-owned bash init (init.sh) that only reaps orphans (so a fork bomb's zombies do not
//     eat the pids limit) and that the agent cannot signal;
//   - one long-lived *runner* (sandboxes/runner, a static Go binary in the image, started as root with a single
//     `docker exec`) receives requests on its stdin and answers on its stdout. It holds only SETUID/SETGID (to
//     drop to uid 1000), KILL (to end the agent's processes), DAC_OVERRIDE/FOWNER (to snapshot and restore
//     whatever modes the agent set); every action runs as uid 1000 with no capabilities at all (the kernel clears
//     them on the uid change, and no-new-privileges stops setuid binaries from giving any back). The agent
//     therefore cannot kill the runner, read or alter the snapshot, or forge the protocol.
// One request = restore the snapshot + run the action with a wall-clock limit + kill every leftover process +
// list /work with content hashes, so verifying a sample costs one round trip on an open stream and one fork/exec
// inside the container (the action's: the runner does the rest in-process) instead of several `docker exec`
// calls (~45 ms each on this engine).
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { SandboxInfraError, connectEngine, toInfraError, withEngineTimeout, type Container, type DockerClient } from './engine';
import {
  AGENT_UID,
  DEFAULT_ACTION_TIMEOUT_MS,
  DEFAULT_LIMITS,
  SCRATCH,
  fileSizeLimitKiB,
  maxReplyBytes,
  type SandboxLimits,
} from './limits';
import { parseManifest, type ManifestEntry } from './manifest';
import { HOST_LABEL, OWNER_LABEL, PID_LABEL, SANDBOX_LABEL, sandboxHost, sandboxOwner } from './reaper';
import { buildTar, type FileToWrite } from './tar';

export const DEFAULT_IMAGE = 'pivotrl/terminal:latest';

const SIGXFSZ = 25;

/** Extra time the runner gets beyond an action's own limit (restore, cleanup, manifest) before it is declared lost. */
const RUNNER_GRACE_MS = 30_000;

export interface SandboxOptions {
  docker?: DockerClient;
  image?: string;
  limits?: Partial<SandboxLimits>;
  /** Value of the pivotrl.owner label (default: sandboxOwner()), used by reapSandboxes. */
  owner?: string;
}

export interface ExecOptions {
  timeoutMs?: number;
}

export interface ExecResult {
  exitCode: number;
  /** stdout and stderr interleaved, at most limits.outputCapBytes bytes (decoded as UTF-8). */
  output: string;
  truncated: boolean;
  timedOut: boolean;
  /** The memory cgroup OOM-killed a process during the action. */
  oomKilled: boolean;
  /** A fork failed because the pids limit was reached during the action. */
  pidsLimitHit: boolean;
  /** The action was killed by SIGXFSZ: it tried to write a file larger than the file-size limit. */
  fileSizeLimitHit: boolean;
  /** The action left /work with more entries or a longer listing than the manifest's caps (no manifest then). */
  manifestCapHit: boolean;
  /** Processes the action left running (background jobs, daemons, a fork bomb); all were killed. */
  leftoverProcesses: number;
  durationMs: number;
}

export interface RunOptions extends ExecOptions {
  /** Restore the snapshot before the action. */
  restore?: boolean;
  /** List /work after the action. */
  manifest?: boolean;
}

export interface RunResult extends ExecResult {
  manifest?: ManifestEntry[];
}

// PID 1's script (passed to `bash -c`), and the runner in the image (deploy/local/images.sh builds it in).
const INIT_SCRIPT = readFileSync(new URL('init.sh', import.meta.url), 'utf8');
export const RUNNER_PATH = '/usr/local/lib/pivotrl/runner';

/** One answer of the runner: its status, its integers, its sections' bytes. */
interface Reply {
  status: string;
  ints: number[];
  sections: Buffer[];
}

const shellSeconds = (ms: number) => (Math.max(1, Math.round(ms)) / 1000).toFixed(3);

export class Sandbox {
  private stream: Duplex | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private stdoutParts: Buffer[] = [];
  private stdoutLen = 0;
  private stderrTail = '';
  private pending: {
    id: number;
    resolve(r: Reply): void;
    reject(e: Error): void;
    header: { status: string; ints: number[]; sizes: number[] } | null;
    timer: NodeJS.Timeout;
  } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private dead: SandboxInfraError | null = null;
  private destroyed = false;
  /** Requests served (for pooling decisions and stats). */
  requests = 0;

  private constructor(
    readonly docker: DockerClient,
    readonly container: Container,
    readonly image: string,
    readonly limits: SandboxLimits,
  ) {}

  get id(): string {
    return this.container.id;
  }

  get alive(): boolean {
    return !this.dead && !this.destroyed;
  }

  /** Creates and starts a sandbox container and its runner. Engine problems throw SandboxInfraError. */
  static async create(opts: SandboxOptions = {}): Promise<Sandbox> {
    const docker = opts.docker ?? connectEngine();
    const image = opts.image ?? DEFAULT_IMAGE;
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    let container: Container;
    try {
      container = await withEngineTimeout(
        docker.createContainer({
          Image: image,
          Entrypoint: ['bash', '-c', INIT_SCRIPT, 'pivotrl-init', SCRATCH],
          Cmd: [],
          User: '0:0',
          WorkingDir: '/work',
          Hostname: 'sandbox',
          Env: [
            'LC_ALL=C',
            'LANG=C',
            'HOME=/work',
            'USER=agent',
            'LOGNAME=agent',
            'SHELL=/bin/bash',
            'TERM=dumb',
            'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          ],
          Labels: {
            [SANDBOX_LABEL]: '1',
            [OWNER_LABEL]: opts.owner ?? sandboxOwner(),
            [PID_LABEL]: String(process.pid),
            [HOST_LABEL]: sandboxHost(),
          },
          NetworkDisabled: true,
          AttachStdin: false,
          AttachStdout: false,
          AttachStderr: false,
          Tty: false,
          OpenStdin: false,
          HostConfig: {
            NetworkMode: 'none',
            ReadonlyRootfs: true,
            Memory: limits.memoryBytes,
            MemorySwap: limits.memoryBytes,
            PidsLimit: limits.pidsLimit,
            NanoCpus: Math.round(limits.cpus * 1e9),
            CapDrop: ['ALL'],
            CapAdd: ['SETUID', 'SETGID', 'KILL', 'DAC_OVERRIDE', 'FOWNER'],
            SecurityOpt: ['no-new-privileges'],
            Privileged: false,
            IpcMode: 'private',
            ShmSize: limits.shmBytes,
            Tmpfs: {
              '/work': `rw,exec,nosuid,nodev,size=${limits.workTmpfsBytes},nr_inodes=${limits.workInodes},uid=${AGENT_UID},gid=${AGENT_UID},mode=0755`,
              '/tmp': `rw,exec,nosuid,nodev,size=${limits.tmpTmpfsBytes},nr_inodes=${limits.workInodes},mode=1777`,
              [SCRATCH]: `rw,noexec,nosuid,nodev,size=${limits.scratchTmpfsBytes},mode=0700`,
            },
            Binds: [],
            Mounts: [],
            Ulimits: [
              { Name: 'core', Soft: 0, Hard: 0 },
              { Name: 'nofile', Soft: 1024, Hard: 1024 },
            ],
            LogConfig: { Type: 'none', Config: {} },
            RestartPolicy: { Name: 'no' },
            AutoRemove: false,
            Init: false,
          },
        }),
        `create sandbox from ${image}`,
      );
    } catch (err) {
      throw toInfraError(err, `create sandbox from ${image}`);
    }
    const sb = new Sandbox(docker, container, image, limits);
    try {
      await withEngineTimeout(container.start(), 'start sandbox');
      await withEngineTimeout(sb.startRunner(), 'start sandbox runner');
      await sb.request('ping', { timeoutMs: 15_000 });
    } catch (err) {
      await sb.destroy();
      // An image built before the runner was part of it, or not from ours: the engine's message names the binary.
      if (err instanceof Error && err.message.includes(RUNNER_PATH) && /no such file/i.test(err.message)) {
        throw new SandboxInfraError(
          'image_missing',
          `sandbox image ${image} has no runner at ${RUNNER_PATH}: rebuild the sandbox images with \`make setup\` (deploy/local/images.sh); an image of your own must be built FROM pivotrl/terminal:latest`,
          { cause: err },
        );
      }
      throw toInfraError(err, `start sandbox ${container.id.slice(0, 12)}`);
    }
    return sb;
  }

  private async startRunner(): Promise<void> {
    const exec = await this.container.exec({
      Cmd: [
        RUNNER_PATH,
        String(this.limits.outputCapBytes),
        String(fileSizeLimitKiB(this.limits)),
        SCRATCH,
        String(AGENT_UID),
        String(this.limits.manifestEntries),
        String(this.limits.manifestBytes),
      ],
      User: '0:0',
      WorkingDir: '/work',
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    // A start the engine refuses (the container died) answers without upgrading, and docker-modem leaves that request
    // open for stdin: its socket would keep the process alive for minutes. Aborting it closes the socket.
    const abort = new AbortController();
    const stream = (await exec.start({ hijack: true, stdin: true, abortSignal: abort.signal }).catch((err: unknown) => {
      abort.abort();
      throw err;
    })) as unknown as Duplex;
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    const lost = (why: string) => () =>
      this.fail(
        new SandboxInfraError(
          this.destroyed ? 'destroyed' : 'runner_failed',
          `sandbox ${this.id.slice(0, 12)}: runner ${why}${this.stderrTail ? `; stderr: ${this.stderrTail.trim()}` : ''}`,
        ),
      );
    stream.on('end', lost('ended'));
    stream.on('close', lost('closed'));
    stream.on('error', (err: Error) => this.fail(toInfraError(err, `sandbox ${this.id.slice(0, 12)} runner stream`)));
  }

  /** Demultiplexes docker's framed stream (8-byte headers: stream type, size). */
  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const type = this.buf[0];
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      const payload = this.buf.subarray(8, 8 + size);
      this.buf = this.buf.subarray(8 + size);
      if (type === 2) {
        this.stderrTail = (this.stderrTail + payload.toString('utf8')).slice(-2000);
      } else {
        this.stdoutParts.push(payload);
        this.stdoutLen += payload.length;
      }
    }
    this.pump();
  }

  private takeStdout(n: number): Buffer {
    const all = this.stdoutParts.length === 1 ? this.stdoutParts[0] : Buffer.concat(this.stdoutParts, this.stdoutLen);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.stdoutParts = rest.length ? [rest] : [];
    this.stdoutLen = rest.length;
    return head;
  }

  private pump(): void {
    const p = this.pending;
    if (!p) return;
    if (!p.header) {
      const all = this.stdoutParts.length === 1 ? this.stdoutParts[0] : Buffer.concat(this.stdoutParts, this.stdoutLen);
      this.stdoutParts = all.length ? [all] : [];
      const nl = all.indexOf(10);
      if (nl < 0) {
        if (all.length > 4096)
          this.fail(new SandboxInfraError('runner_failed', `sandbox ${this.id.slice(0, 12)}: protocol error (no header)`));
        return;
      }
      const line = this.takeStdout(nl + 1)
        .toString('utf8')
        .trim();
      const m = /^@@PIVOTRL (\d+) (\w+) ([-\d,]*) ([\d,]*)$/.exec(line);
      if (!m || Number(m[1]) !== p.id) {
        this.fail(
          new SandboxInfraError('runner_failed', `sandbox ${this.id.slice(0, 12)}: protocol error: ${JSON.stringify(line.slice(0, 200))}`),
        );
        return;
      }
      p.header = {
        status: m[2],
        ints: m[3] ? m[3].split(',').map(Number) : [],
        sizes: m[4] ? m[4].split(',').filter(Boolean).map(Number) : [],
      };
    }
    const total = p.header.sizes.reduce((a, b) => a + b, 0);
    if (total > maxReplyBytes(this.limits)) {
      this.fail(new SandboxInfraError('runner_failed', `sandbox ${this.id.slice(0, 12)}: protocol error (an answer of ${total} bytes)`));
      return;
    }
    if (this.stdoutLen < total) return;
    const body = this.takeStdout(total);
    const sections: Buffer[] = [];
    let off = 0;
    for (const s of p.header.sizes) {
      sections.push(body.subarray(off, off + s));
      off += s;
    }
    this.pending = null;
    clearTimeout(p.timer);
    p.resolve({ status: p.header.status, ints: p.header.ints, sections });
  }

  private fail(err: SandboxInfraError): void {
    if (!this.dead) this.dead = err;
    const p = this.pending;
    if (p) {
      this.pending = null;
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  /** One request/answer on the runner, serialised per sandbox. */
  private request(op: string, o: { timeoutMs: number; flags?: string; payload?: Buffer; actionTimeoutMs?: number }): Promise<Reply> {
    const run = async (): Promise<Reply> => {
      if (this.destroyed) throw new SandboxInfraError('destroyed', `sandbox ${this.id.slice(0, 12)} was destroyed`);
      if (this.dead) throw this.dead;
      const stream = this.stream;
      if (!stream) throw new SandboxInfraError('runner_failed', 'runner not started');
      const id = this.nextId++;
      this.requests++;
      const payload = o.payload ?? Buffer.alloc(0);
      const tmo = shellSeconds(o.actionTimeoutMs ?? 1000);
      return new Promise<Reply>((resolve, reject) => {
        const timer = setTimeout(() => {
          const err = new SandboxInfraError(
            'runner_unresponsive',
            `sandbox ${this.id.slice(0, 12)}: no answer to ${op} within ${o.timeoutMs} ms`,
          );
          this.fail(err);
          // The runner's state is unknown now: the sandbox is unusable.
          void this.destroy();
        }, o.timeoutMs);
        timer.unref?.();
        this.pending = { id, resolve, reject, header: null, timer };
        stream.write(`${op} ${id} ${tmo} ${o.flags || '-'} ${payload.length}\n`);
        if (payload.length) stream.write(payload);
        this.pump();
      });
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private static failure(op: string, r: Reply): SandboxInfraError {
    const err = r.sections[r.sections.length - 1]?.toString('utf8').trim();
    return new SandboxInfraError('runner_failed', `sandbox ${op} failed${err ? `: ${err.slice(0, 1000)}` : ''}`);
  }

  private toExecResult(r: Reply): RunResult {
    const [rc, elapsedUs, oomDelta, pidsDelta, leftover, timedOutFlag, manifestOver] = r.ints;
    const [out] = r.sections;
    const cap = this.limits.outputCapBytes;
    const truncated = out.length > cap;
    const durationMs = elapsedUs / 1000;
    const timedOut = timedOutFlag === 1;
    return {
      exitCode: rc,
      output: (truncated ? out.subarray(0, cap) : out).toString('utf8'),
      truncated,
      timedOut,
      oomKilled: oomDelta > 0,
      pidsLimitHit: pidsDelta > 0,
      fileSizeLimitHit: rc === 128 + SIGXFSZ,
      manifestCapHit: manifestOver === 1,
      leftoverProcesses: leftover ?? 0,
      durationMs,
    };
  }

  /**
   * Runs `bash -c command` as uid 1000 in /work (stdin /dev/null), killed after timeoutMs together with
   * everything it started. With `restore`, the snapshot is restored first; with `manifest`, /work is listed after.
   */
  async run(command: string, opts: RunOptions = {}): Promise<RunResult> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS;
    const flags = `${opts.restore ? 'r' : ''}${opts.manifest ? 'm' : ''}`;
    const r = await this.request('exec', {
      timeoutMs: timeoutMs + RUNNER_GRACE_MS,
      flags,
      payload: Buffer.from(command.replace(/\0/g, ''), 'utf8'),
      actionTimeoutMs: timeoutMs,
    });
    if (r.status !== 'ok') throw Sandbox.failure(opts.restore ? 'restore' : 'exec', r);
    const result = this.toExecResult(r);
    if (opts.manifest) return { ...result, manifest: parseManifest(r.sections[1], r.sections[2]) };
    return result;
  }

  /** Runs `bash -c command` as uid 1000 in /work with a wall-clock limit. */
  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.run(command, { timeoutMs: opts.timeoutMs });
  }

  /** Writes files (and empty directories) into /work, owned by uid 1000 (a tar piped to the runner). */
  async writeFiles(files: FileToWrite[], dirs: string[] = []): Promise<void> {
    const r = await this.request('put', { timeoutMs: RUNNER_GRACE_MS, payload: buildTar(files, dirs) });
    if (r.status !== 'ok') throw Sandbox.failure('writeFiles', r);
  }

  /**
   * Saves /work, /tmp and /dev/shm (after killing the agent's processes) into the root-only scratch dir, and
   * returns the manifest of /work as saved.
   */
  async snapshot(): Promise<ManifestEntry[]> {
    const r = await this.request('snap', { timeoutMs: RUNNER_GRACE_MS });
    if (r.status !== 'ok') throw Sandbox.failure('snapshot', r);
    return parseManifest(r.sections[0], r.sections[1]);
  }

  /** Brings /work, /tmp and /dev/shm back to the last snapshot (and kills the agent's processes). */
  async restore(): Promise<void> {
    const r = await this.request('restore', { timeoutMs: RUNNER_GRACE_MS });
    if (r.status !== 'ok') throw Sandbox.failure('restore', r);
  }

  /** Every entry under /work, sorted by path, with content hashes. */
  async manifest(): Promise<ManifestEntry[]> {
    const r = await this.request('manifest', { timeoutMs: RUNNER_GRACE_MS });
    if (r.status !== 'ok') throw Sandbox.failure('manifest', r);
    return parseManifest(r.sections[0], r.sections[1]);
  }

  /** Back to a fresh sandbox (no processes, empty /work and /tmp, no snapshot), so it can serve another task. */
  async reset(): Promise<void> {
    const r = await this.request('reset', { timeoutMs: RUNNER_GRACE_MS });
    if (r.status !== 'ok') throw Sandbox.failure('reset', r);
  }

  private destroying: Promise<void> | null = null;

  /** Removes the container. Never throws; every call resolves once the container is gone. */
  destroy(): Promise<void> {
    this.destroying ??= this.doDestroy();
    return this.destroying;
  }

  private async doDestroy(): Promise<void> {
    this.destroyed = true;
    this.fail(new SandboxInfraError('destroyed', `sandbox ${this.id.slice(0, 12)} was destroyed`));
    try {
      this.stream?.destroy();
    } catch {
      /* ignore */
    }
    try {
      await withEngineTimeout(this.container.remove({ force: true, v: true }), 'remove sandbox', 30_000);
    } catch {
      // 404: already gone; 409: removal already in progress; anything else (engine down) is left for reapSandboxes.
    }
  }
}
