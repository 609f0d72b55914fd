// Docker sandboxes (dockerode). A Sandbox is one locked-down container from a sandbox image:
//   - no network, read-only root filesystem, sized tmpfs for /work, /tmp and a private scratch dir,
//     memory without swap, a pids limit, a CPU quota, no host mounts, no docker socket, no-new-privileges;
//   - PID 1 is a tiny root-owned bash init that only reaps orphans (so a fork bomb's zombies do not eat the
//     pids limit) and that the agent cannot signal;
//   - one long-lived *runner* (a root bash started with a single `docker exec`) receives requests on its stdin
//     and answers on its stdout. It holds only SETUID/SETGID (to drop to uid 1000), KILL (to end the agent's
//     processes), DAC_OVERRIDE/FOWNER (to snapshot and restore whatever modes the agent set); every action runs
//     as uid 1000 with no capabilities at all (setpriv; the kernel clears them on the uid change, and
//     no-new-privileges stops setuid binaries from giving any back). The agent therefore cannot kill the
//     runner, read or alter the snapshot, or forge the protocol.
// One request = restore the snapshot + run the action with a wall-clock limit + kill every leftover process +
// list /work with content hashes, so verifying a sample costs one round trip on an open stream and a dozen
// fork/execs inside the container instead of several `docker exec` calls (~45 ms each on this engine).
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { connectEngine, type Container, type ContainerInfo, type DockerClient } from './engine';

export const DEFAULT_IMAGE = 'pivotrl/terminal:latest';
export const SANDBOX_LABEL = 'pivotrl.sandbox';
export const OWNER_LABEL = 'pivotrl.owner';
/** The process that made the sandbox, so a reaper on the same host spares sandboxes of live processes. */
export const PID_LABEL = 'pivotrl.pid';
/** The worker host that made the sandbox (PIVOTRL_HOST): hosts sharing one engine and one host name tell theirs apart. */
export const HOST_LABEL = 'pivotrl.host';
export const AGENT_UID = 1000;
const SCRATCH = '/run/pivotrl';
const MiB = 1024 * 1024;

/** This worker host's name: PIVOTRL_HOST, else the machine's host name. */
export const sandboxHost = (): string => process.env.PIVOTRL_HOST || hostname();
/**
 * Whose sandboxes these are (label pivotrl.owner): PIVOTRL_SANDBOX_OWNER, else the machine's host name. Workers reap
 * their owner's leftovers; a run that sets its own owner (a test, a second deployment on one engine) sees only its own.
 */
export const sandboxOwner = (): string => process.env.PIVOTRL_SANDBOX_OWNER || hostname();

