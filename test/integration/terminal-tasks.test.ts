// The terminal suite executed for real: every expert trajectory passes its task's final check in the
// sandbox and its recorded outputs are what the commands really print; a non-expert episode fails.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DockerClient } from '../../sandboxes/engine';
import { generateTerminalSuite } from '../../tasks/terminal/suite';
import { TEMPLATES } from '../../tasks/terminal/templates';
import { expertSteps } from '../../tasks/terminal/render';
import { TerminalEpisodeRunner } from '../../sandboxes/terminal';
import { mapLimit } from '../../core/concurrency';
import { requireDocker } from '../../harness/docker';
import { replayMismatches } from '../support/replay';

let docker: DockerClient;
let runner: TerminalEpisodeRunner;
before(async () => {
  docker = await requireDocker();
  runner = new TerminalEpisodeRunner({ docker, owner: 'test-terminal-tasks' });
});
after(async () => {
  await runner?.close();
});

test('every expert trajectory passes its final check, printing what the trajectory recorded', { timeout: 10 * 60_000 }, async () => {
  const { train } = generateTerminalSuite({ seed: 21, trainTasks: 4 * TEMPLATES.length, heldoutTasks: 0 });
  const failures = await replayMismatches(runner, train);
  assert.deepEqual(failures, []);
});

test('each template has a non-expert episode that fails its check', { timeout: 10 * 60_000 }, async () => {
  const { train } = generateTerminalSuite({ seed: 22, trainTasks: TEMPLATES.length, heldoutTasks: 0 });
  await mapLimit(train, 2, async (traj) => {
    const steps = expertSteps(traj);
    // Stopping one action short leaves the goal unmet.
    const result = await runner.replay(
      traj.task,
      steps.slice(0, -1).map((s) => s.action),
    );
    assert.equal(result.passed, false, `${traj.task.template}: the check passed without the last expert action`);
  });
});
