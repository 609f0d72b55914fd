// Pure comparison of SWE action effects (no Docker): edits by per-test outcomes, test runs by what they report,
// other read-only actions as terminal actions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FileChange } from '../../sandboxes/terminal';
import type { SweEffect, TestRun } from '../../sandboxes/swe';
import { compareSweEffects, identicalChanges, sameFilesChanged } from '../../verifiers/swe-effects';
import { formatTestOutput, parseTestOutput, type TestOutcome } from '../../tasks/swe/runner';
import { effect as baseEffect } from '../support/effects';

const effect = (p: Partial<SweEffect> = {}): SweEffect => ({ ...baseEffect(), ...p });
const modified = (path: string, sha: string, mode = 0o644): FileChange => ({ path, change: 'modified', kind: 'f', mode, sha256: sha });
const tests = (outcomes: Record<string, TestOutcome>, p: Partial<TestRun> = {}): TestRun => {
  const output = formatTestOutput(Object.entries(outcomes).map(([name, outcome]) => ({ name, outcome })));
  return { outcomes: parseTestOutput(output), exitCode: 0, output, timedOut: false, ...p };
};
const fixed = { test_f2p: 'pass', test_p2p: 'pass' } as const;
const expertEdit = effect({ changes: [modified('calc.py', 'aaa')], tests: tests(fixed) });

test('an edit to other content of the same file, with the same test outcomes, is equivalent', () => {
  const c = compareSweEffects(expertEdit, effect({ changes: [modified('calc.py', 'bbb')], tests: tests(fixed) }));
  assert.deepEqual([c.equivalent, c.reason], [true, 'equivalent']);
});

test('the same bytes as the expert need no tests', () => {
  const same = effect({ changes: [modified('calc.py', 'aaa')] });
  assert.ok(identicalChanges(expertEdit, same));
  assert.equal(compareSweEffects(expertEdit, same).equivalent, true);
});

test('a partial fix or a broken pass-to-pass test: tests_differ, naming the test', () => {
  const partial = compareSweEffects(
    expertEdit,
    effect({ changes: [modified('calc.py', 'ccc')], tests: tests({ ...fixed, test_f2p: 'fail' }) }),
  );
  assert.deepEqual([partial.equivalent, partial.reason], [false, 'tests_differ']);
  assert.match(partial.detail, /test_f2p: pass after the expert's edit, fail after this one/);
  const missing = compareSweEffects(expertEdit, effect({ changes: [modified('calc.py', 'ccc')], tests: tests({ test_f2p: 'pass' }) }));
  assert.deepEqual([missing.equivalent, missing.reason], [false, 'tests_differ'], 'a test the run no longer reports counts as failed');
});

test('another file, an extra file, a mode change, or no change at all: different_files', () => {
  const cases: SweEffect[] = [
    effect({ changes: [modified('other.py', 'aaa')], tests: tests(fixed) }),
    effect({ changes: [modified('calc.py', 'aaa'), { path: 'calc.py.bak', change: 'added', kind: 'f', mode: 0o644, sha256: 'x' }] }),
    effect({ changes: [modified('calc.py', 'aaa', 0o755)] }),
    effect(),
  ];
  for (const c of cases) {
    assert.ok(!sameFilesChanged(expertEdit, c));
    const v = compareSweEffects(expertEdit, c);
    assert.deepEqual([v.equivalent, v.reason], [false, 'different_files']);
  }
});

test('an edit that fails, times out, or leaves processes behind is not equivalent', () => {
  assert.equal(compareSweEffects(expertEdit, effect({ exitCode: 2, changes: [modified('calc.py', 'aaa')] })).reason, 'nonzero_exit');
  assert.equal(compareSweEffects(expertEdit, effect({ timedOut: true, changes: [modified('calc.py', 'aaa')] })).reason, 'timeout');
  assert.equal(
    compareSweEffects(expertEdit, effect({ leftoverProcesses: 1, changes: [modified('calc.py', 'aaa')] })).reason,
    'resource_limit',
  );
  const hung = effect({ changes: [modified('calc.py', 'ddd')], tests: tests({}, { timedOut: true }) });
  assert.equal(compareSweEffects(expertEdit, hung).reason, 'timeout');
});

test('a test run: any run reporting the same outcomes is equivalent, whatever its exit status or extra lines', () => {
  const run = tests({ test_f2p: 'fail', test_p2p: 'pass' });
  const expert = effect({ exitCode: 1, output: run.output });
  assert.equal(compareSweEffects(expert, effect({ exitCode: 0, output: run.output })).equivalent, true, 'piped through cat');
  const verbose = run.output.replace('FAIL test_f2p\n', 'FAIL test_f2p\n    Traceback (most recent call last):\n    AssertionError\n');
  assert.equal(compareSweEffects(expert, effect({ exitCode: 1, output: verbose })).equivalent, true, '-v');
  const onlyFailures = compareSweEffects(expert, effect({ exitCode: 0, output: 'FAIL test_f2p\n' }));
  assert.deepEqual([onlyFailures.equivalent, onlyFailures.reason], [false, 'missing_output']);
  const other = compareSweEffects(expert, effect({ exitCode: 0, output: tests({ test_f2p: 'pass', test_p2p: 'pass' }).output }));
  assert.deepEqual([other.equivalent, other.reason], [false, 'tests_differ']);
  const edited = compareSweEffects(expert, effect({ output: run.output, changes: [modified('calc.py', 'x')] }));
  assert.deepEqual([edited.equivalent, edited.reason], [false, 'different_files']);
});

test('other read-only actions compare as terminal actions', () => {
  const expert = effect({ output: '     3\tdef f(x):\n     4\t    return x - 1\n' });
  assert.equal(
    compareSweEffects(expert, effect({ output: '     1\timport os\n     3\tdef f(x):\n     4\t    return x - 1\n' })).equivalent,
    true,
  );
  assert.equal(compareSweEffects(expert, effect({ output: 'def f(x):\n    return x - 1\n' })).reason, 'missing_output');
});
