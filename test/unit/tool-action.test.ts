// The one-line text form of tool-use actions: parse, render, and the OpenAI message shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionOfMessage, messageOfAction, parseAction, renderToolAction, type ToolAction } from '../../tasks/tool/action';
import { generateToolSuite } from '../../tasks/tool/suite';
import { toolTurns } from '../../tasks/tool/render';
import { TOOL_TEMPLATES } from '../../tasks/tool/templates';
import { Rng } from '../../core/rng';

const parsed = (text: string): ToolAction => {
  const p = parseAction(text);
  assert.ok(p.ok, `${text}: ${p.ok ? '' : p.error}`);
  return p.action;
};

test('every expert action of the suite and every template variant round-trips: parse then render gives the text back', () => {
  const suite = generateToolSuite({ seed: 5, trainTasks: 24, heldoutTasks: 0 });
  const texts = suite.train.flatMap((t) => toolTurns(t).map((turn) => turn.expert));
  for (const tpl of TOOL_TEMPLATES) texts.push(...tpl.draw(new Rng(9)).steps.flat());
  assert.ok(texts.length > 100);
  for (const text of texts) {
    assert.ok(!text.includes('\n'));
    assert.equal(renderToolAction(parsed(text)), text);
  }
});

test('parsing: calls with JSON arguments joined by ";", or a message; whitespace around the parts is free', () => {
  assert.deepEqual(parsed('call get_order {"order_id":"O1"}'), {
    kind: 'calls',
    calls: [{ name: 'get_order', args: { order_id: 'O1' }, json: '{"order_id":"O1"}' }],
  });
  const two = parsed('  call a {"x":"1 ; 2","y":{"z":[1,{"w":"}"}]}};call b {}  ');
  assert.equal(two.kind, 'calls');
  assert.deepEqual(two.kind === 'calls' && two.calls.map((c) => [c.name, c.args]), [
    ['a', { x: '1 ; 2', y: { z: [1, { w: '}' }] } }],
    ['b', {}],
  ]);
  assert.equal(renderToolAction(parsed('call get_order { "order_id" : "O1" }')), 'call get_order {"order_id":"O1"}');
  assert.deepEqual(parsed('say  Your order   O1 is cancelled. '), { kind: 'say', text: 'Your order   O1 is cancelled.' });
  assert.equal(renderToolAction({ kind: 'say', text: 'two\nlines' }), 'say two lines');
});

test('parsing: malformed actions are refused with a reason', () => {
  for (const bad of [
    '',
    'say',
    'get_order {"order_id":"O1"}',
    'call {"order_id":"O1"}',
    'call get_order',
    'call get_order {"order_id":"O1"',
    'call get_order {order_id:"O1"}',
    'call get_order ["O1"]',
    'call get_order {"order_id":"O1"} call get_order {"order_id":"O2"}',
    'call get_order {"order_id":"O1"} ; ',
    'call get_order {"order_id":"O1"} ; say hi',
    'call a {}\ncall b {}',
  ]) {
    const p = parseAction(bad);
    assert.equal(p.ok, false, `accepted: ${JSON.stringify(bad)}`);
    assert.ok(!p.ok && p.error.length > 0);
  }
});

test('OpenAI shape: an action becomes an assistant message and back', () => {
  for (const text of ['call get_order {"order_id":"O1"} ; call get_product {"product_id":"P2"}', 'say Order O1 is shipped.']) {
    const action = parsed(text);
    const message = messageOfAction(action, 'call_3');
    if (action.kind === 'calls')
      assert.deepEqual(
        message.tool_calls?.map((c) => c.id),
        ['call_3_0', 'call_3_1'],
      );
    assert.equal(renderToolAction(actionOfMessage(message)), text);
  }
  // Arguments as other producers write them (spaces, newlines) become the compact one-line form.
  const foreign = actionOfMessage({
    role: 'assistant',
    content: 'Let me check.',
    tool_calls: [{ id: 'x', type: 'function', function: { name: 'get_order', arguments: '{\n  "order_id": "O1"\n}' } }],
  });
  assert.equal(renderToolAction(foreign), 'call get_order {"order_id":"O1"}');
});
