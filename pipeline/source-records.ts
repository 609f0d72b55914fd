// The records of one trajectory file, one line at a time: each good line's candidate turns, or why the line is bad
// (file, line, field), and the file's report (format, counts, how its turns are verified). Shared by ingest, which
// shards the turns, and `pivotrl ingest --check`, which only reports.
import { basename } from 'node:path';
import { countVerification, noVerifications, type VerificationCounts } from '../core/turn-verification';
import { RecordError } from '../formats/record-error';
import { detectFormat, importRecord, type ImportedRecord, type RecordFormat } from '../formats/records';
import { sourceFormat, sourceImage, sourcePath, type TrajectoryFormat, type TrajectorySource } from '../formats/source';
import { verificationOf } from '../tasks/domains';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth';
import { headOf, readJsonLines, type ReadLine } from './jsonl-reader';
import type { BadRecord } from './quarantine';

export interface SourceReport {
  path: string;
  /** The format used (detected when the source said `auto`; `auto` when no record could be read). */
  format: TrajectoryFormat;
  records: number;
  badRecords: number;
  turns: number;
  /** Good records without PivotRL's `{ domain, task }` block (plain chat, NeMo-Gym rows as NeMo-Gym writes them). */
  plain: number;
  /** The file's turns by how they are verified, and those whose state could not be rebuilt. */
  verification: VerificationCounts;
}

export type SourceItem = { line: number; record: ImportedRecord } | { bad: BadRecord };

export const badOf = (file: string, rec: ReadLine, field: string, reason: string): BadRecord => ({
  file,
  line: rec.line,
  field,
  reason,
  bytes: rec.bytes,
  raw: rec.raw ?? headOf(rec.text ?? ''),
});

/** The JSON value of a line, or the bad record saying why there is none. */
export function jsonOf(file: string, rec: ReadLine): { json: unknown } | { bad: BadRecord } {
  if (rec.problem) return { bad: badOf(file, rec, rec.problem.field, rec.problem.reason) };
  if (nestsDeeperThan(rec.text!, MAX_JSON_DEPTH)) {
    return { bad: badOf(file, rec, '(record)', `nested deeper than ${MAX_JSON_DEPTH} levels of arrays and objects`) };
  }
  try {
    return { json: JSON.parse(rec.text!) };
  } catch (err) {
    return { bad: badOf(file, rec, '(record)', `invalid JSON: ${(err as Error).message}`) };
  }
}

/**
 * Yields each line of a trajectory file as its turns or as a bad record, and keeps `report` (returned at once, filled
 * as the lines go by). A file that cannot be read at all throws BadInputError.
 */
export function readSource(source: TrajectorySource, maxLineBytes: number): { report: SourceReport; items: AsyncGenerator<SourceItem> } {
  const file = sourcePath(source);
  const image = sourceImage(source);
  const report: SourceReport = {
    path: file,
    format: sourceFormat(source),
    records: 0,
    badRecords: 0,
    turns: 0,
    plain: 0,
    verification: noVerifications(),
  };
  async function* items(): AsyncGenerator<SourceItem> {
    let format: RecordFormat | null = report.format === 'auto' ? null : report.format;
    for await (const rec of readJsonLines(file, { maxLineBytes })) {
      const value = jsonOf(file, rec);
      if ('bad' in value) {
        report.badRecords++;
        yield value;
        continue;
      }
      format ??= detectFormat(value.json);
      report.format = format;
      let record: ImportedRecord;
      try {
        record = importRecord(format, value.json, { fallbackId: `${basename(file)}:${rec.line}`, image });
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        report.badRecords++;
        yield { bad: badOf(file, rec, err.field, err.reason) };
        continue;
      }
      report.records++;
      if (!record.withTask) report.plain++;
      for (const { turn, unrebuilt } of record.turns) {
        report.turns++;
        countVerification(report.verification, verificationOf(turn), unrebuilt);
      }
      yield { line: rec.line, record };
    }
  }
  return { report, items: items() };
}
