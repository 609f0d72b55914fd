// The tool-use suite: seeded, split by template and by instance, turns and prompts in the policy's budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeldoutTask, Trajectory } from '../../core/schemas';
import { generateToolSuite } from '../../tasks/tool/suite';
import { DEFAULT_HELDOUT_TEMPLATES, TOOL_TEMPLATES } from '../../tasks/tool/templates';
import { compactJson, renderToolPrompt, TOOL_MAX_PROMPT_CHARS, toolTurns } from '../../tasks/tool/render';
import { promptOf, turnsOf } from '../../tasks/domains';
import { Rng } from '../../core/rng';
import { allWords, contentWords } from '../../tasks/tool/words';
import { observedWords } from '../../verifiers/tool';

test('the suite is seeded: same options, same suite; another seed, other tasks', () => {
  const a = generateToolSuite({ seed: 3, trainTasks: 16, heldoutTasks: 10 });
  const b = generateToolSuite({ seed: 3, trainTasks: 16, heldoutTasks: 10 });
  const c = generateToolSuite({ seed: 4, trainTasks: 16, heldoutTasks: 10 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(
    a.train.map((t) => t.task.goal),
    c.train.map((t) => t.task.goal),
  );
});

test('held out by template: training never sees the held-out templates; held-out tasks cover every template', () => {
  const s = generateToolSuite({ seed: 3, trainTasks: 40, heldoutTasks: 20 });
  const trainTemplates = new Set(s.train.map((t) => t.task.template));
  for (const name of DEFAULT_HELDOUT_TEMPLATES) assert.ok(!trainTemplates.has(name), name);
  assert.equal(trainTemplates.size, TOOL_TEMPLATES.length - DEFAULT_HELDOUT_TEMPLATES.length);
  assert.deepEqual(new Set(s.heldout.map((h) => h.task.template)), new Set(TOOL_TEMPLATES.map((t) => t.name)));
  const custom = generateToolSuite({ seed: 3, trainTasks: 10, heldoutTasks: 0, heldoutTemplates: ['order_total'] });
  assert.ok(custom.train.every((t) => t.task.template !== 'order_total'));
  assert.throws(
    () => generateToolSuite({ seed: 3, trainTasks: 1, heldoutTasks: 0, heldoutTemplates: ['nope'] }),
    /unknown tool templates: nope/,
  );
});

test('held out by instance: no held-out task is a training task', () => {
  const s = generateToolSuite({ seed: 3, trainTasks: 80, heldoutTasks: 40 });
  const fingerprint = (t: { goal: string; backend: unknown }) => JSON.stringify([t.goal, t.backend]);
  const train = new Set(s.train.map((t) => fingerprint(t.task)));
  assert.equal(s.heldout.filter((h) => h.domain === 'tool' && train.has(fingerprint(h.task))).length, 0);
  for (const h of s.heldout) HeldoutTask.parse(h);
});

test('trajectories validate and follow the OpenAI tool-calling shape; every assistant message is a turn', () => {
  const s = generateToolSuite({ seed: 1, trainTasks: 32, heldoutTasks: 0 });
  for (const traj of s.train) {
    Trajectory.parse(traj);
    const [system, user, ...rest] = traj.messages;
    assert.equal(system.role, 'system');
    assert.deepEqual(user, { role: 'user', content: traj.task.goal });
    for (const [i, m] of rest.entries()) {
      if (m.role === 'assistant' && m.tool_calls) {
        const outputs = rest.slice(i + 1, i + 1 + m.tool_calls.length);
        assert.deepEqual(
          outputs.map((o) => (o.role === 'tool' ? o.tool_call_id : null)),
          m.tool_calls.map((c) => c.id),
        );
      }
    }
    const last = traj.messages[traj.messages.length - 1];
    assert.ok(last.role === 'assistant' && !last.tool_calls && last.content, 'ends with a reply to the user');
    const turns = turnsOf(traj);
    assert.equal(turns.length, traj.messages.filter((m) => m.role === 'assistant').length);
    turns.forEach((turn, t) => {
      assert.equal(turn.history.length, t);
      assert.ok(turn.expert.startsWith('call ') || turn.expert.startsWith('say '));
    });
    assert.ok(turns[turns.length - 1].expert.startsWith('say '));
  }
});

test('several valid actions per step: every template has alternatives, some with parallel calls', () => {
  const drawn = TOOL_TEMPLATES.map((tpl) => tpl.draw(new Rng(1)));
  for (const [i, d] of drawn.entries())
    assert.ok(
      d.steps.some((v) => v.length > 1),
      `${TOOL_TEMPLATES[i].name} has no alternatives`,
    );
  assert.ok(drawn.filter((d) => d.steps.some((v) => v.some((a) => a.includes(' ; ')))).length >= 2);
});

test('prompts: goal first, newest steps last, ending in "> ", within the budget', () => {
  const s = generateToolSuite({ seed: 2, trainTasks: 40, heldoutTasks: 10 });
  let over = 0;
  let n = 0;
  for (const traj of s.train) {
    for (const turn of toolTurns(traj)) {
      const prompt = promptOf({ domain: 'tool', task: turn.task }, turn.history);
      assert.equal(prompt, renderToolPrompt(turn.task.goal, turn.history));
      assert.ok(prompt.startsWith(`G: ${turn.task.goal}\n`));
      assert.ok(prompt.endsWith('> '));
      const last = turn.history[turn.history.length - 1];
      if (last) assert.ok(prompt.includes(`> ${last.action.slice(0, 9)}`), "the newest action, clipped at worst (to its outputs' benefit)");
      n++;
      if (prompt.length > TOOL_MAX_PROMPT_CHARS) over++;
      assert.ok(prompt.length <= TOOL_MAX_PROMPT_CHARS + 20, prompt);
    }
  }
  assert.ok(over / n < 0.05, `${over} of ${n} prompts over budget`);
  const long = Array.from({ length: 20 }, (_, i) => ({
    action: `call get_order {"order_id":"O${i}"}`,
    output: `{"id":"O${i}","status":"pending"}`,
  }));
  const prompt = renderToolPrompt('the goal', long);
  assert.ok(prompt.startsWith('G: the goal\n') && prompt.includes('O19') && !prompt.includes('"O1"'));
  assert.ok(prompt.length <= TOOL_MAX_PROMPT_CHARS);
  assert.equal(compactJson('{"id":"O1","error":"no: such"}'), '{id:O1,error:"no: such"}');
});

test('prompts show what the next action needs: the data words of every reply, the ids of nearly every call', () => {
  const s = generateToolSuite({ seed: 2, trainTasks: 200, heldoutTasks: 0, heldoutTemplates: [] });
  let calls = 0;
  let callsMissing = 0;
  for (const traj of s.train) {
    for (const turn of toolTurns(traj)) {
      const shown = new Set(allWords(renderToolPrompt(turn.task.goal, turn.history)));
      const observed = observedWords(turn.history);
      if (turn.expert.startsWith('say ')) {
        const needed = contentWords(turn.expert).filter((w) => observed.has(w));
        assert.deepEqual(
          needed.filter((w) => !shown.has(w)),
          [],
          `${traj.task.template}: ${turn.expert}`,
        );
      } else {
        const ids = allWords(turn.expert.replace(/"\w+":/g, '')).filter((w) => observed.has(w) && /\d/.test(w));
        calls++;
        if (ids.some((w) => !shown.has(w))) callsMissing++;
      }
    }
  }
  assert.ok(callsMissing / calls < 0.05, `${callsMissing} of ${calls} calls need an id the prompt clipped`);
});
