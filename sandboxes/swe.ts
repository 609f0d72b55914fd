// The execution side of the SWE verifier, and SWE episodes for evaluation: the terminal machinery
// (sandboxes/terminal.ts: turn states, snapshots, effects, pooled replay) on the swe image, plus the repository's
// tests. The tests run as one more request on the same sandbox, right after an action, on what it left.
import type { SweTask } from '../core/schemas';
import { allPass, parseTestOutput, type TestOutcome, type TestOutcomes } from '../tasks/swe/runner';
import { DEFAULT_ACTION_TIMEOUT_MS } from './limits';
import { SandboxPool } from './pool';
import { Sandbox } from './sandbox';
import {
  onPooledSandbox,
  openTurnState,
  seedWorkspace,
  type Effect,
  type ReplayResult,
  type TerminalEpisodeRunnerOptions,
  type TerminalSandboxOptions,
  type TurnState,
} from './terminal';

export const SWE_IMAGE = 'pivotrl/swe:latest';

export interface TestRun {
  outcomes: TestOutcomes;
  exitCode: number;
  output: string;
  timedOut: boolean;
}

/** An action's effect, and the test outcomes on what it left when they were measured. */
export interface SweEffect extends Effect {
  tests?: TestRun;
}

export interface SweSandboxOptions extends TerminalSandboxOptions {
  /** Wall-clock limit of one run of the tests. Default: actionTimeoutMs. */
  testTimeoutMs?: number;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The command that runs the task's tests without trusting /work for the harness itself. A `python3 SCRIPT [ARG...]`
 * command whose script is one of the task's test files runs that script's source as the task has it
 * (`python3 -I -S -c SOURCE ARG...`): it is never read from /work, and in isolated mode without site neither /work
 * nor the agent's HOME (/work) is on sys.path while the harness imports its standard modules, so a planted
 * `glob.py` or `sitecustomize.py` cannot stand in for them. The harness then imports the tests from /work itself.
 * Any other command runs as written.
 */
export function isolatedTestCommand(task: SweTask): string {
  const m = /^python3 ([\w./-]+\.py)((?: [\w./=-]+)*)$/.exec(task.testCommand.trim());
  const script = m && task.testFiles.includes(m[1]) ? task.files.find((f) => f.path === m[1]) : undefined;
  if (!m || !script) return task.testCommand;
  return `python3 -I -S -B -X pycache_prefix=/dev/null -c ${quote(script.content)}${m[2]}`;
}

/** Runs the task's tests (isolatedTestCommand) on the sandbox's current /work (nothing restored first). */
export async function runTests(sandbox: Sandbox, task: SweTask, timeoutMs: number): Promise<TestRun> {
  const r = await sandbox.run(isolatedTestCommand(task), { timeoutMs });
  return { outcomes: parseTestOutput(r.output, r.truncated), exitCode: r.exitCode, output: r.output, timedOut: r.timedOut };
}

/** Puts the task's test harness back as the task has them (whatever the agent did to them). */
async function restoreTestFiles(sandbox: Sandbox, task: SweTask): Promise<void> {
  if (task.testFiles.length === 0) return;
  await sandbox.run(`chmod u+rwx . 2>/dev/null; rm -rf -- ${task.testFiles.map(quote).join(' ')}`, { timeoutMs: 5_000 });
  const harness = new Set(task.testFiles);
  await sandbox.writeFiles(task.files.filter((f) => harness.has(f.path)).map((f) => ({ path: f.path, content: f.content, mode: f.mode })));
}

/** The state of one SWE turn (the terminal TurnState: repository + expert prefix, snapshotted) and its tests. */
export class SweTurnState {
  constructor(
    readonly state: TurnState,
    readonly task: SweTask,
    private readonly testTimeoutMs: number,
  ) {}

  /** Restores the snapshot, runs `action`, and returns its effect (tests not run). */
  runAction(action: string): Promise<Effect> {
    return this.state.runAction(action);
  }

  /** Runs the tests on what the last action left. */
  runTests(): Promise<TestRun> {
    return runTests(this.state.sandbox, this.task, this.testTimeoutMs);
  }

  close(): Promise<void> {
    return this.state.close();
  }
}

/** Opens an SWE turn's state: the repository, the expert prefix replayed, a snapshot. */
export async function openSweTurnState(task: SweTask, prefixActions: string[], opts: SweSandboxOptions = {}): Promise<SweTurnState> {
  const state = await openTurnState(task, prefixActions, { ...opts, image: opts.image ?? SWE_IMAGE });
  return new SweTurnState(state, task, opts.testTimeoutMs ?? opts.actionTimeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS);
}

export interface SweReplayResult extends ReplayResult {
  /** Per test, its outcome in the final check. */
  tests: Record<string, TestOutcome>;
}

/**
 * Runs `actions` one after the other from the task's repository, then the final check: the test harness is put
 * back as the task has it and the tests run; passed when every fail-to-pass and pass-to-pass test passes.
 * Infrastructure failures throw SandboxInfraError.
 */
export async function replaySweEpisode(task: SweTask, actions: string[], opts: SweSandboxOptions = {}): Promise<SweReplayResult> {
  const actionTimeoutMs = opts.actionTimeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS;
  const owned = !opts.sandbox;
  const sandbox = opts.sandbox ?? (await Sandbox.create({ ...opts, image: opts.image ?? SWE_IMAGE }));
  try {
    await seedWorkspace(sandbox, task);
    const outputs: ReplayResult['outputs'] = [];
    for (const action of actions) {
      const r = await sandbox.run(action, { timeoutMs: actionTimeoutMs });
      outputs.push({ action, output: r.output, exitCode: r.exitCode, timedOut: r.timedOut });
    }
    await restoreTestFiles(sandbox, task);
    const t = await runTests(sandbox, task, opts.testTimeoutMs ?? opts.checkTimeoutMs ?? actionTimeoutMs);
    return {
      outputs,
      passed: !t.timedOut && allPass(t.outcomes, [...task.tests.failToPass, ...task.tests.passToPass]),
      check: { exitCode: t.exitCode, output: t.output, timedOut: t.timedOut },
      tests: Object.fromEntries(t.outcomes),
    };
  } finally {
    if (owned) await sandbox.destroy();
  }
}

/** SWE episode replay for evaluation, on warm sandboxes of the swe image (see TerminalEpisodeRunner). */
export class SweEpisodeRunner {
  private readonly pool: SandboxPool;

  constructor(private readonly opts: TerminalEpisodeRunnerOptions & Pick<SweSandboxOptions, 'testTimeoutMs'> = {}) {
    this.pool = new SandboxPool({ ...opts, image: opts.image ?? SWE_IMAGE, idleMs: opts.idleMs ?? 60_000 });
  }

  replay(task: SweTask, actions: string[]): Promise<SweReplayResult> {
    return onPooledSandbox(this.pool, (sandbox) => replaySweEpisode(task, actions, { ...this.opts, sandbox }));
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
