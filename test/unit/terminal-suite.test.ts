import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Trajectory } from '../../core/schemas';
import { generateTerminalSuite } from '../../tasks/terminal/suite';
import { TEMPLATES } from '../../tasks/terminal/templates';
import { renderTerminalPrompt, terminalTurns } from '../../tasks/terminal/render';
import { generateOodSuite, oodCorrect } from '../../tasks/ood';
import { Rng } from '../../core/rng';

test('the suite is seeded: same options, same trajectories; another seed, other tasks', () => {
  const a = generateTerminalSuite({ seed: 3, trainTasks: 16, heldoutTasks: 8 });
  const b = generateTerminalSuite({ seed: 3, trainTasks: 16, heldoutTasks: 8 });
  const c = generateTerminalSuite({ seed: 4, trainTasks: 16, heldoutTasks: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(
    a.train.map((t) => t.task.goal),
    c.train.map((t) => t.task.goal),
  );
});

test('held-out tasks are different instances from the training tasks', () => {
  const s = generateTerminalSuite({ seed: 3, trainTasks: 64, heldoutTasks: 24 });
  const fingerprint = (t: { goal: string; files: unknown }) => JSON.stringify([t.goal, t.files]);
  const train = new Set(s.train.map((t) => fingerprint(t.task)));
  const overlap = s.heldout.filter((t) => train.has(fingerprint(t.task))).length;
  assert.equal(overlap, 0, `${overlap} held-out tasks also appear in training`);
});

test('trajectories validate, split into turns whose expert action is the bash call, with the history before it', () => {
  const s = generateTerminalSuite({ seed: 1, trainTasks: 32, heldoutTasks: 0 });
  for (const traj of s.train) {
    Trajectory.parse(traj);
    const turns = terminalTurns(traj);
    assert.ok(turns.length >= 2 && turns.length <= 8, `${traj.id}: ${turns.length} turns`);
    turns.forEach((turn, t) => {
      assert.equal(turn.history.length, t);
      assert.ok(turn.expert.length > 0);
      assert.ok(renderTerminalPrompt(turn.task.goal, turn.history).endsWith('$ '));
    });
  }
});

test('every template takes 2 to 8 turns; each task has several valid expert solutions', () => {
  for (const tpl of TEMPLATES) {
    for (let i = 0; i < 20; i++) {
      const drawn = tpl.draw(new Rng(i));
      assert.ok(drawn.steps.length >= 2 && drawn.steps.length <= 8, `${tpl.name}: ${drawn.steps.length} turns`);
      const solutions = drawn.steps.reduce((n, variants) => n * variants.length, 1);
      assert.ok(solutions >= 2, `${tpl.name}: only ${solutions} expert solution`);
    }
  }
});

test('nested_dir: the move needs the file name that only the listing showed', () => {
  const tpl = TEMPLATES.find((t) => t.name === 'nested_dir')!;
  for (let i = 0; i < 20; i++) {
    const drawn = tpl.draw(new Rng(i));
    const moved = drawn.files.filter((f) => f.path.endsWith('.txt'));
    assert.equal(moved.length, 1);
    assert.ok(!drawn.goal.includes(moved[0].path), 'the goal does not name the file');
    for (const v of drawn.steps[0]) assert.ok(v.output.includes(moved[0].path), `the listing '${v.action}' shows it`);
    for (const v of drawn.steps.at(-1)!) assert.ok(v.action.includes(moved[0].path), `the move '${v.action}' names it`);
  }
});

test('held out by template: those templates give held-out tasks only; unknown names are refused', () => {
  const s = generateTerminalSuite({ seed: 3, trainTasks: 40, heldoutTasks: 12, heldoutTemplates: ['rename', 'grep_value'] });
  assert.ok(s.train.every((t) => !['rename', 'grep_value'].includes(t.task.template)));
  assert.equal(new Set(s.train.map((t) => t.task.template)).size, TEMPLATES.length - 2);
  assert.deepEqual(new Set(s.heldout.map((h) => h.task.template)), new Set(['rename', 'grep_value']));
  assert.throws(
    () => generateTerminalSuite({ seed: 3, trainTasks: 1, heldoutTasks: 0, heldoutTemplates: ['nope'] }),
    /unknown terminal template/,
  );
});

test('at least 300 distinct training tasks from the generator defaults', () => {
  const s = generateTerminalSuite({ seed: 1, trainTasks: 320, heldoutTasks: 40 });
  const distinct = new Set(s.train.map((t) => JSON.stringify([t.task.goal, t.task.files])));
  assert.ok(distinct.size >= 300, `only ${distinct.size} distinct tasks`);
  const train = new Set(distinct);
  assert.equal(s.heldout.filter((h) => train.has(JSON.stringify([h.task.goal, h.task.files]))).length, 0);
});

test('most templates offer more than one valid action at some turn', () => {
  const multi = TEMPLATES.filter((tpl) => tpl.draw(new Rng(1)).steps.some((variants) => variants.length > 1));
  assert.ok(multi.length >= TEMPLATES.length - 1, `only ${multi.length} templates have alternatives`);
});

test('the prompt keeps the goal when the history is long', () => {
  const history = Array.from({ length: 30 }, (_, i) => ({ action: `echo ${i}`, output: `${i}\n` }));
  const prompt = renderTerminalPrompt('the goal', history);
  assert.ok(prompt.startsWith('G: the goal\n'));
  assert.ok(prompt.includes('echo 29'));
  assert.ok(prompt.length <= 200);
});

test('the out-of-domain suite scores by exact match', () => {
  const items = generateOodSuite({ seed: 1, n: 10 });
  assert.equal(new Set(items.map((i) => i.kind)).size, 5);
  for (const item of items) {
    assert.ok(oodCorrect(item, ` ${item.answer}\n`));
    assert.ok(!oodCorrect(item, item.answer + 'x'));
  }
});
