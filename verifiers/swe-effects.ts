// Functional equivalence of two SWE action effects (pure; no Docker). The expert's effect is the reference.
//   - An edit (the expert's action changed files): the sample must finish, agree on exit success, change the same
//     files (path, kind, mode; the content may differ), and leave every test with the outcome (pass/fail) it has
//     after the expert's edit. So `sed -i 's/a - b/a + b/' m.py` and `sed -i '3s/-/+/' m.py` are equivalent,
//     and so is rewriting the line another way that passes and fails the same tests; an edit of another file,
//     an extra file touched, a partial fix or a fix that breaks a passing test are not.
//   - A test run (the expert's output reports tests): the sample must change no file and report every test the
//     expert's run reported, with the same outcome. Exit status and other lines are not compared (a pipe or -v
//     changes them without changing what the run showed).
//   - Any other read-only action (list, search, open): as for the terminal (verifiers/effects.ts).
import type { SweEffect } from '../sandboxes/swe';
import { outcomesDiffer, parseTestOutput } from '../tasks/swe/runner';
import { changesDiffer, compareEffects, failureOf, type Comparison } from './effects';

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}…` : s);
const sameContent = (a: SweEffect, b: SweEffect) =>
  a.changes.length === b.changes.length && a.changes.every((c, i) => c.path === b.changes[i].path && c.sha256 === b.changes[i].sha256);

/** The expert's action edits the repository: its effect needs the tests run after it. */
export const isEdit = (effect: SweEffect): boolean => effect.changes.length > 0;

/** The sample changed the same files as the expert (content aside), so its tests must be run to compare. */
export function sameFilesChanged(expert: SweEffect, sample: SweEffect): boolean {
  const strip = (e: SweEffect) => e.changes.map((c) => ({ ...c, sha256: null }));
  return changesDiffer(strip(expert), strip(sample)) === null;
}

/** The sample changed exactly what the expert changed, byte for byte: the tests cannot tell them apart. */
export const identicalChanges = (expert: SweEffect, sample: SweEffect): boolean => sameContent(expert, sample);

function finished(expert: SweEffect, sample: SweEffect): Comparison | null {
  const failure = failureOf(sample);
  if (failure) return failure;
  if (sample.leftoverProcesses > 0 && expert.leftoverProcesses === 0) {
    return {
      equivalent: false,
      reason: 'resource_limit',
      detail: `left ${sample.leftoverProcesses} process(es) running after it returned (killed)`,
    };
  }
  return null;
}

function compareEdits(expert: SweEffect, sample: SweEffect): Comparison {
  const unfinished = finished(expert, sample);
  if (unfinished) return unfinished;
  if (expert.exitCode === 0 && sample.exitCode !== 0) {
    const last = sample.output.trim().split('\n').at(-1);
    return { equivalent: false, reason: 'nonzero_exit', detail: `exit ${sample.exitCode}${last ? `: ${clip(last, 160)}` : ''}` };
  }
  if (expert.exitCode !== 0 && sample.exitCode === 0) {
    return { equivalent: false, reason: 'exit_status_differs', detail: `the expert's edit exits ${expert.exitCode}, the sample's 0` };
  }
  if (!sameFilesChanged(expert, sample)) {
    const strip = (e: SweEffect) => e.changes.map((c) => ({ ...c, sha256: null }));
    return { equivalent: false, reason: 'different_files', detail: clip(changesDiffer(strip(expert), strip(sample)) ?? '') };
  }
  if (identicalChanges(expert, sample))
    return { equivalent: true, reason: 'equivalent', detail: 'the same file contents as the expert edit' };
  if (!expert.tests || !sample.tests) throw new Error('compareSweEffects: an edit needs the test outcomes after both actions');
  if (sample.tests.timedOut && !expert.tests.timedOut) {
    return { equivalent: false, reason: 'timeout', detail: 'the tests did not finish after this edit' };
  }
  const differ = outcomesDiffer(expert.tests.outcomes, sample.tests.outcomes);
  if (differ.length > 0) {
    const show = differ
      .slice(0, 3)
      .map(
        (n) =>
          `${n}: ${expert.tests!.outcomes.get(n) ?? 'fail'} after the expert's edit, ${sample.tests!.outcomes.get(n) ?? 'fail'} after this one`,
      );
    return { equivalent: false, reason: 'tests_differ', detail: clip(`${differ.length} test(s) differ: ${show.join('; ')}`) };
  }
  return { equivalent: true, reason: 'equivalent', detail: 'the same test outcomes as after the expert edit' };
}

function compareTestRuns(expert: SweEffect, sample: SweEffect, shown: Map<string, string>): Comparison {
  const unfinished = finished(expert, sample);
  if (unfinished) return unfinished;
  const files = changesDiffer(expert.changes, sample.changes);
  if (files) return { equivalent: false, reason: 'different_files', detail: clip(files) };
  const got = parseTestOutput(sample.output, sample.outputTruncated);
  const missing = [...shown.keys()].filter((n) => !got.has(n));
  const wrong = [...shown.keys()].filter((n) => got.has(n) && got.get(n) !== shown.get(n));
  if (wrong.length > 0) {
    return { equivalent: false, reason: 'tests_differ', detail: clip(`${wrong.length} test(s) reported differently, e.g. ${wrong[0]}`) };
  }
  if (missing.length > 0) {
    return {
      equivalent: false,
      reason: 'missing_output',
      detail: clip(`${missing.length} test(s) the expert's run reported are missing, e.g. ${missing[0]}`),
    };
  }
  return { equivalent: true, reason: 'equivalent', detail: '' };
}

/** Compares a sampled action's effect with the expert's effect at the same SWE state. */
export function compareSweEffects(expert: SweEffect, sample: SweEffect): Comparison {
  if (isEdit(expert)) return compareEdits(expert, sample);
  const shown = parseTestOutput(expert.output, expert.outputTruncated);
  if (shown.size > 0) return compareTestRuns(expert, sample, shown);
  return compareEffects(expert, sample);
}
