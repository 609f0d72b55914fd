// `pivotrl ingest --check`: reads trajectory files as ingest would, without a campaign or a store. Every bad line is
// reported as it is found (file:line:field: reason); then each file's format and counts, the counts per format, and
// how the turns will be verified (and which could not have their state rebuilt).
import { addVerifications, formatVerifications, noVerifications, type VerificationCounts } from '../core/turn-verification';
import { sourcePath, type TrajectorySource } from '../formats/source';
import { BadInputError } from './jsonl-reader';
import { MAX_LINE_BYTES } from './ingest';
import type { BadRecord } from './quarantine';
import { readSource, type SourceReport } from './source-records';

export interface CheckResult {
  sources: SourceReport[];
  /** Files that could not be read at all, and why. */
  unreadable: { path: string; reason: string }[];
  badRecords: number;
  verification: VerificationCounts;
}

/** Checks every file; `onBad` gets each bad line as it is found. Nothing is written anywhere. */
export async function checkSources(
  sources: TrajectorySource[],
  onBad: (bad: BadRecord) => void,
  maxLineBytes = MAX_LINE_BYTES,
): Promise<CheckResult> {
  const result: CheckResult = { sources: [], unreadable: [], badRecords: 0, verification: noVerifications() };
  for (const source of sources) {
    const { report, items } = readSource(source, maxLineBytes);
    try {
      for await (const item of items) if ('bad' in item) onBad(item.bad);
    } catch (err) {
      if (!(err instanceof BadInputError)) throw err;
      result.unreadable.push({ path: sourcePath(source), reason: err.message });
      continue;
    }
    result.sources.push(report);
    result.badRecords += report.badRecords;
    addVerifications(result.verification, report.verification);
  }
  return result;
}

/** A check passes when every file could be read and no line is bad. */
export const checkPassed = (r: CheckResult): boolean => r.badRecords === 0 && r.unreadable.length === 0;

export const formatBadLine = (b: BadRecord): string => `${b.file}:${b.line}:${b.field}: ${b.reason}`;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const countsOf = (r: Pick<SourceReport, 'records' | 'plain' | 'turns' | 'badRecords'>) =>
  `${plural(r.records, 'record')} (${r.plain} without a task block), ${plural(r.turns, 'turn')}, ${plural(r.badRecords, 'bad line')}`;

/** The summary after the bad lines: per file, per format, and how the turns will be verified. */
export function formatCheck(r: CheckResult): string {
  const lines = r.sources.map((s) => `${s.path}: ${s.format}: ${countsOf(s)}`);
  for (const u of r.unreadable) lines.push(`${u.path}: unreadable: ${u.reason}`);
  const formats = [...new Set(r.sources.map((s) => s.format))];
  for (const format of formats) {
    const of = r.sources.filter((s) => s.format === format);
    const sum = (k: 'records' | 'plain' | 'turns' | 'badRecords') => of.reduce((n, s) => n + s[k], 0);
    lines.push(
      `${format}: ${plural(of.length, 'file')}, ${countsOf({ records: sum('records'), plain: sum('plain'), turns: sum('turns'), badRecords: sum('badRecords') })}`,
    );
  }
  lines.push(`verified by: ${formatVerifications(r.verification)}`);
  return lines.join('\n');
}
