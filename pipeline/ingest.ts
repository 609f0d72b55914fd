// Ingest: stream JSON Lines of expert trajectories, validate each record, split into candidate turns and
// write them in shards. A bad record is reported (file, line, field) and quarantined; the others go on.
import { createReadStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { HeldoutTask, OodItem, Trajectory, type Turn } from '../core/schemas';
import type { ArtefactStore } from '../store';
import { putJsonl } from '../store';
import { promptOf, turnsOf } from '../tasks/domains';
import { renderOodPrompt } from '../tasks/ood';
import { campaignKeys } from './keys';
import type { PromptRow } from './records';

/** Input that cannot be used at all (a missing or unreadable file): retrying will not help. */
export class BadInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}

export interface BadRecord {
  file: string;
  line: number;
  field: string;
  reason: string;
}

export interface IngestOptions {
  campaignId: string;
  trajectories: string[];
  heldoutTasks: string;
  ood: string;
  shardSize: number;
  heldoutLimit: number;
  oodLimit: number;
}

export interface ShardRef {
  turns: string;
  prompts: string;
  count: number;
}

export interface IngestResult {
  trajectories: number;
  turns: number;
  shards: ShardRef[];
  badRecords: number;
  badExamples: BadRecord[];
  quarantine: string;
  heldout: string;
  heldoutCount: number;
  ood: string;
  oodPrompts: string;
  oodCount: number;
}

const MAX_LINE_BYTES = 8 * 1024 * 1024;

export function describeZodError(error: z.ZodError): { field: string; reason: string } {
  const first = error.issues[0];
  return { field: first.path.length ? first.path.join('.') : '(record)', reason: first.message };
}

/** Yields [lineNumber, text] for every non-empty line of a JSON Lines file. */
async function* jsonLines(file: string): AsyncGenerator<[number, string]> {
  try {
    await access(file, constants.R_OK);
  } catch (err) {
    throw new BadInputError(`${file}: cannot read trajectory file: ${(err as Error).message}`);
  }
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim().length > 0) yield [n, line];
  }
}

/** Parses one line against a schema; returns the record or a BadRecord naming file, line and field. */
function parseLine<T>(schema: z.ZodType<T>, file: string, line: number, text: string): T | BadRecord {
  if (Buffer.byteLength(text) > MAX_LINE_BYTES)
    return { file, line, field: '(record)', reason: `line longer than ${MAX_LINE_BYTES} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { file, line, field: '(record)', reason: `invalid JSON: ${(err as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { file, line, ...describeZodError(parsed.error) };
  return parsed.data;
}

const isBad = (v: unknown): v is BadRecord =>
  typeof v === 'object' && v !== null && 'reason' in v && 'line' in v && 'file' in v && 'field' in v;

async function readAll<T>(schema: z.ZodType<T>, file: string, limit: number, bad: BadRecord[]): Promise<T[]> {
  const out: T[] = [];
  for await (const [line, text] of jsonLines(file)) {
    if (out.length >= limit) break;
    const rec = parseLine(schema, file, line, text);
    if (isBad(rec)) bad.push(rec);
    else out.push(rec);
  }
  return out;
}

export async function ingest(store: ArtefactStore, opts: IngestOptions, onProgress?: (turns: number) => void): Promise<IngestResult> {
  const keys = campaignKeys(opts.campaignId);
  const bad: BadRecord[] = [];
  const shards: ShardRef[] = [];
  let pending: Turn[] = [];
  let trajectories = 0;
  let turns = 0;

  const flush = async () => {
    if (pending.length === 0) return;
    const shard = shards.length;
    const prompts: PromptRow[] = pending.map((t) => ({ id: t.id, prompt: promptOf(t, t.history) }));
    await putJsonl(store, keys.shardTurns(shard), pending);
    await putJsonl(store, keys.shardPrompts(shard), prompts);
    shards.push({ turns: keys.shardTurns(shard), prompts: keys.shardPrompts(shard), count: pending.length });
    pending = [];
  };

  for (const file of opts.trajectories) {
    for await (const [line, text] of jsonLines(file)) {
      const rec = parseLine(Trajectory, file, line, text);
      if (isBad(rec)) {
        bad.push(rec);
        continue;
      }
      let split: Turn[];
      try {
        split = turnsOf(rec);
      } catch (err) {
        bad.push({ file, line, field: 'messages', reason: (err as Error).message });
        continue;
      }
      trajectories++;
      for (const turn of split) {
        pending.push(turn);
        turns++;
        if (pending.length >= opts.shardSize) {
          await flush();
          onProgress?.(turns);
        }
      }
    }
  }
  await flush();

  const heldout = await readAll(HeldoutTask, opts.heldoutTasks, opts.heldoutLimit, bad);
  const ood = await readAll(OodItem, opts.ood, opts.oodLimit, bad);
  await putJsonl(store, keys.heldout, heldout);
  await putJsonl(store, keys.ood, ood);
  await putJsonl(
    store,
    keys.oodPrompts,
    ood.map((item): PromptRow => ({ id: item.id, prompt: renderOodPrompt(item) })),
  );
  await putJsonl(store, keys.quarantine, bad);

  if (turns === 0) throw new BadInputError(`no usable trajectories in ${opts.trajectories.join(', ')} (${bad.length} bad records)`);
  return {
    trajectories,
    turns,
    shards,
    badRecords: bad.length,
    badExamples: bad.slice(0, 5),
    quarantine: keys.quarantine,
    heldout: keys.heldout,
    heldoutCount: heldout.length,
    ood: keys.ood,
    oodPrompts: keys.oodPrompts,
    oodCount: ood.length,
  };
}
