// Functional equivalence of two action effects (pure; no Docker). The expert's effect is the reference:
//   - the sampled action must finish (no timeout, no OOM kill, no pids exhaustion, nothing left running);
//   - exit status success must agree (both zero or both non-zero);
//   - the file changes under /work must be the same (path, change, kind, mode, content hash);
//   - every non-empty line the expert's output had must be carried by its own line of the sample's output, after
//     whitespace normalisation, order ignored, one to one (a line the expert saw twice must appear twice). A line
//     carries the expert's when it is the same line or opens with it, whole tokens (`12 data5.csv` carries `12`;
//     `112` and `1 2` do not). A listing's `.` and `..` entries are not required.
// So `ls -a` and `ls` are equivalent (the same names, . and .. aside), `wc -l data5.csv` carries `wc -l < data5.csv`,
// and `mkdir a && mkdir a/b` is equivalent to `mkdir -p a/b` (same two directories added).
import type { VerdictReason } from '../core/schemas';
import type { Effect, FileChange } from '../sandboxes/terminal';
import { maxMatchingOf } from './matching';

export interface Comparison {
  equivalent: boolean;
  reason: VerdictReason;
  detail: string;
}

/** Collapses runs of whitespace and trims. */
export const normaliseLine = (line: string): string => line.replace(/\s+/g, ' ').trim();

/** Non-empty, whitespace-normalised lines. A truncated output loses its last (possibly partial) line. */
export function outputLines(output: string, truncated = false): string[] {
  const lines = output.split(/\r?\n|\r/);
  if (truncated && lines.length > 0) lines.pop();
  return lines.map(normaliseLine).filter((l) => l.length > 0);
}

/** A directory mode as `ls -l` prints it, e.g. `drwxr-xr-x` (a trailing `.`, `+` or `@` marks ACLs or attributes). */
const DIRECTORY_MODE = /^d[rwxsStT-]{9}[.+@]?$/;

/** A listing's entry for the directory itself or its parent: `.` or `..` (ls -a), or an ls -la row of one. */
export function isSelfOrParentEntry(line: string): boolean {
  if (line === '.' || line === '..') return true;
  const fields = line.split(' ');
  const name = fields.at(-1);
  return fields.length > 1 && (name === '.' || name === '..') && DIRECTORY_MODE.test(fields[0]);
}

/**
 * Whether an output line carries an expected one: the same line, or the expected line's tokens followed by more, as
 * `wc -l data5.csv` prints `12 data5.csv` where `wc -l < data5.csv` prints `12`. Normalised lines, so whole tokens.
 */
export const lineCarries = (expected: string, actual: string): boolean => actual === expected || actual.startsWith(`${expected} `);

const firstToken = (line: string): string => line.split(' ', 1)[0];

/** Indices of `lines` by their first token. */
function indexByFirstToken(lines: string[]): Map<string, number[]> {
  const index = new Map<string, number[]>();
  lines.forEach((line, j) => {
    const k = firstToken(line);
    const at = index.get(k);
    if (at) at.push(j);
    else index.set(k, [j]);
  });
  return index;
}

/**
 * Lines of `expected` (normalised, as a multiset) that no line of `actual` carries, each line of `actual` carrying
 * at most one. A listing's `.` and `..` entries are never missing.
 */
export function missingLines(expected: string[], actual: string[]): string[] {
  // Exact copies first: most lines, duplicates included, at the cost of a count.
  const have = new Map<string, number>();
  for (const l of actual) have.set(l, (have.get(l) ?? 0) + 1);
  const unmatched: string[] = [];
  for (const l of expected.filter((e) => !isSelfOrParentEntry(e))) {
    const n = have.get(l) ?? 0;
    if (n > 0) have.set(l, n - 1);
    else unmatched.push(l);
  }
  if (unmatched.length === 0) return [];
  // The rest: a one-to-one matching on the lines left (a line that carries another carries all it carries, so taking
  // exact copies first loses nothing). Candidates share the expected line's first token.
  const rest = [...have].flatMap(([l, n]) => new Array<string>(n).fill(l));
  const byFirst = indexByFirstToken(rest);
  const candidatesOf = new Map<string, number[]>();
  const candidates = unmatched.map((e) => {
    if (!candidatesOf.has(e))
      candidatesOf.set(
        e,
        (byFirst.get(firstToken(e)) ?? []).filter((j) => lineCarries(e, rest[j])),
      );
    return candidatesOf.get(e)!;
  });
  // A greedy start, so that many copies of one line do not each search the same taken candidates again.
  const owner = new Array<number>(rest.length).fill(-1);
  const cursor = new Map<string, number>();
  unmatched.forEach((e, i) => {
    const c = candidates[i];
    let k = cursor.get(e) ?? 0;
    while (k < c.length && owner[c[k]] >= 0) k++;
    if (k < c.length) owner[c[k++]] = i;
    cursor.set(e, k);
  });
  const { pairs } = maxMatchingOf(candidates, rest.length, owner);
  return unmatched.filter((_, i) => pairs[i] < 0);
}