/** An engine-side failure (engine down, image missing, container gone, runner lost): never an action's result. */
export class SandboxInfraError extends Error {
  override readonly name = 'SandboxInfraError';
  constructor(
    readonly code:
      'engine_unavailable' | 'engine_error' | 'image_missing' | 'container_gone' | 'runner_failed' | 'runner_unresponsive' | 'destroyed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isSandboxInfraError = (err: unknown): err is SandboxInfraError => err instanceof SandboxInfraError;

export interface SandboxLimits {
  /** Memory of the whole container, tmpfs pages included; swap is disabled. */
  memoryBytes: number;
  pidsLimit: number;
  /** CPU quota in CPUs (1 = one core). */
  cpus: number;
  workTmpfsBytes: number;
  workInodes: number;
  tmpTmpfsBytes: number;
  /** Root-only scratch: the snapshot, the captured output, the manifest. */
  scratchTmpfsBytes: number;
  shmBytes: number;
  /** Output kept per action (stdout and stderr interleaved); the rest is dropped and `truncated` is set. */
  outputCapBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  memoryBytes: 256 * MiB,
  pidsLimit: 128,
  cpus: 1,
  workTmpfsBytes: 32 * MiB,
  workInodes: 8192,
  tmpTmpfsBytes: 16 * MiB,
  scratchTmpfsBytes: 96 * MiB,
  shmBytes: 4 * MiB,
  outputCapBytes: 64 * 1024,
};

/**
 * The largest file an action may write: the largest tmpfs it can write to (the captured output lives in the
 * scratch dir), so only a sparse file could exceed it, and such a file would cost the manifest a hash of its size.
 */
export const fileSizeLimitKiB = (l: SandboxLimits): number =>
  Math.ceil(Math.max(l.workTmpfsBytes, l.tmpTmpfsBytes, l.scratchTmpfsBytes) / 1024);
const SIGXFSZ = 25;

export const DEFAULT_ACTION_TIMEOUT_MS = 10_000;
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
  /** Processes the action left running (background jobs, daemons, a fork bomb); all were killed. */
  leftoverProcesses: number;
  durationMs: number;
}

export type EntryKind = 'f' | 'd' | 'l' | 'o';

export interface ManifestEntry {
  /** Relative to /work. */
  path: string;
  /** f = regular file, d = directory, l = symbolic link, o = anything else (fifo, socket, device). */
  kind: EntryKind;
  /** Permission bits, including setuid/setgid/sticky. */
  mode: number;
  /** sha256 of a file's content, of a link's target text; null for directories and others. */
  sha256: string | null;
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

export interface FileToWrite {
  path: string;
  content: string | Buffer;
  mode?: number;
}

// --------------------------------------------------------------------------------------------------------
// Scripts that run inside the container.

/** PID 1: root, ignores every catchable signal, reaps orphans (bash reaps any child on SIGCHLD), never exits. */
const INIT_SCRIPT = `trap '' TERM INT HUP QUIT USR1 USR2 PIPE ALRM
rm -f ${SCRATCH}/.init && mkfifo -m 0600 ${SCRATCH}/.init && exec 3<>${SCRATCH}/.init || exit 70
while :; do read -r -u 3 _; done`;

/**
 * The runner. Requests (one line, then a payload of <len> bytes):
 *   <op> <id> <timeout-seconds> <flags> <len>
 * ops: exec (payload = action; flags r = restore first, m = manifest after), put (payload = tar for /work),
 * snap, restore, manifest, reset, ping. Answer: one line
 *   @@PIVOTRL <id> <status> <int,int,...> <size,size,...>
 * followed by the sections' bytes. Everything the agent runs writes to files in the root-only scratch dir, never
 * to the runner's stdout.
 */
const RUNNER_SCRIPT = `set -u
umask 022
S=${SCRATCH}
CAP=$1
# The largest file an action may write, in KiB (RLIMIT_FSIZE; beyond it the writer gets SIGXFSZ): no sparse
# terabyte for the manifest to hash.
FSIZE_KB=$2
POLL=0.05
AGENT=(setpriv --reuid=${AGENT_UID} --regid=${AGENT_UID} --clear-groups --inh-caps=-all)
cd /work || exit 71
# fd 4: a FIFO on which the subshell that ran an action reports "<request id> <exit status>".
rm -f $S/.status && mkfifo -m 0600 $S/.status && exec 4<>$S/.status || exit 73
MEMF=/sys/fs/cgroup/memory/memory.oom_control; [[ -r $MEMF ]] || MEMF=/sys/fs/cgroup/memory.events
PIDF=/sys/fs/cgroup/pids/pids.events; [[ -r $PIDF ]] || PIDF=/sys/fs/cgroup/pids.events
WMODE=755
counters() {
  local k v; OOMK=0; PIDM=0
  if [[ -r $MEMF ]]; then while read -r k v; do [[ $k == oom_kill ]] && OOMK=$v; done < "$MEMF"; fi
  if [[ -r $PIDF ]]; then while read -r k v; do [[ $k == max ]] && PIDM=$v; done < "$PIDF"; fi
}
# SIGKILL every process but PID 1 and this runner, until none is left (kill -1 fails with ESRCH).
reap() { local i; for ((i = 0; i < 5000; i++)); do kill -9 -1 2>/dev/null || return 0; done; return 0; }
MQ=; [[ -d /dev/mqueue ]] && MQ=/dev/mqueue
# Empty /work, /tmp, /dev/shm (and POSIX message queues), and give /work back its mode: one find.
wipe() {
  find /work /tmp /dev/shm $MQ ! -path /work ! -path /tmp ! -path /dev/shm ! -path /dev/mqueue -delete , \\
    -path /work ! -perm "$WMODE" -exec chmod "$WMODE" /work \\; 2>>$S/err
}
# True when the agent left System V IPC objects (read with builtins: no process unless there is something to remove).
ipc_dirty() {
  local f l
  for f in /proc/sysvipc/shm /proc/sysvipc/msg /proc/sysvipc/sem; do
    [[ -r $f ]] || continue
    { read -r l; read -r l && return 0; } < $f
  done
  return 1
}
do_restore() {
  [[ -f $S/snap.tar ]] || { echo "no snapshot" >>$S/err; return 1; }
  reap; wipe
  if ipc_dirty; then "\${AGENT[@]}" ipcrm -a 2>/dev/null; fi
  "\${AGENT[@]}" tar -C / -xpf - < $S/snap.tar 2>>$S/err
}
do_snap() {
  reap
  WMODE=$(stat -c %a /work) || return 1
  # /work itself (its mode and mtime, restored by the agent who owns it), then everything below /work, /tmp
  # and /dev/shm, but not /tmp and /dev/shm themselves (root's).
  ( cd / && tar -cf $S/snap.tar --no-recursion work &&
    find work tmp dev/shm -mindepth 1 -maxdepth 1 -print0 | tar -rf $S/snap.tar --null -T - ) 2>>$S/err
}
do_manifest() {
  find /work -mindepth 1 -fprintf $S/m '%y %m %P\\0%l\\0' -type f -exec sha256sum -z -- {} + > $S/h 2>>$S/err
}
answer() { # status ints files...
  local st=$1 ints=$2; shift 2
  local sizes; sizes=$(stat --printf '%s,' -- "$@") || sizes=
  printf '@@PIVOTRL %s %s %s %s\\n' "$id" "$st" "$ints" "$sizes"
  cat "$@"
}
while IFS=' ' read -r op id tmo flags len; do
  : > $S/err; : > $S/m; : > $S/h; : > $S/out; : > $S/payload
  if (( len > 0 )); then head -c "$len" > $S/payload || exit 72; fi
  case $op in
    exec)
      ok=1
      if [[ $flags == *r* ]]; then do_restore || ok=0; fi
      if (( ok )); then
        IFS= read -r -d '' A < $S/payload
        counters; o0=$OOMK; p0=$PIDM
        t0=\${EPOCHREALTIME/./}
        # The action: uid 1000, no capabilities, first in line for the OOM killer, stdin /dev/null, stdout and
        # stderr to a root-only file. Its subshell (root) reports the exit status on fd 4.
        ( echo 1000 > /proc/self/oom_score_adj
          ulimit -f "$FSIZE_KB"
          "\${AGENT[@]}" bash -c "$A" </dev/null >$S/out 2>&1 4>&-
          echo "$id $?" >&4 ) &
        sub=$!
        to=1; rc=137
        dl=$((t0 + \${tmo%.*} * 1000000 + 10#\${tmo#*.} * 1000))
        # Wait for the status line; between polls, end the action at once when it has hit a resource limit (what
        # happened decides its verdict, not which of the limit and the wall-clock timer comes first), and end it
        # with the runner when stdin closes (the worker is gone: nothing would read the answer).
        line=
        while :; do
          if IFS= read -r -t "$POLL" -u 4 part; then
            line+=$part
            if [[ \${line%% *} == "$id" ]]; then to=0; rc=\${line#* }; break; fi
            line=; continue
          fi
          # A read that timed out keeps the part of a line it had read; the rest comes with the next read.
          line+=$part
          counters
          if (( OOMK > o0 || PIDM > p0 )); then to=0; break; fi
          if read -r -t 0 -u 0; then reap; exit 0; fi
          (( \${EPOCHREALTIME/./} < dl )) || break
        done
        t1=\${EPOCHREALTIME/./}
        left=0
        for p in /proc/[0-9]*; do
          p=\${p#/proc/}; [[ $p == 1 || $p == $$ || $p == "$sub" ]] && continue
          IFS= read -r st < /proc/$p/stat 2>/dev/null || continue
          st=\${st##*) }; [[ \${st%% *} == Z ]] || left=$((left + 1))
        done
        reap
        wait "$sub" 2>/dev/null
        if (( to )); then while read -r -t 0.02 -u 4 _; do :; done; fi
        counters
        truncate -s "<$((CAP + 1))" $S/out
        if [[ $flags == *m* ]]; then do_manifest; fi
        answer ok "$rc,$((t1 - t0)),$((OOMK - o0)),$((PIDM - p0)),$left,$to" $S/out $S/m $S/h $S/err
      else
        answer fail 0 $S/err
      fi ;;
    put)
      if "\${AGENT[@]}" tar -C /work -xpf - < $S/payload 2>>$S/err; then answer ok 0 $S/err; else answer fail 0 $S/err; fi ;;
    snap)
      if do_snap && do_manifest; then answer ok 0 $S/m $S/h $S/err; else answer fail 0 $S/err; fi ;;
    restore)
      if do_restore; then answer ok 0 $S/err; else answer fail 0 $S/err; fi ;;
    manifest)
      if do_manifest; then answer ok 0 $S/m $S/h $S/err; else answer fail 0 $S/err; fi ;;
    reset)
      reap; rm -f $S/snap.tar; WMODE=755; wipe
      if ipc_dirty; then "\${AGENT[@]}" ipcrm -a 2>/dev/null; fi
      answer ok 0 $S/err ;;
    ping)
      answer ok 0 $S/err ;;
    *)
      echo "unknown op $op" >>$S/err; answer fail 0 $S/err ;;
  esac
done`;

// --------------------------------------------------------------------------------------------------------
// Engine errors.

function describe(err: unknown): string {
  const e = err as { message?: string; json?: { message?: string }; reason?: string };
  return e?.json?.message ?? e?.message ?? String(err);
}

/** Maps a dockerode / socket error to a SandboxInfraError. */
export function toInfraError(err: unknown, context: string): SandboxInfraError {
  if (err instanceof SandboxInfraError) return err;
  const e = err as { statusCode?: number; code?: string };
  const msg = describe(err);
  if (e?.code && ['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(e.code)) {
    return new SandboxInfraError('engine_unavailable', `${context}: Docker engine unavailable (${e.code}: ${msg})`, { cause: err });
  }
  if (e?.statusCode === 404 && /image/i.test(msg)) {
    return new SandboxInfraError(
      'image_missing',
      `${context}: ${msg}; build the sandbox images with \`make setup\` (deploy/local/images.sh)`,
      {
        cause: err,
      },
    );
  }
  if (e?.statusCode === 404 || e?.statusCode === 409 || /is not running|no such container|is paused|removal of container/i.test(msg)) {
    return new SandboxInfraError('container_gone', `${context}: container gone (${msg})`, { cause: err });
  }
  return new SandboxInfraError('engine_error', `${context}: ${msg}`, { cause: err });
}

/** Engine calls that do not answer within this long are infrastructure failures (a hung engine, not a verdict). */
export const ENGINE_TIMEOUT_MS = 60_000;

/** Resolves like `p`, or rejects with a SandboxInfraError when the engine does not answer within `ms`. */
export function withEngineTimeout<T>(p: Promise<T>, what: string, ms = ENGINE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SandboxInfraError('engine_error', `${what}: no answer from the Docker engine within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Throws a SandboxInfraError (image_missing, with the fix) unless the image exists locally. */
export async function ensureImage(docker: DockerClient, image: string): Promise<void> {
  try {
    await withEngineTimeout(docker.getImage(image).inspect(), `inspect image ${image}`);
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) {
      throw new SandboxInfraError(
        'image_missing',
        `sandbox image ${image} is missing; build it with \`make setup\` (deploy/local/images.sh)`,
        {
          cause: err,
        },
      );
    }
    throw toInfraError(err, `image ${image}`);
  }
}

// --------------------------------------------------------------------------------------------------------
// A minimal tar writer (ustar + pax headers for long names) for writeFiles.

function tarHeader(name: string, size: number, mode: number, type: '0' | '5' | 'x', mtime: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number) => h.write(s, off, Math.min(len, Buffer.byteLength(s)), 'utf8');
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(oct(mode & 0o7777, 8), 100, 8);
  put(oct(AGENT_UID, 8), 108, 8);
  put(oct(AGENT_UID, 8), 116, 8);
  put(oct(size, 12), 124, 12);
  put(oct(mtime, 12), 136, 12);
  put('        ', 148, 8);
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('agent', 265, 32);
  put('agent', 297, 32);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  len += String(len).length;
  if (String(len).length !== String(len - String(len).length).length) len++;
  return `${len}${body}`;
}

