// A bounded memo of a deterministic function's results, keyed by the sha256 of its canonical JSON inputs. The
// verifiers and the episode runner keep one per worker process: an action run at the same state under the same
// limits gives the same effect, so evaluating many checkpoints (methods, seeds, curve points) at the same held-out
// states runs each distinct (state, action) once. A miss only costs the work the memo would have saved.
import { createHash } from 'node:crypto';

export interface MemoStats {
  hits: number;
  misses: number;
  size: number;
}

export class Memo<V> {
  private readonly entries = new Map<string, V>();
  private hits = 0;
  private misses = 0;

  /** Keeps at most `capacity` results, dropping the least recently used. */
  constructor(readonly capacity = 200_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`memo capacity must be a positive integer, got ${capacity}`);
  }

  /** The key of a list of JSON values (order matters, object keys are sorted). */
  static keyOf(parts: unknown[]): string {
    return createHash('sha256').update(canonicalJson(parts)).digest('hex');
  }

  get(key: string): V | undefined {
    const v = this.entries.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Map iteration order is insertion order: re-inserting makes this the most recently used entry.
    this.entries.delete(key);
    this.entries.set(key, v);
    return v;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  stats(): MemoStats {
    return { hits: this.hits, misses: this.misses, size: this.entries.size };
  }
}

/** JSON with object keys sorted at every depth: equal values give equal text whatever their keys' order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
