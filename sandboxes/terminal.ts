// The execution side of the terminal verifier, and episode replay for evaluation.
//
// State at turn t = the task's initial workspace with the expert's actions a*_0 .. a*_{t-1} replayed; it is
// snapshotted once, and every action at that turn runs from the restored snapshot. The effect of an action is
// its exit status, its output and the changes it made under /work (path, kind, mode, content hash).
import type { TaskFile, TerminalTask } from '../core/schemas';
import { Memo } from '../core/memo';
import { isSandboxInfraError } from './engine';
import { DEFAULT_ACTION_TIMEOUT_MS } from './limits';
import type { EntryKind, ManifestEntry } from './manifest';
import { SandboxPool } from './pool';
import { Sandbox, type ExecResult, type SandboxOptions } from './sandbox';

export type ChangeKind = 'added' | 'removed' | 'modified';

/** One entry of /work that an action added, removed or modified (kind, mode, hash: the entry after; before for 'removed'). */
export interface FileChange {
  path: string;
  change: ChangeKind;
  kind: EntryKind;
  mode: number;
  sha256: string | null;
}

export interface Effect {
  exitCode: number;
  /** stdout and stderr interleaved (capped, see SandboxLimits.outputCapBytes). */
  output: string;
  outputTruncated: boolean;
  timedOut: boolean;
  oomKilled: boolean;
  pidsLimitHit: boolean;
  fileSizeLimitHit: boolean;
  /** The action left /work over the manifest's caps: its changes are unknown (empty). Absent in effects recorded before. */
  manifestCapHit?: boolean;
  /** Processes still running when the action returned (all were killed before the manifest was taken). */
  leftoverProcesses: number;
  /** Sorted by path. */
  changes: FileChange[];
  durationMs: number;
}

/** The changes between two manifests of /work, sorted by path. Pure. */
export function diffManifests(before: ManifestEntry[], after: ManifestEntry[]): FileChange[] {
  const old = new Map(before.map((e) => [e.path, e]));
  const changes: FileChange[] = [];
  const seen = new Set<string>();
  for (const e of after) {
    seen.add(e.path);
    const b = old.get(e.path);
    if (!b) changes.push({ path: e.path, change: 'added', kind: e.kind, mode: e.mode, sha256: e.sha256 });
    else if (b.kind !== e.kind || b.mode !== e.mode || b.sha256 !== e.sha256)
      changes.push({ path: e.path, change: 'modified', kind: e.kind, mode: e.mode, sha256: e.sha256 });
  }
  for (const b of before) {
    if (!seen.has(b.path)) changes.push({ path: b.path, change: 'removed', kind: b.kind, mode: b.mode, sha256: b.sha256 });
  }
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return changes;
}

export function toEffect(result: ExecResult, changes: FileChange[]): Effect {
  return {
    exitCode: result.exitCode,
    output: result.output,
    outputTruncated: result.truncated,
    timedOut: result.timedOut,
    oomKilled: result.oomKilled,
    pidsLimitHit: result.pidsLimitHit,
    fileSizeLimitHit: result.fileSizeLimitHit,
    manifestCapHit: result.manifestCapHit,
    leftoverProcesses: result.leftoverProcesses,
    changes,
    durationMs: result.durationMs,
  };
}

export interface TerminalSandboxOptions extends SandboxOptions {
  /** Wall-clock limit of one action (expert or sampled). Default 10 s. */
  actionTimeoutMs?: number;
  /** Wall-clock limit of each replayed expert prefix action. Default: actionTimeoutMs. */
  prefixTimeoutMs?: number;
  /** Wall-clock limit of the task's final check. Default: actionTimeoutMs. */
  checkTimeoutMs?: number;
  /**
   * Use this sandbox (e.g. one from a SandboxPool, freshly reset) instead of creating one. The caller then owns
   * it: TurnState.close() leaves it alone.
   */
  sandbox?: Sandbox;
}

/** A task's initial files under /work (the terminal workspace, an SWE repository). */
export interface Workspace {
  files: TaskFile[];
  dirs?: string[];
}

export async function seedWorkspace(sandbox: Sandbox, task: Workspace): Promise<void> {
  await sandbox.writeFiles(
    task.files.map((f) => ({ path: f.path, content: f.content, mode: f.mode })),
    task.dirs ?? [],
  );
}

/** The state of one turn in a sandbox: snapshot taken, base manifest known. */
export class TurnState {
  constructor(
    readonly sandbox: Sandbox,
    /** Manifest of /work at the snapshot. */
    readonly base: ManifestEntry[],
    /** What each replayed expert prefix action did. */
    readonly prefix: ExecResult[],
    private readonly actionTimeoutMs: number,
    private readonly owned: boolean,
  ) {}

  /** Restores the snapshot, runs `action`, and returns its effect. One round trip to the sandbox. */
  async runAction(action: string, opts: { timeoutMs?: number } = {}): Promise<Effect> {
    const r = await this.sandbox.run(action, {
      timeoutMs: opts.timeoutMs ?? this.actionTimeoutMs,
      restore: true,
      manifest: true,
    });
    return toEffect(r, r.manifestCapHit ? [] : diffManifests(this.base, r.manifest ?? []));
  }