const pad512 = (n: number) => Buffer.alloc((512 - (n % 512)) % 512, 0);

/** Fixed modification time of written files (2024-01-01T00:00:00Z), so `ls -l` is reproducible. */
export const FILE_MTIME = 1704067200;

export function buildTar(files: FileToWrite[], dirs: string[] = []): Buffer {
  const parts: Buffer[] = [];
  const entry = (name: string, data: Buffer, mode: number, type: '0' | '5') => {
    if (Buffer.byteLength(name) > 100) {
      const pax = Buffer.from(paxRecord('path', name));
      parts.push(tarHeader('PaxHeader', pax.length, 0o644, 'x', FILE_MTIME), pax, pad512(pax.length));
    }
    parts.push(tarHeader(name, data.length, mode, type, FILE_MTIME), data, pad512(data.length));
  };
  const norm = (p: string) => {
    const clean = p.replace(/^\.\/+/, '').replace(/\/+$/, '');
    if (!clean || clean.startsWith('/') || clean.split('/').includes('..')) throw new Error(`path must stay inside /work: ${p}`);
    return clean;
  };
  // Every directory gets an entry (parents included) so its mtime is FILE_MTIME too, not the time of writing.
  const allDirs = new Set<string>();
  const addParents = (p: string) => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) allDirs.add(parts.slice(0, i).join('/'));
  };
  for (const d of dirs) {
    addParents(norm(d));
    allDirs.add(norm(d));
  }
  for (const f of files) addParents(norm(f.path));
  for (const d of [...allDirs].sort()) entry(d + '/', Buffer.alloc(0), 0o755, '5');
  for (const f of files) {
    const data = typeof f.content === 'string' ? Buffer.from(f.content, 'utf8') : f.content;
    entry(norm(f.path), data, f.mode ?? 0o644, '0');
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}

