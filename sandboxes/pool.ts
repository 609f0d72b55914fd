// A pool of warm sandboxes, reset between tasks.
import { SandboxInfraError } from './engine';
import { Sandbox, type SandboxOptions } from './sandbox';

/** Sandboxes held by every pool of this process (idle or in use), and who hears when the count changes. */
let live = 0;
const liveListeners = new Set<(live: number) => void>();
const changeLive = (delta: number) => {
  live += delta;
  for (const listener of liveListeners) listener(live);
};

/** Calls `listener` with the count of live pooled sandboxes now and at every change; returns its removal. */
export function watchLiveSandboxes(listener: (live: number) => void): () => void {
  liveListeners.add(listener);
  listener(live);
  return () => void liveListeners.delete(listener);
}

/**
 * Sandboxes kept warm between tasks: release() resets a healthy sandbox for the next acquire(), so opening a turn
 * costs a reset instead of a container create/start/remove. Sandboxes that failed are destroyed.
 */
export class SandboxPool {
  private idle: Sandbox[] = [];
  private readonly all = new Set<Sandbox>();
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
      this.drop(sb);
    }
    const sb = await Sandbox.create(this.opts);
    this.created++;
    if (this.closed) {
      await sb.destroy();
      throw new SandboxInfraError('destroyed', 'sandbox pool is closed');
    }
    this.hold(sb);
    return sb;
  }

  /** Returns a sandbox: reset and kept when healthy, destroyed otherwise (or when `discard`). */
  async release(sb: Sandbox, discard = false): Promise<void> {
    if (this.closed || discard || !sb.alive || sb.requests > (this.opts.maxRequests ?? 5000)) {
      this.drop(sb);
      await sb.destroy();
      return;
    }
    try {
      await sb.reset();
    } catch {
      this.drop(sb);
      await sb.destroy();
      return;
    }
    if (this.closed) {
      this.drop(sb);
      await sb.destroy();
      return;
    }
    this.idle.push(sb);
    this.armIdleTimer();
  }

  private hold(sb: Sandbox): void {
    this.all.add(sb);
    changeLive(1);
  }

  private drop(sb: Sandbox): void {
    if (this.all.delete(sb)) changeLive(-1);
  }

  private armIdleTimer(): void {
    if (!this.opts.idleMs || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const idle = this.idle;
      this.idle = [];
      for (const sb of idle) {
        this.drop(sb);
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
      for (const sb of all) this.drop(sb);
      this.idle = [];
      await Promise.all(all.map((sb) => sb.destroy()));
    })();
    return this.closing;
  }
}