  /** Destroys the sandbox if openTurnState created it. */
  async close(): Promise<void> {
    if (this.owned) await this.sandbox.destroy();
  }
}

/**
 * Opens the state of a turn: a sandbox with the task's files, the expert prefix replayed, a snapshot.
 * Infrastructure failures throw SandboxInfraError (and destroy a sandbox created here).
 */
export async function openTurnState(task: Workspace, prefixActions: string[], opts: TerminalSandboxOptions = {}): Promise<TurnState> {
  const actionTimeoutMs = opts.actionTimeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS;
  const owned = !opts.sandbox;
  const sandbox = opts.sandbox ?? (await Sandbox.create(opts));
  try {
    await seedWorkspace(sandbox, task);
    const prefix: ExecResult[] = [];
    for (const action of prefixActions) {
      prefix.push(await sandbox.run(action, { timeoutMs: opts.prefixTimeoutMs ?? actionTimeoutMs }));
    }
    const base = await sandbox.snapshot();
    return new TurnState(sandbox, base, prefix, actionTimeoutMs, owned);
  } catch (err) {
    if (owned) await sandbox.destroy();
    throw err;
  }
}

export interface ReplayStep {
  action: string;
  output: string;
  exitCode: number;
  timedOut: boolean;
}

export interface ReplayResult {
  outputs: ReplayStep[];
  /** The task's check exited 0 (within its time limit) after the last action. */
  passed: boolean;
  check: { exitCode: number; output: string; timedOut: boolean };
}

/**
 * Runs `actions` one after the other from the task's initial workspace (each with its own time limit, nothing
 * restored in between), then the task's check. Infrastructure failures throw SandboxInfraError.
 */
export async function replayEpisode(task: TerminalTask, actions: string[], opts: TerminalSandboxOptions = {}): Promise<ReplayResult> {
  const actionTimeoutMs = opts.actionTimeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS;
  const owned = !opts.sandbox;
  const sandbox = opts.sandbox ?? (await Sandbox.create(opts));
  try {
    await seedWorkspace(sandbox, task);
    const outputs: ReplayStep[] = [];
    for (const action of actions) {
      const r = await sandbox.run(action, { timeoutMs: actionTimeoutMs });
      outputs.push({ action, output: r.output, exitCode: r.exitCode, timedOut: r.timedOut });
    }
    const c = await sandbox.run(task.check, { timeoutMs: opts.checkTimeoutMs ?? actionTimeoutMs });
    return {
      outputs,
      passed: c.exitCode === 0 && !c.timedOut,
      check: { exitCode: c.exitCode, output: c.output, timedOut: c.timedOut },
    };
  } finally {
    if (owned) await sandbox.destroy();
  }
}

export interface TerminalEpisodeRunnerOptions extends Omit<TerminalSandboxOptions, 'sandbox'> {
  /** Idle sandboxes are removed after this long (default 60 s). */
  idleMs?: number;
  /**
   * Replays already run (same task, actions, image, limits): evaluations of many checkpoints on the same held-out
   * tasks often share an episode's first actions. Replays in which anything timed out are never memoised.
   */
  memo?: Memo<ReplayResult>;
}

/**
 * Runs `fn` on a sandbox of the pool, released (reset) afterwards. An infrastructure failure is retried once on a
 * fresh sandbox (the failed one is destroyed); a second one, or any other error, throws.
 */
export async function onPooledSandbox<T>(pool: SandboxPool, fn: (sandbox: Sandbox) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const sandbox = await pool.acquire();
    let healthy = true;
    try {
      return await fn(sandbox);
    } catch (err) {
      healthy = false;
      if (!isSandboxInfraError(err) || attempt >= 2) throw err;
    } finally {
      await pool.release(sandbox, !healthy);
    }
  }
}

/**
 * Episode replay for evaluation, on warm sandboxes (reset between episodes). An infrastructure failure is
 * retried once on a fresh sandbox; a second one throws (the evaluate activity fails and Temporal retries it).
 */
export class TerminalEpisodeRunner {
  private readonly pool: SandboxPool;

  constructor(private readonly opts: TerminalEpisodeRunnerOptions = {}) {
    this.pool = new SandboxPool({ ...opts, idleMs: opts.idleMs ?? 60_000 });
  }

  async replay(task: TerminalTask, actions: string[]): Promise<ReplayResult> {
    const { memo, image, limits, actionTimeoutMs, checkTimeoutMs } = this.opts;
    const key = memo && Memo.keyOf([image ?? null, limits ?? null, actionTimeoutMs ?? null, checkTimeoutMs ?? null, task, actions]);
    const known = key === undefined ? undefined : memo?.get(key);
    if (known) return known;
    const result = await onPooledSandbox(this.pool, (sandbox) => replayEpisode(task, actions, { ...this.opts, sandbox }));
    if (key !== undefined && !result.check.timedOut && !result.outputs.some((o) => o.timedOut)) memo?.set(key, result);
    return result;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
