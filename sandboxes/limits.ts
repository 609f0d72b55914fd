// What a sandbox may use: its resource limits, the agent's uid, the root-only scratch dir, an action's time.
const MiB = 1024 * 1024;

export const AGENT_UID = 1000;
/** Root-only scratch dir inside the container: the snapshot, the captured output, the manifest. */
export const SCRATCH = '/run/pivotrl';

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
  /**
   * Caps of the listing of /work (hard links are entries without inodes; paths grow with depth): past either, an
   * action's manifest is not sent and the action hits a resource limit.
   */
  manifestEntries: number;
  /** Bytes of the listing's records and hashes. */
  manifestBytes: number;
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
  manifestEntries: 20_000,
  manifestBytes: 8 * MiB,
};

/** The largest answer the runner may send: the output, the manifest and its error log (64 KiB), with room to spare. */
export const maxReplyBytes = (l: SandboxLimits): number => l.outputCapBytes + 1 + l.manifestBytes + 256 * 1024;

/**
 * The largest file an action may write: the largest tmpfs it can write to (the captured output lives in the
 * scratch dir), so only a sparse file could exceed it, and such a file would cost the manifest a hash of its size.
 */
export const fileSizeLimitKiB = (l: SandboxLimits): number =>
  Math.ceil(Math.max(l.workTmpfsBytes, l.tmpTmpfsBytes, l.scratchTmpfsBytes) / 1024);

export const DEFAULT_ACTION_TIMEOUT_MS = 10_000;
