// The tool-use functional verifier, in-process: the hand-labelled cases, the suite's own variants, batching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, seedOf } from '../../core/rng';
import type { Sample, Turn } from '../../core/schemas';
import { ToolTask } from '../../core/domains/tool';
import { createVerifier } from '../../verifiers';
import { ToolVerifier, verifyToolTurn } from '../../verifiers/tool';
import { generateToolSuite, toolTaskOf } from '../../tasks/tool/suite';
import { toolTurns } from '../../tasks/tool/render';
import { TOOL_TEMPLATES } from '../../tasks/tool/templates';
import { replayToolEpisode } from '../../tasks/tool/episode';
import { LabelledCase } from '../fixtures/verdicts/case';
import { cases } from '../fixtures/verdicts/tool';

const sample = (turnId: string, index: number, text: string): Sample => ({ turnId, index, text, logprobs: [] });

test('the hand-labelled tool cases: the functional verifier agrees with every label', async () => {
  assert.ok(cases.length >= 50, `${cases.length} cases`);
  assert.equal(new Set(cases.map((c) => c.id)).size, cases.length, 'unique ids');
  const parsed = cases.map((c) => LabelledCase.parse(c));
  const items = parsed.map((c, i) => ({ turn: { ...c.turn, id: `case-${i}` }, samples: [sample(`case-${i}`, 0, c.sample)] }));
  const verdicts = await createVerifier('functional').verifyBatch(items);
  const disagreements = parsed
    .map((c, i) => ({ c, v: verdicts[i] }))
    .filter(({ c, v }) => v.reward !== c.expected || (c.reason !== undefined && v.reason !== c.reason))
    .map(({ c, v }) => `${c.id}: expected ${c.expected} (${c.reason}), got ${v.reward} (${v.reason}: ${v.detail})`);
  assert.deepEqual(disagreements, []);
  const positives = parsed.filter((c) => c.expected === 1).length;
  assert.ok(positives >= 15 && parsed.length - positives >= 25, `${positives} equivalent, ${parsed.length - positives} near misses`);
});

test("the suite's valid variants of a step are equivalent to one another at that step", () => {
  for (const [k, tpl] of TOOL_TEMPLATES.entries()) {
    const drawn = tpl.draw(new Rng(seedOf('equivalent', k)));
    const task = toolTaskOf(`e-${k}`, tpl.name, drawn);
    const replay = replayToolEpisode(
      task,
      drawn.steps.map((v) => v[0]),
    );
    drawn.steps.forEach((variants, t) => {
      const history = drawn.steps.slice(0, t).map((v, i) => ({ action: v[0], output: replay.outputs[i].output }));
      for (const expert of variants) {
        const turn: Turn = { id: `e-${k}#${t}`, trajectoryId: `e-${k}`, index: t, domain: 'tool', task, history, expert };
        for (const other of variants) {
          const v = verifyToolTurn(turn, other);
          assert.equal(v.reward, 1, `${tpl.name} step ${t}: ${other} against ${expert}: ${v.reason} ${v.detail}`);
        }
      }
    });
  }
});

test("each template's near-miss actions, taken at the expert's state, are judged wrong where they differ from every variant", () => {
  let judged = 0;
  for (const [k, tpl] of TOOL_TEMPLATES.entries()) {
    const drawn = tpl.draw(new Rng(seedOf('near', k)));
    const task = toolTaskOf(`n-${k}`, tpl.name, drawn);
    const replay = replayToolEpisode(
      task,
      drawn.steps.map((v) => v[0]),
    );
    // The near miss's last action is a reply: compare it with the expert's final reply.
    const t = drawn.steps.length - 1;
    const history = drawn.steps.slice(0, t).map((v, i) => ({ action: v[0], output: replay.outputs[i].output }));
    const turn: Turn = { id: `n-${k}#${t}`, trajectoryId: `n-${k}`, index: t, domain: 'tool', task, history, expert: drawn.steps[t][0] };
    const reply = drawn.nearMiss[drawn.nearMiss.length - 1];
    if (drawn.steps[t].includes(reply)) continue;
    judged++;
    assert.equal(verifyToolTurn(turn, reply).reward, 0, `${tpl.name}: ${reply} against ${drawn.steps[t][0]}`);
  }
  assert.ok(judged >= 5);
});