const changeKey = (c: FileChange) => `${c.change}\u0000${c.kind}\u0000${c.mode}\u0000${c.sha256 ?? ''}`;

const describeChange = (c: FileChange) =>
  `${c.change} ${c.kind === 'd' ? 'dir' : c.kind === 'l' ? 'link' : c.kind === 'o' ? 'special' : 'file'} ${c.path}` +
  ` (mode ${c.mode.toString(8)}${c.sha256 ? `, ${c.sha256.slice(0, 8)}` : ''})`;

/** null when both change sets are equal; otherwise a description of the first difference. */
export function changesDiffer(expected: FileChange[], actual: FileChange[]): string | null {
  const exp = new Map(expected.map((c) => [c.path, c]));
  const act = new Map(actual.map((c) => [c.path, c]));
  const paths = [...new Set([...exp.keys(), ...act.keys()])].sort();
  for (const p of paths) {
    const e = exp.get(p);
    const a = act.get(p);
    if (e && a && changeKey(e) === changeKey(a)) continue;
    if (e && !a) return `expected ${describeChange(e)}; the sample left it unchanged`;
    if (!e && a) return `unexpected: ${describeChange(a)}`;
    return `expected ${describeChange(e!)}; the sample: ${describeChange(a!)}`;
  }
  return null;
}

const clip = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** Why an effect cannot count as a successful action at all (timeout, resource limit), or null. */
export function failureOf(effect: Effect): Comparison | null {
  if (effect.oomKilled) return { equivalent: false, reason: 'resource_limit', detail: 'killed by the out-of-memory killer (memory limit)' };
  if (effect.pidsLimitHit) return { equivalent: false, reason: 'resource_limit', detail: 'hit the process limit (fork bomb?)' };
  if (effect.fileSizeLimitHit)
    return { equivalent: false, reason: 'resource_limit', detail: 'tried to write a file over the file-size limit' };
  if (effect.manifestCapHit)
    return {
      equivalent: false,
      reason: 'resource_limit',
      detail: 'left more entries (or longer paths) in /work than the listing may hold',
    };
  if (effect.timedOut) return { equivalent: false, reason: 'timeout', detail: `killed after ${Math.round(effect.durationMs)} ms` };
  return null;
}

/** Compares a sampled action's effect with the expert's effect at the same state. */
export function compareEffects(expert: Effect, sample: Effect): Comparison {
  const failure = failureOf(sample);
  if (failure) return failure;
  if (sample.leftoverProcesses > 0 && expert.leftoverProcesses === 0) {
    return {
      equivalent: false,
      reason: 'resource_limit',
      detail: `left ${sample.leftoverProcesses} process(es) running after it returned (killed)`,
    };
  }
  const expertOk = expert.exitCode === 0;
  const sampleOk = sample.exitCode === 0;
  if (expertOk && !sampleOk) {
    const last = outputLines(sample.output, sample.outputTruncated).at(-1);
    return { equivalent: false, reason: 'nonzero_exit', detail: `exit ${sample.exitCode}${last ? `: ${clip(last)}` : ''}` };
  }
  if (!expertOk && sampleOk) {
    return { equivalent: false, reason: 'exit_status_differs', detail: `the expert's action exits ${expert.exitCode}, the sample's 0` };
  }
  const files = changesDiffer(expert.changes, sample.changes);
  if (files) return { equivalent: false, reason: 'different_files', detail: clip(files, 300) };
  const missing = missingLines(outputLines(expert.output, expert.outputTruncated), outputLines(sample.output, sample.outputTruncated));
  if (missing.length > 0) {
    return {
      equivalent: false,
      reason: 'missing_output',
      detail: `${missing.length} expected line(s) missing, e.g. ${JSON.stringify(clip(missing[0], 120))}`,
    };
  }
  return { equivalent: true, reason: 'equivalent', detail: '' };
}
