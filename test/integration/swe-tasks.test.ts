// The SWE suite executed for real: every expert trajectory passes its task's final check (all fail-to-pass and
// pass-to-pass tests pass) in the swe sandbox, and its recorded outputs are what the commands really print; for
// every template, episodes that stop before the fix or make a plausible wrong edit (a decoy) fail the check.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { Rng, seedOf } from '../../core/rng';
import { generateSweSuite } from '../../tasks/swe/suite';
import { SWE_TEMPLATES } from '../../tasks/swe/templates';
import { expertSteps } from '../../tasks/terminal/render';
import { SWE_IMAGE, SweEpisodeRunner } from '../../sandboxes/swe';
import { ensureImage } from '../../sandboxes/sandbox';
import { mapLimit } from '../../pipeline/episodes';
import type { SweTask } from '../../core/schemas';
import { requireDocker } from '../support/docker';

let docker: Docker;
let runner: SweEpisodeRunner;
before(async () => {
  docker = await requireDocker();
  await ensureImage(docker, SWE_IMAGE);
  runner = new SweEpisodeRunner({ docker, owner: 'test-swe-tasks' });
});
after(async () => {
  await runner?.close();
});

test('every expert trajectory passes its final check, printing what the trajectory recorded', { timeout: 5 * 60_000 }, async () => {
  // 6 repositories per template (the first 9 also held out, as instances of the same templates).
  const { train, heldout } = generateSweSuite({ seed: 31, trainTasks: 6 * SWE_TEMPLATES.length, heldoutTasks: 0 });
  assert.equal(heldout.length, 0);
  const failures: string[] = [];
  await mapLimit(train, 2, async (traj) => {
    const steps = expertSteps(traj);
    const result = await runner.replay(
      traj.task,
      steps.map((s) => s.action),
    );
    if (!result.passed) failures.push(`${traj.id} (${traj.task.template}): check failed: ${result.check.output}`);
    steps.forEach((s, i) => {
      if (result.outputs[i].output !== s.output) {
        failures.push(
          `${traj.id} step ${i} \`${s.action}\`: recorded ${JSON.stringify(s.output)}, real ${JSON.stringify(result.outputs[i].output)}`,
        );
      }
    });
  });
  assert.deepEqual(failures, []);
});

test('each template: stopping before the fix, or a decoy edit instead of it, fails the check', { timeout: 5 * 60_000 }, async () => {
  const failures: string[] = [];
  await mapLimit([...SWE_TEMPLATES], 2, async (template) => {
    const rng = new Rng(seedOf(32, template.name));
    const drawn = template.draw(rng);
    const task: SweTask = {
      id: `decoy-${template.name}`,
      template: template.name,
      goal: drawn.goal,
      files: drawn.files,
      testCommand: 'python3 run_tests.py',
      tests: drawn.tests,
      testFiles: drawn.testFiles,
      maxTurns: 10,
    };
    const expert = drawn.steps.map((s) => s.variants[0].action);
    const lastEdit = drawn.steps.map((s) => s.kind).lastIndexOf('edit');
    const episodes = [
      { what: 'no edit at all', actions: expert.filter((_, i) => drawn.steps[i].kind !== 'edit') },
      ...drawn.steps[lastEdit].decoys.map((decoy) => ({
        what: `decoy \`${decoy}\``,
        actions: expert.map((a, i) => (i === lastEdit ? decoy : a)),
      })),
    ];
    assert.ok(episodes.length >= 2, `${template.name}: no decoy edit`);
    for (const e of episodes) {
      const result = await runner.replay(task, e.actions);
      if (result.passed) failures.push(`${template.name}: ${e.what} passed the check`);
    }
  });
  assert.deepEqual(failures, []);
});
