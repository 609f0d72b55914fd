// SWE tasks: a small repository with a seeded bug, an issue (the goal), the command that runs its tests, and the
// tests that must pass once it is fixed. Success = every fail-to-pass and pass-to-pass test passes.
import { z } from 'zod';
import { TaskBase, TaskFile, WorkspacePath } from './common';

/** A test's name as the test command prints it ("PASS <name>" / "FAIL <name>"). */
export const TestName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'a test name is an identifier (dots allowed)');

export const SweTests = z.object({
  /** Fail on the buggy repository, pass once it is fixed: the issue. */
  failToPass: z.array(TestName).min(1),
  /** Pass before and after: the fix must not break them. */
  passToPass: z.array(TestName).default([]),
});
export type SweTests = z.infer<typeof SweTests>;

export const SweTask = TaskBase.extend({
  /** The repository as the agent first sees it (sources, tests, the test runner). */
  files: z.array(TaskFile).min(1),
  /** Runs the tests from the repository root, printing one line per test: "PASS <name>" or "FAIL <name>". */
  testCommand: z.string().min(1).default('python3 run_tests.py'),
  tests: SweTests,
  /**
   * The test harness (test files, the runner). The final check puts them back as the task has them before it runs
   * the tests, so an episode cannot pass by editing the tests.
   */
  testFiles: z.array(WorkspacePath).default([]),
}).superRefine((task, ctx) => {
  const paths = new Set(task.files.map((f) => f.path));
  task.testFiles.forEach((p, i) => {
    if (!paths.has(p)) ctx.addIssue({ code: 'custom', path: ['testFiles', i], message: `${p} is not one of the task's files` });
  });
  const f2p = new Set(task.tests.failToPass);
  task.tests.passToPass.forEach((t, i) => {
    if (f2p.has(t)) ctx.addIssue({ code: 'custom', path: ['tests', 'passToPass', i], message: `${t} is also a fail-to-pass test` });
  });
});
export type SweTask = z.infer<typeof SweTask>;
