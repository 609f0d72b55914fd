// The test runner every SWE repository ships (run_tests.py, plain Python, no pytest) and its output format, in one
// place: the generator writes what the runner prints, the verifier and the final check parse it.
//
//   $ python3 run_tests.py [-v] [NAME ...]
//   PASS test_sum_to_zero
//   FAIL test_sum_to_4
//   1 passed, 1 failed
//
// One line per test, in file order (test_*.py sorted by name, functions in definition order); a test that raises,
// takes longer than 2 s, or whose module cannot be imported is a FAIL. The exit status is 0 only when all pass.
// `-v` adds each failure's traceback (indented) after its FAIL line.

export const RUNNER_FILE = 'run_tests.py';
export const TEST_COMMAND = `python3 ${RUNNER_FILE}`;

export const RUNNER_SOURCE = `# Runs every test_* function of the test_*.py files: one line per test, PASS or FAIL, then the counts.
# Usage: python3 run_tests.py [-v] [NAME ...]   (-v: show why a test failed; NAME: run only those tests)
import ast
import glob
import importlib
import signal
import sys
import traceback

sys.dont_write_bytecode = True
TIME_LIMIT = 2.0


def on_alarm(signum, frame):
    raise TimeoutError('took longer than %g s' % TIME_LIMIT)


def test_names(path):
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith('test_')]


def guarded(fn):
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def main(argv):
    verbose = '-v' in argv
    wanted = set(a for a in argv if a != '-v')
    signal.signal(signal.SIGALRM, on_alarm)
    sys.path.insert(0, '.')
    passed = failed = 0
    for path in sorted(glob.glob('test_*.py')):
        try:
            names = test_names(path)
        except Exception:
            print('FAIL ' + path[:-3], flush=True)
            failed += 1
            continue
        module, error = None, None
        try:
            module = guarded(lambda: importlib.import_module(path[:-3]))
        except BaseException:
            error = traceback.format_exc()
        for name in names:
            if wanted and name not in wanted:
                continue
            why = error
            if module is not None:
                try:
                    guarded(getattr(module, name))
                except BaseException:
                    why = traceback.format_exc()
            if why is None:
                passed += 1
                print('PASS ' + name, flush=True)
            else:
                failed += 1
                print('FAIL ' + name, flush=True)
                if verbose:
                    print(''.join('    ' + line + '\\n' for line in why.rstrip().split('\\n')), end='', flush=True)
    print('%d passed, %d failed' % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
`;

export type TestOutcome = 'pass' | 'fail';
/** Per test name, its outcome. */
export type TestOutcomes = Map<string, TestOutcome>;

const TEST_LINE = /^(PASS|FAIL) ([A-Za-z_][A-Za-z0-9_.]*)\s*$/;

/**
 * The per-test outcomes a test run printed ("PASS name" / "FAIL name" lines; everything else is ignored). A test
 * reported twice keeps its worst outcome. A truncated output loses its last (possibly partial) line.
 */
export function parseTestOutput(output: string, truncated = false): TestOutcomes {
  const lines = output.split(/\r?\n/);
  if (truncated) lines.pop();
  const outcomes: TestOutcomes = new Map();
  for (const line of lines) {
    const m = TEST_LINE.exec(line);
    if (!m) continue;
    const outcome: TestOutcome = m[1] === 'PASS' ? 'pass' : 'fail';
    if (outcomes.get(m[2]) !== 'fail') outcomes.set(m[2], outcome);
  }
  return outcomes;
}

/** What the runner prints (without -v) when the tests, in order, have these outcomes. */
export function formatTestOutput(results: readonly { name: string; outcome: TestOutcome }[]): string {
  const passed = results.filter((r) => r.outcome === 'pass').length;
  const lines = results.map((r) => `${r.outcome === 'pass' ? 'PASS' : 'FAIL'} ${r.name}`);
  return [...lines, `${passed} passed, ${results.length - passed} failed`].map((l) => l + '\n').join('');
}

/**
 * The tests among `names` whose outcome differs between two runs, a test missing from a run counting as failed.
 * Sorted; empty when the runs agree.
 */
export function outcomesDiffer(expected: TestOutcomes, actual: TestOutcomes, names?: Iterable<string>): string[] {
  const all = new Set(names ?? [...expected.keys(), ...actual.keys()]);
  return [...all].filter((n) => (expected.get(n) ?? 'fail') !== (actual.get(n) ?? 'fail')).sort();
}

/** Passed when every listed test is reported and passed. */
export function allPass(outcomes: TestOutcomes, names: readonly string[]): boolean {
  return names.every((n) => outcomes.get(n) === 'pass');
}
