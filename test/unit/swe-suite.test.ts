// The SWE suite and its pure parts: the test runner's output format, the generator (seeded, splits, shapes of
// trajectories), the prompt. No Docker (test/integration/swe-tasks.test.ts runs the suite for real).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/rng';
import { SweTask, Trajectory } from '../../core/schemas';
import { generateSweSuite } from '../../tasks/swe/suite';
import { MAX_ACTION_CHARS, SWE_TEMPLATES, sedEdit, shellQuote } from '../../tasks/swe/templates';
import { MAX_SWE_PROMPT_CHARS, condenseOutput, renderSwePrompt, sweTurns } from '../../tasks/swe/render';
import { allPass, formatTestOutput, outcomesDiffer, parseTestOutput } from '../../tasks/swe/runner';
import { turnsOf } from '../../tasks/domains';

test('test output: one outcome per PASS/FAIL line, other lines ignored', () => {
  const out =
    'PASS test_a\nFAIL test_b\n    Traceback (most recent call last):\n    AssertionError\nPASS test_c.sub\nPASSED x\n2 passed, 1 failed\n';
  assert.deepEqual(
    [...parseTestOutput(out)],
    [
      ['test_a', 'pass'],
      ['test_b', 'fail'],
      ['test_c.sub', 'pass'],
    ],
  );
  assert.equal(parseTestOutput('no tests here\n').size, 0);
});

test('test output: a test reported twice keeps its worst outcome; a truncated last line is dropped', () => {
  assert.equal(parseTestOutput('FAIL test_a\nPASS test_a\n').get('test_a'), 'fail');
  assert.equal(parseTestOutput('PASS test_a\nPASS test_b').get('test_b'), 'pass');
  assert.equal(parseTestOutput('PASS test_a\nPASS test_b', true).has('test_b'), false);
});

test('test output: what formatTestOutput writes parses back; outcomes compare with missing = failed', () => {
  const results = [
    { name: 'test_x', outcome: 'pass' as const },
    { name: 'test_y', outcome: 'fail' as const },
  ];
  const text = formatTestOutput(results);
  assert.equal(text, 'PASS test_x\nFAIL test_y\n1 passed, 1 failed\n');
  const parsed = parseTestOutput(text);
  assert.deepEqual(outcomesDiffer(parsed, new Map(results.map((r) => [r.name, r.outcome]))), []);
  assert.deepEqual(outcomesDiffer(parsed, new Map([['test_x', 'pass']])), []); // test_y: fail vs missing (= fail)
  assert.deepEqual(outcomesDiffer(parsed, new Map([['test_y', 'pass']])), ['test_x', 'test_y']);
  assert.ok(allPass(new Map([['test_x', 'pass']]), ['test_x']));
  assert.ok(!allPass(new Map([['test_x', 'pass']]), ['test_x', 'test_z']));
});

