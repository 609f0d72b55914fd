// Tool-use tasks end to end, in-process: every expert trajectory passes its task's final check when replayed
// against the simulated backend, and every template's near miss fails it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, seedOf } from '../../core/rng';
import { replayToolEpisode, toolEpisodeRunner } from '../../tasks/tool/episode';
import { generateToolSuite, toolTaskOf } from '../../tasks/tool/suite';
import { toolTurns } from '../../tasks/tool/render';
import { TOOL_TEMPLATES } from '../../tasks/tool/templates';

const suite = generateToolSuite({ seed: 7, trainTasks: 80, heldoutTasks: 30, heldoutTemplates: [] });

test('every expert trajectory passes its final check when replayed', () => {
  for (const traj of suite.train) {
    const actions = toolTurns(traj).map((t) => t.expert);
    const r = replayToolEpisode(traj.task, actions);
    assert.ok(r.passed, `${traj.id} (${traj.task.template}): ${r.check.detail}`);
    assert.ok(r.ended);
    // The replayed outputs are the ones in the trajectory.
    assert.deepEqual(
      r.outputs.map((o) => o.output),
      toolTurns(traj).map((t, i, all) => all[i + 1]?.history[i].output ?? ''),
    );
  }
});

test('every valid variant of every step leads to a passing episode', () => {
  for (const [k, tpl] of TOOL_TEMPLATES.entries()) {
    for (let i = 0; i < 5; i++) {
      const drawn = tpl.draw(new Rng(seedOf('variants', k, i)));
      const task = toolTaskOf(`v-${k}-${i}`, tpl.name, drawn);
      const longest = Math.max(...drawn.steps.map((v) => v.length));
      for (let j = 0; j < longest; j++) {
        const actions = drawn.steps.map((v) => v[j % v.length]);
        const r = replayToolEpisode(task, actions);
        assert.ok(r.passed, `${tpl.name} variant ${j}: ${r.check.detail}\n${actions.join('\n')}`);
      }
    }
  }
});

test("every template's near miss fails the final check", () => {
  for (const [k, tpl] of TOOL_TEMPLATES.entries()) {
    for (let i = 0; i < 5; i++) {
      const drawn = tpl.draw(new Rng(seedOf('near-miss', k, i)));
      const r = replayToolEpisode(toolTaskOf(`n-${k}-${i}`, tpl.name, drawn), drawn.nearMiss);
      assert.equal(r.passed, false, `${tpl.name}: the near miss passed\n${drawn.nearMiss.join('\n')}`);
    }
  }
});

test('the final check needs the reply: no reply, an early reply, or a reply without the facts all fail', () => {
  const traj = suite.train.find((t) => t.task.template === 'order_total')!;
  const actions = toolTurns(traj).map((t) => t.expert);
  assert.match(replayToolEpisode(traj.task, actions.slice(0, -1)).check.detail, /did not end with a reply/);
  const early = replayToolEpisode(traj.task, ['say I do not know.', ...actions]);
  assert.ok(!early.passed && early.ended);
  assert.equal(early.outputs[1].exitCode, 2, 'actions after the reply are not run');
  assert.match(replayToolEpisode(traj.task, [actions[0], 'say It was expensive.']).check.detail, /the reply lacks/);
  const bad = replayToolEpisode(traj.task, ['get order', ...actions]);
  assert.ok(bad.passed, 'an unparseable action costs a turn but changes nothing');
  assert.equal(bad.outputs[0].exitCode, 2);
});

test('a state-changing template fails when the change is skipped or made twice', () => {
  const traj = suite.train.find((t) => t.task.template === 'refund_item')!;
  const [look, refund, reply] = toolTurns(traj).map((t) => t.expert);
  assert.ok(!replayToolEpisode(traj.task, [look, reply]).passed, 'no refund');
  const twice = replayToolEpisode(traj.task, [look, refund, refund, reply]);
  assert.ok(!twice.passed || twice.outputs[2].exitCode === 1, 'a second refund either fails or changes the state');
});

test('held-out tool episodes replay in-process through the tool episode runner (no sandbox)', async () => {
  for (const ref of suite.heldout) {
    if (ref.domain !== 'tool') continue;
    const r = await toolEpisodeRunner.replay(ref, ['call get_order {"order_id":"O1"}']);
    assert.equal(r.passed, false);
    assert.equal(r.outputs.length, 1);
    assert.match(r.outputs[0].output, /error/);
  }
});
