// One record of an input file -> the candidate turns it holds, for each input format: PivotRL's own records (with the
// `{ domain, task }` block) and the shapes users already have (plain OpenAI chat, NeMo-Gym rows as NeMo-Gym writes them).
import { Trajectory, type Turn } from '../core/schemas';
import { describeZodError } from '../core/zod-errors';
import { turnsOf } from '../tasks/domains';
import type { z } from 'zod';
import { ImportFields } from './import-fields';
import { NemoGymPivotRowInput } from './nemo-gym';
import { importRow, type ImportContext, type ImportedTurn } from './nemo-gym-import';
import { turnOfRow } from './nemo-gym-turns';
import { importChat, PlainChatRecord } from './openai-chat';
import { RecordError } from './record-error';
import type { TrajectoryFormat } from './source';

export type RecordFormat = Exclude<TrajectoryFormat, 'auto'>;
export type { ImportContext, ImportedTurn } from './nemo-gym-import';

/** The format of a file whose first JSON record is `json`. */
export const detectFormat = (json: unknown): RecordFormat =>
  json !== null && typeof json === 'object' && 'responses_create_params' in json ? 'nemo-gym' : 'chat';

export interface ImportedRecord {
  /** The record carries PivotRL's `{ domain, task }` block (a generated trajectory, or a row PivotRL exported). */
  withTask: boolean;
  turns: ImportedTurn[];
}

function parsed<T>(schema: z.ZodType<T>, json: unknown): T {
  const result = schema.safeParse(json);
  if (!result.success) {
    const { field, reason } = describeZodError(result.error);
    throw new RecordError(field, reason);
  }
  return result.data;
}

const isObject = (json: unknown): json is Record<string, unknown> => json !== null && typeof json === 'object' && !Array.isArray(json);

/**
 * The turns of one parsed JSON record. Throws RecordError naming the bad field; `ctx.fallbackId` names a turn whose
 * record has no id of its own (e.g. "file.jsonl:12").
 */
export function importRecord(format: RecordFormat, json: unknown, ctx: ImportContext): ImportedRecord {
  switch (format) {
    case 'chat': {
      if (isObject(json) && ('domain' in json || 'task' in json)) {
        const trajectory = parsed(Trajectory, json);
        try {
          return { withTask: true, turns: turnsOf(trajectory).map((turn) => ({ turn })) };
        } catch (err) {
          throw new RecordError('messages', (err as Error).message);
        }
      }
      return { withTask: false, turns: importChat(parsed(PlainChatRecord, json), ctx) };
    }
    case 'nemo-gym': {
      const row = parsed(NemoGymPivotRowInput, json);
      if (row.pivotrl) return { withTask: true, turns: [{ turn: turnOfRow(row, ctx.fallbackId) }] };
      return { withTask: false, turns: [importRow(row, parsed(ImportFields, json), ctx)] };
    }
  }
}

/** The turns of one parsed JSON record (importRecord without the accounting). */
export const turnsOfRecord = (format: RecordFormat, json: unknown, fallbackId: string): Turn[] =>
  importRecord(format, json, { fallbackId }).turns.map((t) => t.turn);
