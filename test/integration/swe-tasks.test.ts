// The SWE suite executed for real: every expert trajectory passes its task's final check (all fail-to-pass and
// pass-to-pass tests pass) in the swe sandbox, and its recorded outputs are what the commands really print; for
// every template, episodes that stop before the fix or make a plausible wrong edit (a decoy) fail the check; an
// episode cannot pass by rewriting the tests; the SWE verifier takes every valid fix spelling of a template for
// the expert's and none of its decoys.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureImage, type DockerClient } from '../../sandboxes/engine';
import { Rng, seedOf } from '../../core/rng';
import { generateSweSuite, sweTaskOf } from '../../tasks/swe/suite';
import { TEST_COMMAND } from '../../tasks/swe/runner';
import { SWE_TEMPLATES } from '../../tasks/swe/templates';
import { SWE_IMAGE, SweEpisodeRunner } from '../../sandboxes/swe';
import { mapLimit } from '../../core/concurrency';
import type { Sample, SweTask, Turn } from '../../core/schemas';
import { DomainEpisodeRunner } from '../../sandboxes/episodes';
import { DEFAULT_IMAGE } from '../../sandboxes/sandbox';
import type { DrawnSweTask, SweTemplate } from '../../tasks/swe/templates';
import { SweVerifier } from '../../verifiers/swe';
import { requireDocker } from '../../harness/docker';
import { replayMismatches } from '../support/replay';

/** A task drawn straight from a template, with the drawn steps (their variants and decoys). */
function drawTask(template: SweTemplate, seed: number): { task: SweTask; drawn: DrawnSweTask } {
  const drawn = template.draw(new Rng(seedOf(seed, template.name)));
  const task = sweTaskOf(`drawn-${seed}-${template.name}`, template.name, drawn);
  return { task, drawn };
}

let docker: DockerClient;
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
  // 6 repositories per template: 54 repositories.
  const { train, heldout } = generateSweSuite({ seed: 31, trainTasks: 6 * SWE_TEMPLATES.length, heldoutTasks: 0 });
  assert.equal(heldout.length, 0);
  const failures = await replayMismatches(runner, train);
  assert.deepEqual(failures, []);
});

test('each template: stopping before the fix, or a decoy edit instead of it, fails the check', { timeout: 5 * 60_000 }, async () => {
  const failures: string[] = [];
  await mapLimit([...SWE_TEMPLATES], 2, async (template) => {
    const { task, drawn } = drawTask(template, 32);
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

test('evaluation episodes: the fix passes, rewriting the test runner to print PASS does not', { timeout: 2 * 60_000 }, async () => {
  const episodes = new DomainEpisodeRunner({ docker, image: DEFAULT_IMAGE });
  try {
    const { task, drawn } = drawTask(SWE_TEMPLATES[0], 33);
    const expert = drawn.steps.map((s) => s.variants[0].action);
    assert.equal((await episodes.replay({ domain: 'swe', task }, expert)).passed, true);
    const names = [...task.tests.failToPass, ...task.tests.passToPass];
    const cheat = `for t in ${names.join(' ')}; do echo "print('PASS $t')"; done > run_tests.py`;
    const result = await episodes.replay({ domain: 'swe', task }, [cheat, TEST_COMMAND]);
    assert.equal(result.outputs[1].output, names.map((n) => `PASS ${n}\n`).join(''), 'the rewritten runner reports every test passing');
    assert.equal(result.passed, false, 'the final check runs the task’s own tests');
  } finally {
    await episodes.close();
  }
});

test('the SWE verifier: every valid fix of a template is the expert’s equal, no decoy is', { timeout: 3 * 60_000 }, async () => {
  const items: { turn: Turn; samples: Sample[]; intended: (0 | 1)[] }[] = [];
  for (const template of SWE_TEMPLATES) {
    const { task, drawn } = drawTask(template, 34);
    const actions = drawn.steps.map((s) => s.variants[0].action);
    drawn.steps.forEach((step, t) => {
      if (step.kind !== 'edit' && step.kind !== 'test') return;
      const id = `${task.id}#${t}`;
      const texts: [string, 0 | 1][] = [
        ...step.variants.slice(1).map((v) => [v.action, 1] as [string, 1]),
        ...step.decoys.map((d) => [d, 0] as [string, 0]),
      ];
      const turn: Turn = {
        id,
        trajectoryId: task.id,
        index: t,
        domain: 'swe',
        task,
        history: actions.slice(0, t).map((action) => ({ action, output: '' })),
        expert: actions[t],
      };
      items.push({
        turn,
        samples: texts.map(([text], index) => ({ turnId: id, index, text, logprobs: [] })),
        intended: texts.map(([, r]) => r),
      });
    });
  }
  const verifier = new SweVerifier({ docker, concurrency: 2, owner: 'test-swe-tasks' });
  const verdicts = await verifier.verifyBatch(items.map(({ turn, samples }) => ({ turn, samples })));
  const expected = items.flatMap((it) => it.samples.map((s, k) => ({ turn: it.turn.id, text: s.text, reward: it.intended[k] })));
  const wrong = expected
    .map((e, i) => ({ ...e, got: verdicts[i] }))
    .filter((e) => e.got.reward !== e.reward)
    .map((e) => `${e.turn} ${JSON.stringify(e.text)}: expected ${e.reward}, got ${e.got.reward} (${e.got.reason}: ${e.got.detail})`);
  assert.deepEqual(wrong, []);
  assert.ok(expected.filter((e) => e.reward === 1).length >= 2 * SWE_TEMPLATES.length);
  assert.ok(expected.filter((e) => e.reward === 0).length >= SWE_TEMPLATES.length);
});
