// One record of an input file -> the candidate turns it holds, for each input format.
import { Trajectory, type Turn } from '../core/schemas';
import { describeZodError } from '../core/zod-errors';
import { turnsOf } from '../tasks/domains';
import { NemoGymPivotRowInput } from './nemo-gym';
import { turnOfRow } from './nemo-gym-turns';
import { RecordError } from './record-error';
import type { TrajectoryFormat } from './source';

export type RecordFormat = Exclude<TrajectoryFormat, 'auto'>;

/** The format of a file whose first JSON record is `json`. */
export const detectFormat = (json: unknown): RecordFormat =>
  json !== null && typeof json === 'object' && 'responses_create_params' in json ? 'nemo-gym' : 'chat';

/**
 * The turns of one parsed JSON record. Throws RecordError naming the bad field; `fallbackId` names a turn whose
 * record has no id of its own (e.g. "file.jsonl:12").
 */
export function turnsOfRecord(format: RecordFormat, json: unknown, fallbackId: string): Turn[] {
  switch (format) {
    case 'chat': {
      const parsed = Trajectory.safeParse(json);
      if (!parsed.success) {
        const { field, reason } = describeZodError(parsed.error);
        throw new RecordError(field, reason);
      }
      try {
        return turnsOf(parsed.data);
      } catch (err) {
        throw new RecordError('messages', (err as Error).message);
      }
    }
    case 'nemo-gym': {
      const parsed = NemoGymPivotRowInput.safeParse(json);
      if (!parsed.success) {
        const { field, reason } = describeZodError(parsed.error);
        throw new RecordError(field, reason);
      }
      return [turnOfRow(parsed.data, fallbackId)];
    }
  }
}