// --------------------------------------------------------------------------------------------------------
// Protocol parsing.

interface Reply {
  status: string;
  ints: number[];
  sections: Buffer[];
}

function parseManifest(m: Buffer, h: Buffer): ManifestEntry[] {
  const hashes = new Map<string, string>();
  for (const rec of h.toString('utf8').split('\0')) {
    if (!rec) continue;
    const sp = rec.indexOf('  ');
    const path = rec.slice(sp + 2);
    hashes.set(path.startsWith('/work/') ? path.slice(6) : path, rec.slice(0, sp).replace(/^\\/, ''));
  }
  const fields = m.toString('utf8').split('\0');
  const out: ManifestEntry[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const head = fields[i];
    const target = fields[i + 1];
    const s1 = head.indexOf(' ');
    const s2 = head.indexOf(' ', s1 + 1);
    const y = head.slice(0, s1);
    const mode = parseInt(head.slice(s1 + 1, s2), 8);
    const path = head.slice(s2 + 1);
    const kind: EntryKind = y === 'f' || y === 'd' || y === 'l' ? y : 'o';
    const sha256 =
      kind === 'f' ? (hashes.get(path) ?? null) : kind === 'l' ? createHash('sha256').update(target, 'utf8').digest('hex') : null;
    out.push({ path, kind, mode, sha256 });
  }
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}