test('batches: verdicts in input order, identical samples answered once, empty and exact samples', async () => {
  const s = generateToolSuite({ seed: 1, trainTasks: 3, heldoutTasks: 0 });
  const turns = s.train.flatMap((t) => toolTurns(t)).slice(0, 3);
  const v = new ToolVerifier();
  const progress: number[] = [];
  const items = turns.map((turn) => ({
    turn,
    samples: [
      sample(turn.id, 0, turn.expert),
      sample(turn.id, 1, ''),
      sample(turn.id, 2, 'say nothing useful'),
      sample(turn.id, 3, ' say nothing useful '),
    ],
  }));
  const verdicts = await v.verifyBatch(items, { onProgress: (n) => progress.push(n) });
  assert.equal(verdicts.length, 12);
  assert.deepEqual(progress, [1, 2, 3]);
  verdicts.forEach((verdict, i) => {
    assert.equal(verdict.turnId, turns[Math.floor(i / 4)].id);
    assert.equal(verdict.index, i % 4);
  });
  assert.deepEqual(
    verdicts.slice(0, 2).map((x) => [x.reward, x.reason]),
    [
      [1, 'exact_match'],
      [0, 'empty_action'],
    ],
  );
  assert.deepEqual(verdicts[2], { ...verdicts[3], index: 2 });
  assert.equal(v.stats.samplesReused, 3);
});

test('the word-overlap threshold is configurable', () => {
  const turn = cases.find((c) => c.id === 'tool/reply-paraphrase-done')!.turn;
  const paraphrase = 'say I have cancelled your order O100 as requested.'; // word overlap 0.86
  assert.equal(verifyToolTurn(turn, paraphrase).reward, 1);
  assert.equal(verifyToolTurn(turn, paraphrase, 0.95).reward, 0);
});

test('a broken expert action is a data error, not a reward', async () => {
  const turn = { ...cases[0].turn, expert: 'get_order O100' };
  await assert.rejects(new ToolVerifier().verifyBatch([{ turn, samples: [sample(turn.id, 0, 'say hi')] }]), /expert action/);
  const ctl = new AbortController();
  ctl.abort(new Error('stop'));
  await assert.rejects(new ToolVerifier().verifyBatch([{ turn: cases[0].turn, samples: [] }], { signal: ctl.signal }), /stop/);
});

test('tool-use data without a simulated backend: calls judged on names and arguments, replies on the recorded outputs', () => {
  const base = cases.find((c) => c.id === 'tool/pair-reply-wrong-status')!.turn;
  assert.equal(base.domain, 'tool');
  const task = ToolTask.parse({ id: 'no-backend', template: 'external', goal: base.task.goal, tools: base.task.tools });
  assert.equal(task.backend, null);
  assert.throws(() => ToolTask.parse({ ...base.task, backend: null }), /check\.state/);
  const reply = { ...base, task } as Turn;
  assert.equal(verifyToolTurn(reply, 'say O102 is shipped; O100 is pending.').reward, 1);
  assert.equal(verifyToolTurn(reply, 'say Order O100 is pending and order O102 is delivered.').reward, 0);
  const call = { ...reply, history: [], expert: 'call get_order {"order_id":"O100"}' } as Turn;
  assert.deepEqual(verifyToolTurn(call, 'call get_order { "order_id": "O100" }').reward, 1);
  assert.equal(verifyToolTurn(call, 'call get_order {"order_id":"O101"}').reason, 'wrong_arguments');
  const episode = replayToolEpisode(task, ['call get_order {"order_id":"O100"}', 'say done']);
  assert.match(episode.outputs[0].output, /no simulated backend/);
  assert.ok(episode.passed, 'without a backend and facts, the final check only needs the reply');
});