test('the suite is seeded: same options, same suite; another seed, other repositories', () => {
  const a = generateSweSuite({ seed: 3, trainTasks: 18, heldoutTasks: 9 });
  const b = generateSweSuite({ seed: 3, trainTasks: 18, heldoutTasks: 9 });
  const c = generateSweSuite({ seed: 4, trainTasks: 18, heldoutTasks: 9 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(
    a.train.map((t) => t.task.files),
    c.train.map((t) => t.task.files),
  );
});

test('at least 50 distinct repositories from every template, with seeded bugs and both kinds of tests', () => {
  const { train } = generateSweSuite({ seed: 1, trainTasks: 60, heldoutTasks: 0 });
  const repos = new Set(train.map((t) => JSON.stringify(t.task.files)));
  assert.ok(repos.size >= 50, `only ${repos.size} distinct repositories`);
  assert.deepEqual(new Set(train.map((t) => t.task.template)), new Set(SWE_TEMPLATES.map((t) => t.name)));
  assert.ok(SWE_TEMPLATES.length >= 6);
  for (const { task } of train) {
    SweTask.parse(task);
    assert.ok(task.tests.failToPass.length >= 1 && task.tests.passToPass.length >= 1, task.id);
    const runnerOrder = [...task.tests.failToPass, ...task.tests.passToPass];
    assert.equal(new Set(runnerOrder).size, runnerOrder.length, `${task.id}: a test is both fail-to-pass and pass-to-pass`);
    assert.deepEqual(
      new Set(task.testFiles),
      new Set(task.files.map((f) => f.path).filter((p) => p === 'run_tests.py' || p.startsWith('test_'))),
    );
  }
});

test('held-out split by instance: no held-out repository is a training one', () => {
  const s = generateSweSuite({ seed: 3, trainTasks: 90, heldoutTasks: 27 });
  const train = new Set(s.train.map((t) => JSON.stringify(t.task.files)));
  const overlap = s.heldout.filter((h) => train.has(JSON.stringify(h.domain === 'swe' && h.task.files))).length;
  assert.equal(overlap, 0);
  assert.ok(s.heldout.every((h) => h.domain === 'swe'));
});

test('held-out split by template: those templates never train, and are all that is held out', () => {
  const s = generateSweSuite({ seed: 3, trainTasks: 30, heldoutTasks: 6, heldoutTemplates: ['two_bugs', 'missing_case'] });
  assert.ok(s.train.every((t) => !['two_bugs', 'missing_case'].includes(t.task.template)));
  assert.deepEqual(new Set(s.heldout.map((h) => h.task.template)), new Set(['two_bugs', 'missing_case']));
  assert.throws(() => generateSweSuite({ seed: 3, trainTasks: 1, heldoutTasks: 1, heldoutTemplates: ['nope'] }), /unknown SWE template/);
});

test('trajectories: valid records, turns = bash calls with the history before them, actions one short line', () => {
  const { train } = generateSweSuite({ seed: 2, trainTasks: 45, heldoutTasks: 0 });
  for (const traj of train) {
    Trajectory.parse(traj);
    const turns = sweTurns(traj);
    assert.deepEqual(turnsOf(traj), turns);
    assert.ok(turns.length >= 5, `${traj.id}: ${turns.length} turns`);
    turns.forEach((turn, t) => {
      assert.equal(turn.history.length, t);
      assert.ok(!turn.expert.includes('\n'), `${traj.id}#${t}: multi-line action`);
      assert.ok(turn.expert.length <= MAX_ACTION_CHARS, `${traj.id}#${t}: ${turn.expert.length} chars: ${turn.expert}`);
      const prompt = renderSwePrompt(turn.task.goal, turn.history);
      assert.ok(prompt.length <= MAX_SWE_PROMPT_CHARS && prompt.endsWith('$ '), prompt);
    });
    // The trajectory looks (runs the tests), edits, and ends by running the tests.
    assert.match(turns.at(-1)!.expert, /^python3 (\.\/)?run_tests\.py$/);
    assert.ok(turns.some((t) => t.expert.startsWith('sed -i ')));
    assert.equal(traj.messages.at(-1)?.content, 'done');
  }
});

test('several valid expert actions per step: every step of every template offers alternatives', () => {
  for (const template of SWE_TEMPLATES) {
    for (let seed = 1; seed <= 12; seed++) {
      const drawn = template.draw(new Rng(seed));
      for (const s of drawn.steps) assert.ok(s.variants.length >= 2, `${template.name} seed ${seed}: ${s.kind} step has one variant`);
      const edits = drawn.steps.filter((s) => s.kind === 'edit');
      assert.ok(edits.length >= 1 && edits.every((s) => s.decoys.length >= 1), `${template.name}: edit steps need decoys`);
    }
  }
});

test('sed edits are quoted for the shell and escaped for sed', () => {
  assert.equal(shellQuote('s/a/b/'), "'s/a/b/'");
  assert.equal(shellQuote(`s/','/' '/`), `"s/','/' '/"`);
  assert.equal(shellQuote(`it's $HOME`), `"it's \\$HOME"`);
  assert.equal(sedEdit('m.py', 2, { from: 'items[:n - 1]', to: 'items[:n]' }), "sed -i '2s/items\\[:n - 1\\]/items[:n]/' m.py");
  assert.equal(sedEdit('m.py', null, { from: 'a * b', to: 'a / b' }), "sed -i 's/a \\* b/a \\/ b/' m.py");
});

test('the prompt: goal kept, test runs condensed to their failures, the newest step always shown', () => {
  const run = formatTestOutput(
    ['test_a', 'test_b', 'test_c'].map((name, i) => ({ name, outcome: i === 1 ? ('fail' as const) : ('pass' as const) })),
  );
  assert.deepEqual(condenseOutput(run), ['FAIL test_b', '2 passed, 1 failed']);
  assert.deepEqual(condenseOutput('     7\t    return x\n'), ['7     return x']);
  const long = Array.from({ length: 40 }, (_, i) => `${String(i + 1).padStart(6)}\tline number ${i + 1} of a long file`).join('\n');
  const prompt = renderSwePrompt('fix f: f(1) should be 2', [
    { action: 'python3 run_tests.py', output: run },
    { action: 'cat -n m.py', output: long },
  ]);
  assert.ok(prompt.startsWith('G: fix f: f(1) should be 2\n'));
  assert.ok(prompt.includes('$ cat -n m.py\n1 line number 1'), prompt);
  assert.ok(prompt.length <= MAX_SWE_PROMPT_CHARS);
  assert.ok(prompt.endsWith('$ '));
});
