// Ingest: stream JSON Lines of expert data (chat trajectories or NeMo-Gym pivot rows), validate each record, split
// into candidate turns and write them in shards. A bad record is reported (file, line, field) and quarantined; the
// others go on. Memory stays flat whatever the file's size: lines are read as bytes with a bounded line length,
// shards are written by turn count or size, and the quarantine is streamed to the store in parts.
import { z } from 'zod';
import { HeldoutTask, OodItem, type Turn } from '../core/schemas';
import { addVerifications, noVerifications, type VerificationCounts } from '../core/turn-verification';
import { sourcePath, type TrajectorySource } from '../formats/source';
import type { ArtefactStore } from '../store';
import { putJsonl } from '../store';
import { BadInputError, readJsonLines } from './jsonl-reader';
import { campaignKeys } from './keys';
import { describeZodError } from '../core/zod-errors';
import { Quarantine, type BadRecord } from './quarantine';
import { oodPromptRowOf, promptRowOf } from './records';
import { badOf, jsonOf, readSource, type SourceReport } from './source-records';

export { BadInputError } from './jsonl-reader';
export type { SourceReport } from './source-records';

/**
 * Lines over 8 MiB are reported as too long, not parsed: the limit bounds the memory of one record (its text,
 * the parsed object and its turns), and every turn repeats the history before it, so a trajectory of L bytes and
 * T turns writes about T x L bytes of shards. The policy's prompt keeps only the last few steps anyway.
 */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;
/** A shard is written once it holds `shardSize` turns or about this much JSON. */
export const MAX_SHARD_BYTES = 8 * 1024 * 1024;
/** Shard writes under way while the next shard fills (store latency, not CPU, bounds ingest otherwise). */
const WRITES_IN_FLIGHT = 4;

export interface IngestOptions {
  campaignId: string;
  /** Paths (format detected from the first record) or { path, format }. */
  trajectories: TrajectorySource[];
  heldoutTasks: string;
  ood: string;
  shardSize: number;
  heldoutLimit: number;
  oodLimit: number;
  maxLineBytes?: number;
  maxShardBytes?: number;
  /** Bad records per quarantine part. */
  quarantinePartRecords?: number;
}

export interface ShardRef {
  turns: string;
  prompts: string;
  count: number;
}

export interface IngestResult {
  /** Good records of the trajectory files: chat trajectories and NeMo-Gym pivot rows. */
  trajectories: number;
  turns: number;
  shards: ShardRef[];
  sources: SourceReport[];
  /** Every file's turns by how they are verified, and those whose state could not be rebuilt. */
  verification: VerificationCounts;
  badRecords: number;
  badExamples: BadRecord[];
  /** Store keys of the quarantine's parts (JSON Lines of BadRecord), in order. */
  quarantine: string[];
  heldout: string;
  heldoutCount: number;
  ood: string;
  oodPrompts: string;
  oodCount: number;
}

/** Turns and their prompts, written as a shard when it is full by count or by size; a few writes overlap. */
class ShardWriter {
  readonly refs: ShardRef[] = [];
  private turns: string[] = [];
  private prompts: string[] = [];
  private chars = 0;
  private readonly writing = new Set<Promise<void>>();
  private failure: unknown = null;

  constructor(
    private readonly store: ArtefactStore,
    private readonly keys: ReturnType<typeof campaignKeys>,
    private readonly maxTurns: number,
    private readonly maxChars: number,
  ) {}

  /** Adds a turn; true when that completed a shard. */
  async add(turn: Turn): Promise<boolean> {
    const line = JSON.stringify(turn) + '\n';
    const prompt = promptRowOf(turn.id, turn, turn.history);
    this.turns.push(line);
    this.prompts.push(JSON.stringify(prompt) + '\n');
    this.chars += line.length;
    if (this.turns.length < this.maxTurns && this.chars < this.maxChars) return false;
    await this.flush();
    return true;
  }

