// Resumable stage work in parts. A long stage (generation over many prompts, verification over many turns) cuts
// its items into fixed parts, writes each finished part to the store as its own object and reports a cursor
// (the number of leading parts finished). A retried attempt given that cursor reads the finished parts back
// and computes only the rest, so no finished work is repeated. Parts are deterministic functions of their items
// (seeds depend on the part's start, not on the attempt), so a resumed stage writes the same output as an
// uninterrupted one. Knows nothing of Temporal: the activities carry the cursor in their heartbeats.
import { throwIfAborted } from '../core/abort';
import { MissingArtefactError, getJsonl, putJsonl, type ArtefactStore } from '../store';

/** What a stage heartbeats: `done` leading parts of `of` are in the store. */
export interface PartsCursor {
  done: number;
  of: number;
}

/** Where the parts of the stage whose output is `outKey` live. */
export const partsOf = (outKey: string) => `${outKey}.parts`;
const partKey = (prefix: string, i: number) => `${prefix}/part-${String(i).padStart(6, '0')}.jsonl`;

/** The cursor in a heartbeat's details, or 0 parts when there is none (first attempt, or details of another shape). */
export function cursorFrom(details: unknown): number {
  const done = (details as Partial<PartsCursor> | undefined)?.done;
  return typeof done === 'number' && Number.isInteger(done) && done >= 0 ? done : 0;
}

/** How a caller runs a resumable stage: the cursor to resume at, and who hears of finished parts and reuse. */
export interface StageRun {
  /** Leading parts an earlier attempt reported finished (0 or absent: none). */
  resumeFrom?: number;
  onPart?: (cursor: PartsCursor) => void;
  log?: (message: string) => void;
  /** Cancellation: no further part is computed or stored once it is aborted (a zombie attempt stops writing). */
  signal?: AbortSignal;
}

export interface PartsRun<R> {
  rows: R[];
  parts: number;
  /** Parts read back from the store (finished by an earlier attempt). */
  reused: number;
  /** Parts computed by this call. */
  computed: number;
}

/**
 * Runs `work` on `items` in parts of `size`, in order. Parts before `resumeFrom`, and any later part already in
 * the store, are read back instead of computed. `onPart` gets the cursor after each part is stored.
 */
export async function runInParts<T, R>(
  store: ArtefactStore,
  opts: {
    prefix: string;
    items: readonly T[];
    size: number;
    resumeFrom: number;
    parse: (v: unknown) => R;
    work: (items: T[], start: number) => Promise<R[]>;
    onPart?: (cursor: PartsCursor) => void;
    signal?: AbortSignal;
  },
): Promise<PartsRun<R>> {
  const size = Math.max(1, Math.floor(opts.size));
  const of = Math.ceil(opts.items.length / size);
  const rows: R[][] = [];
  let reused = 0;
  const stored = async (key: string, i: number): Promise<R[] | null> => {
    // Parts behind the cursor were stored; later ones may be too, since the heartbeat lags the store (it is
    // throttled, and a killed worker sends nothing more).
    if (i >= opts.resumeFrom && !(await store.exists(key))) return null;
    try {
      return await getJsonl(store, key, opts.parse);
    } catch (err) {
      if (err instanceof MissingArtefactError) return null; // the cursor outlived its parts: compute again
      throw err;
    }
  };
  for (let i = 0; i < of; i++) {
    const key = partKey(opts.prefix, i);
    let part = await stored(key, i);
    if (part) reused++;
    else {
      const start = i * size;
      throwIfAborted(opts.signal);
      part = await opts.work(opts.items.slice(start, start + size), start);
      throwIfAborted(opts.signal);
      await putJsonl(store, key, part);
    }
    rows.push(part);
    opts.onPart?.({ done: i + 1, of });
  }
  return { rows: rows.flat(), parts: of, reused, computed: of - reused };
}

/** Removes the `count` parts once the stage's output and summary are stored (a retry finds the summary instead). */
export async function dropParts(store: ArtefactStore, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await store.delete(partKey(prefix, i));
}