const shellSeconds = (ms: number) => (Math.max(1, Math.round(ms)) / 1000).toFixed(3);

// --------------------------------------------------------------------------------------------------------

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
          Entrypoint: ['bash', '-c', INIT_SCRIPT],
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
      throw toInfraError(err, `start sandbox ${container.id.slice(0, 12)}`);
    }
    return sb;
  }

  private async startRunner(): Promise<void> {
    const exec = await this.container.exec({
      Cmd: ['bash', '-c', RUNNER_SCRIPT, 'pivotrl-runner', String(this.limits.outputCapBytes), String(fileSizeLimitKiB(this.limits))],
      User: '0:0',
      WorkingDir: '/work',
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    const stream = (await exec.start({ hijack: true, stdin: true })) as unknown as Duplex;
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
    const [rc, elapsedUs, oomDelta, pidsDelta, leftover, timedOutFlag] = r.ints;
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
 * Sandboxes kept warm between tasks: release() resets a healthy sandbox for the next acquire(), so opening a turn
 * costs a reset instead of a container create/start/remove. Sandboxes that failed are destroyed.
 */
export class SandboxPool {
  private idle: Sandbox[] = [];
  private all = new Set<Sandbox>();
  private closed = false;
  private idleTimer: NodeJS.Timeout | null = null;
  created = 0;

  constructor(
    private readonly opts: SandboxOptions & {
      /** Destroy idle sandboxes after this long (default: keep until close()). */
      idleMs?: number;
      /** Replace a sandbox after this many requests (default 5000). */
      maxRequests?: number;
    } = {},
  ) {}

  async acquire(): Promise<Sandbox> {
    if (this.closed) throw new SandboxInfraError('destroyed', 'sandbox pool is closed');
    while (this.idle.length) {
      const sb = this.idle.pop()!;
      if (sb.alive) return sb;
      this.all.delete(sb);
    }
    const sb = await Sandbox.create(this.opts);
    this.created++;
    if (this.closed) {
      await sb.destroy();
      throw new SandboxInfraError('destroyed', 'sandbox pool is closed');
    }
    this.all.add(sb);
    return sb;
  }

  /** Returns a sandbox: reset and kept when healthy, destroyed otherwise (or when `discard`). */
  async release(sb: Sandbox, discard = false): Promise<void> {
    if (this.closed || discard || !sb.alive || sb.requests > (this.opts.maxRequests ?? 5000)) {
      this.all.delete(sb);
      await sb.destroy();
      return;
    }
    try {
      await sb.reset();
    } catch {
      this.all.delete(sb);
      await sb.destroy();
      return;
    }
    if (this.closed) {
      this.all.delete(sb);
      await sb.destroy();
      return;
    }
    this.idle.push(sb);
    this.armIdleTimer();
  }

  private armIdleTimer(): void {
    if (!this.opts.idleMs || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const idle = this.idle;
      this.idle = [];
      for (const sb of idle) {
        this.all.delete(sb);
        void sb.destroy();
      }
    }, this.opts.idleMs);
    this.idleTimer.unref?.();
  }

  private closing: Promise<void> | null = null;

  /**
   * Destroys every sandbox of the pool (idle or in use); every call resolves once they are all removed. A sandbox
   * still being created is destroyed by the acquire() that creates it.
   */
  close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.closing ??= (async () => {
      const all = [...this.all];
      this.all.clear();
      this.idle = [];
      await Promise.all(all.map((sb) => sb.destroy()));
    })();
    return this.closing;
  }
}