  /** Starts writing the shard being filled; waits while too many writes are under way. */
  async flush(): Promise<void> {
    if (this.turns.length > 0) {
      const shard = this.refs.length;
      const ref = { turns: this.keys.shardTurns(shard), prompts: this.keys.shardPrompts(shard), count: this.turns.length };
      const write = Promise.all([this.store.put(ref.turns, this.turns.join('')), this.store.put(ref.prompts, this.prompts.join(''))]).then(
        () => undefined,
        (err) => void (this.failure ??= err),
      );
      this.writing.add(write);
      void write.finally(() => this.writing.delete(write));
      this.refs.push(ref);
      this.turns = [];
      this.prompts = [];
      this.chars = 0;
    }
    while (this.writing.size >= WRITES_IN_FLIGHT) await Promise.race(this.writing);
    if (this.failure) throw this.failure;
  }

  /** Writes what is left and waits for every write. */
  async close(): Promise<ShardRef[]> {
    await this.flush();
    await Promise.all(this.writing);
    if (this.failure) throw this.failure;
    return this.refs;
  }
}

/** Up to `limit` valid records of a small JSON Lines file (held-out tasks, OOD items). */
async function readRecords<T>(
  schema: z.ZodType<T>,
  file: string,
  limit: number,
  maxLineBytes: number,
  quarantine: Quarantine,
): Promise<T[]> {
  const out: T[] = [];
  for await (const rec of readJsonLines(file, { maxLineBytes })) {
    if (out.length >= limit) break;
    const value = jsonOf(file, rec);
    if ('bad' in value) {
      await quarantine.add(value.bad);
      continue;
    }
    const parsed = schema.safeParse(value.json);
    if (parsed.success) out.push(parsed.data);
    else {
      const { field, reason } = describeZodError(parsed.error);
      await quarantine.add(badOf(file, rec, field, reason));
    }
  }
  return out;
}

export async function ingest(store: ArtefactStore, opts: IngestOptions, onProgress?: (turns: number) => void): Promise<IngestResult> {
  const keys = campaignKeys(opts.campaignId);
  const maxLineBytes = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const quarantine = new Quarantine(store, keys.quarantine, opts.quarantinePartRecords);
  const shards = new ShardWriter(store, keys, opts.shardSize, opts.maxShardBytes ?? MAX_SHARD_BYTES);
  const sources: SourceReport[] = [];
  let trajectories = 0;
  let turns = 0;

  for (const source of opts.trajectories) {
    const { report, items } = readSource(source, maxLineBytes);
    sources.push(report);
    for await (const item of items) {
      if ('bad' in item) {
        await quarantine.add(item.bad);
        continue;
      }
      trajectories++;
      for (const { turn } of item.record.turns) {
        turns++;
        if (await shards.add(turn)) onProgress?.(turns);
      }
    }
  }
  const shardRefs = await shards.close();

  const heldout = await readRecords(HeldoutTask, opts.heldoutTasks, opts.heldoutLimit, maxLineBytes, quarantine);
  const ood = await readRecords(OodItem, opts.ood, opts.oodLimit, maxLineBytes, quarantine);
  await putJsonl(store, keys.heldout, heldout);
  await putJsonl(store, keys.ood, ood);
  await putJsonl(store, keys.oodPrompts, ood.map(oodPromptRowOf));
  const bad = await quarantine.close();

  if (turns === 0) {
    const first = bad.examples[0];
    const hint = first ? `; first: ${first.file}:${first.line}: ${first.field}: ${first.reason}` : '';
    throw new BadInputError(`no usable trajectories in ${opts.trajectories.map(sourcePath).join(', ')} (${bad.count} bad records${hint})`);
  }
  return {
    trajectories,
    turns,
    shards: shardRefs,
    sources,
    verification: sources.reduce((all, s) => addVerifications(all, s.verification), noVerifications()),
    badRecords: bad.count,
    badExamples: bad.examples,
    quarantine: bad.parts,
    heldout: keys.heldout,
    heldoutCount: heldout.length,
    ood: keys.ood,
    oodPrompts: keys.oodPrompts,
    oodCount: ood.length,
  };
}
