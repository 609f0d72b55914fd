// Functional equivalence of two action effects (pure; no Docker). The expert's effect is the reference:
//   - the sampled action must finish (no timeout, no OOM kill, no pids exhaustion, nothing left running);
//   - exit status success must agree (both zero or both non-zero);
//   - the file changes under /work must be the same (path, change, kind, mode, content hash);
//   - every non-empty line the expert's output had must be in the sample's output, after whitespace
//     normalisation, order ignored, as a multiset (a line the expert saw twice must appear twice).
// So `ls -a` is equivalent to `ls` (it prints every name `ls` printed, plus . and ..), and `mkdir a && mkdir a/b`
// to `mkdir -p a/b` (same two directories added).
import type { VerdictReason } from '../core/schemas';
import type { Effect, FileChange } from '../sandboxes/terminal';

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

/** Lines of `expected` (as a multiset) that `actual` lacks. */
export function missingLines(expected: string[], actual: string[]): string[] {
  const have = new Map<string, number>();
  for (const l of actual) have.set(l, (have.get(l) ?? 0) + 1);
  const missing: string[] = [];
  for (const l of expected) {
    const n = have.get(l) ?? 0;
    if (n > 0) have.set(l, n - 1);
    else missing.push(l);
  }
  return missing;
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
