// Bring your own data: NeMo-Gym rows as NeMo-Gym writes them and plain OpenAI chat become candidate turns; each turn is
// verified as well as its data allows (replayed in a sandbox, compared by arguments, or by the message rule), and the
// turns whose state could not be rebuilt are counted with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Turn, type Sample } from '../../core/schemas';
import { noVerifications } from '../../core/turn-verification';
import { NemoGymPivotRow, NemoGymPivotRowInput } from '../../formats/nemo-gym';
import { rowOfTurn, turnOfRow } from '../../formats/nemo-gym-turns';
import { importRecord, type ImportedRecord, type RecordFormat } from '../../formats/records';
import { RecordError } from '../../formats/record-error';
import { ingest } from '../../pipeline/ingest';
import { loadCampaignConfig } from '../../pipeline/config-file';
import type { DockerClient } from '../../sandboxes/engine';
import { LocalStore, getJsonl } from '../../store';
import { generateOodSuite } from '../../tasks/ood';
import { verificationOf } from '../../tasks/domains';
import { createVerifier } from '../../verifiers';
import {
  BASH_TOOL,
  assistantSays,
  call,
  chatTool,
  flatTool,
  jsonl,
  nemoGymRow,
  output,
  reasoning,
  shellConversation,
  system,
  user,
  userParts,
} from '../support/foreign-data';
import { tempDir } from '../../harness/temp-dir';

const EDITOR = flatTool('str_replace_editor', { command: { type: 'string' }, path: { type: 'string' } });
const BOOK = flatTool('book_table', { people: { type: 'integer' }, time: { type: 'string' } }, true);

/** The four kinds of row the issue tried: terminal, tool call (arguments as text and as an object), message, SWE. */
const ROWS = {
  terminal: nemoGymRow(
    [
      system('You are a terminal agent.'),
      userParts('Show the first line of notes.txt'),
      reasoning('rs_1', 'list the folder first'),
      call('c1', 'bash', { command: 'ls' }),
      output('c1', 'notes.txt\n'),
    ],
    [BASH_TOOL],
    { type: 'function_call', name: 'bash', arguments: '{"command": "head -n 1 notes.txt"}' },
    { uuid: 'term-1', trajectory_id: 7 },
  ),
  toolText: nemoGymRow([user('A table for 2 at 19:00, please.')], [BOOK], {
    type: 'function_call',
    name: 'book_table',
    arguments: '{"people": 2, "time": "19:00"}',
  }),
  toolObject: nemoGymRow(
    [
      user('A table for 4 at 20:00, please.'),
      assistantSays('msg_1', 'Booking now.'),
      call('c1', 'book_table', { people: 4, time: '20:00' }),
      output('c1', '{"error":"full"}'),
    ],
    [BOOK],
    { type: 'function_call', name: 'book_table', arguments: { people: 4, time: '21:00' } },
    { uuid: 'tool-2' },
  ),
  message: nemoGymRow(
    [user('Is the table booked?'), call('c1', 'book_table', { people: 2, time: '19:00' }), output('c1', '{"id":"T17"}')],
    [BOOK],
    { type: 'message', content: 'Booked: table T17 for 2 at 19:00.' },
    { uuid: 'msg-1' },
  ),
  swe: nemoGymRow(
    [
      user('Fix the off-by-one in range_sum (issue #12).'),
      call('c1', 'bash', { command: 'grep -n "def range_sum" -A3 calc.py' }),
      output('c1', '3:def range_sum(n):\n4:    return sum(range(n))'),
    ],
    [BASH_TOOL, EDITOR],
    { type: 'function_call', name: 'str_replace_editor', arguments: '{"command":"str_replace","path":"calc.py"}' },
    {
      uuid: 'swe-1',
      instance_id: 'calc__calc-12',
      patch: 'diff --git a/calc.py b/calc.py\n-    return sum(range(n))\n+    return sum(range(n + 1))\n',
    },
  ),
};

const imported = (format: RecordFormat, json: unknown, image?: string): ImportedRecord =>
  importRecord(format, JSON.parse(JSON.stringify(json)), { fallbackId: 'file.jsonl:1', image });
const only = (r: ImportedRecord) => {
  assert.equal(r.turns.length, 1);
  return r.turns[0];
};
const sample = (turnId: string, index: number, text: string): Sample => ({ turnId, index, text, logprobs: [] });

function writeFiles(files: Record<string, unknown[]>) {
  const dir = tempDir('pivotrl-byod-');
  for (const [name, rows] of Object.entries(files)) writeFileSync(join(dir, name), jsonl(rows));
  writeFileSync(join(dir, 'heldout.jsonl'), '');
  writeFileSync(join(dir, 'ood.jsonl'), jsonl(generateOodSuite({ seed: 1, n: 2 })));
  return dir;
}

test('NeMo-Gym rows as NeMo-Gym writes them: a terminal row replays, tool rows compare arguments, a message row takes the message rule', () => {
  const terminal = only(imported('nemo-gym', ROWS.terminal));
  assert.deepEqual(terminal, {
    turn: {
      id: 'term-1',
      trajectoryId: '7',
      index: 1,
      domain: 'terminal',
      task: { kind: 'replay', id: '7', template: 'imported-terminal', goal: 'Show the first line of notes.txt', maxTurns: 8 },
      history: [{ action: 'ls', output: 'notes.txt\n' }],
      expert: 'head -n 1 notes.txt',
    },
  });
  assert.equal(verificationOf(terminal.turn), 'replay');

  const text = only(imported('nemo-gym', ROWS.toolText)).turn;
  assert.equal(text.id, 'file.jsonl:1', 'a row without uuid is named by file and line');
  assert.equal(text.expert, 'call book_table {"people":2,"time":"19:00"}');
  const object = only(imported('nemo-gym', ROWS.toolObject)).turn;
  assert.equal(object.expert, 'call book_table {"people":4,"time":"21:00"}', 'arguments given as an object');
  assert.deepEqual(object.history, [
    { action: 'say Booking now.', output: '' },
    { action: 'call book_table {"people":4,"time":"20:00"}', output: '{"error":"full"}' },
  ]);
  assert.equal(object.index, 2);
  for (const t of [text, object]) {
    assert.equal(t.domain, 'tool');
    assert.ok(t.domain === 'tool' && t.task.backend === null && t.task.tools[0].function.name === 'book_table');
    assert.equal(verificationOf(t), 'arguments');
  }
  const message = only(imported('nemo-gym', ROWS.message));
  assert.equal(message.turn.expert, 'say Booked: table T17 for 2 at 19:00.');
  assert.equal(verificationOf(message.turn), 'message');
  assert.equal(message.unrebuilt, undefined, 'a reply needs no state: not counted as unrebuilt');
});

test('an SWE row (reference patch, no repository) is compared by arguments and counted as a state not rebuilt', () => {
  const swe = only(imported('nemo-gym', ROWS.swe));
  assert.equal(swe.unrebuilt, 'swe_repository');
  assert.equal(verificationOf(swe.turn), 'arguments');
  assert.ok(swe.turn.domain === 'tool' && swe.turn.task.template === 'imported-swe');
  assert.deepEqual(
    swe.turn.history.map((h) => h.action),
    ['call bash {"command":"grep -n \\"def range_sum\\" -A3 calc.py"}'],
  );
  // Even a pure bash SWE row is not replayed: the repository is not in any image it could name.
  const bashOnly = nemoGymRow(
    ROWS.swe.responses_create_params.input,
    [BASH_TOOL],
    { type: 'function_call', name: 'bash', arguments: '{"command":"ls"}' },
    { patch: 'diff' },
  );
  assert.equal(only(imported('nemo-gym', bashOnly)).unrebuilt, 'swe_repository');
});

test('a terminal turn whose state or action cannot be executed is compared instead, with the reason', () => {
  const input = [user('Tidy the folder'), call('c1', 'bash', { command: 'ls' }), output('c1', 'a\n')];
  const editorEarlier = nemoGymRow(
    [...input, call('c2', 'str_replace_editor', { command: 'view', path: 'a' }), output('c2', 'x')],
    [BASH_TOOL, EDITOR],
    {
      type: 'function_call',
      name: 'bash',
      arguments: '{"command":"rm a"}',
    },
  );
  const editorAction = nemoGymRow(input, [BASH_TOOL, EDITOR], {
    type: 'function_call',
    name: 'str_replace_editor',
    arguments: '{"command":"view","path":"a"}',
  });
  const twoCommands = nemoGymRow(input, [BASH_TOOL], {
    type: 'function_call_batch',
    calls: [
      { type: 'function_call', name: 'bash', arguments: '{"command":"ls"}' },
      { type: 'function_call', name: 'bash', arguments: '{"command":"pwd"}' },
    ],
  });
  // OpenHands' execute_bash with is_input types into a running process: not a command to replay.
  const typing = nemoGymRow(input, [], {
    type: 'function_call',
    name: 'execute_bash',
    arguments: '{"command":"y","is_input":"true"}',
  });
  const reasons = [editorEarlier, editorAction, twoCommands, typing].map((r) => only(imported('nemo-gym', r)).unrebuilt);
  assert.deepEqual(reasons, ['earlier_step_not_shell', 'action_not_shell', 'action_not_shell', 'action_not_shell']);
  // Other agents' shell tools replay like bash: OpenHands' execute_bash (with a timeout), a Codex-style `shell`.
  const openHands = nemoGymRow(input, [], { type: 'function_call', name: 'execute_bash', arguments: { command: 'wc -l a', timeout: 30 } });
  const codex = nemoGymRow([user('x'), call('c1', 'shell', { command: 'ls' }), output('c1', '')], [], {
    type: 'function_call',
    name: 'shell',
    arguments: '{"command":"pwd"}',
  });
  assert.deepEqual(
    [openHands, codex].map((r) => only(imported('nemo-gym', r)).turn).map((t) => [t.domain, t.expert, t.history.map((h) => h.action)]),
    [
      ['terminal', 'wc -l a', ['ls']],
      ['terminal', 'pwd', ['ls']],
    ],
  );
});

test('the sandbox image of a replay: the record names it, else the config, else none (the worker terminal image)', () => {
  const named = { ...ROWS.terminal, sandbox_image: 'acme/env:2' };
  const imageOf = (r: ImportedRecord) => {
    const t = only(r).turn;
    return t.domain === 'terminal' && t.task.kind === 'replay' ? (t.task.image ?? null) : 'not a replay';
  };
  assert.equal(imageOf(imported('nemo-gym', named, 'config/img:1')), 'acme/env:2');
  assert.equal(imageOf(imported('nemo-gym', ROWS.terminal, 'config/img:1')), 'config/img:1');
  assert.equal(imageOf(imported('nemo-gym', ROWS.terminal)), null);
  assert.throws(
    () => imported('nemo-gym', { ...ROWS.terminal, sandbox_image: 'Not An Image' }),
    (err: RecordError) => err.field === 'sandbox_image' && /Docker image reference/.test(err.reason),
  );
});

test('plain OpenAI chat: every assistant action is a turn; commands replay, the reply and other tools are compared', () => {
  const conversation = shellConversation(
    'Count the lines of notes.txt',
    [
      { command: "printf 'a\\nb\\n' > notes.txt", output: '' },
      { command: 'wc -l notes.txt', output: '2 notes.txt\n' },
    ],
    'notes.txt has 2 lines.',
    { id: 'conv-1', sandbox_image: 'acme/env:2' },
  );
  const r = imported('chat', conversation);
  assert.equal(r.withTask, false);
  assert.deepEqual(
    r.turns.map(({ turn }) => [turn.id, turn.index, turn.domain, verificationOf(turn), turn.expert]),
    [
      ['conv-1#0', 0, 'terminal', 'replay', "printf 'a\\nb\\n' > notes.txt"],
      ['conv-1#1', 1, 'terminal', 'replay', 'wc -l notes.txt'],
      ['conv-1#2', 2, 'tool', 'message', 'say notes.txt has 2 lines.'],
    ],
  );
  const second = r.turns[1].turn;
  assert.ok(second.domain === 'terminal' && second.task.kind === 'replay' && second.task.image === 'acme/env:2');
  assert.deepEqual(second.history, [{ action: "printf 'a\\nb\\n' > notes.txt", output: '' }]);

  // A tool-use conversation that goes on after a reply: the user's answer is what that reply observed. A called tool
  // missing from `tools` is offered without a schema; arguments may be objects.
  const shop = {
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Cancel my order.' }] },
      { role: 'assistant', content: 'Which order?' },
      { role: 'user', content: 'O-12' },
      {
        role: 'assistant',
        content: 'Cancelling.',
        tool_calls: [{ id: 't1', type: 'function', function: { name: 'cancel-order', arguments: { order_id: 'O-12' } } }],
      },
      { role: 'tool', tool_call_id: 't1', content: '{"status":"cancelled"}' },
      { role: 'assistant', content: 'Order O-12 is cancelled.' },
    ],
    tools: [chatTool('get_order', { order_id: { type: 'string' } })],
  };
  const turns = imported('chat', shop).turns.map((t) => t.turn);
  assert.deepEqual(
    turns.map((t) => [t.domain, t.expert]),
    [
      ['tool', 'say Which order?'],
      ['tool', 'call cancel-order {"order_id":"O-12"}'],
      ['tool', 'say Order O-12 is cancelled.'],
    ],
  );
  assert.deepEqual(turns[2].history, [
    { action: 'say Which order?', output: 'user: O-12' },
    { action: 'call cancel-order {"order_id":"O-12"}', output: '{"status":"cancelled"}' },
  ]);
  assert.ok(turns[0].domain === 'tool');
  assert.deepEqual(turns[0].domain === 'tool' && turns[0].task.tools.map((t) => t.function.name), ['get_order', 'cancel-order']);
  assert.equal(turns[0].task.goal, 'Cancel my order.');
});

test('imported turns export as rows of the contract and come back the same', () => {
  const turns = [
    ...imported('chat', shellConversation('g', [{ command: 'ls', output: 'a\n' }], 'done', { sandbox_image: 'acme/env:2' })).turns,
    ...Object.values(ROWS).map((row) => only(imported('nemo-gym', row))),
  ].map((t) => t.turn);
  for (const turn of turns) {
    const row = NemoGymPivotRow.parse(rowOfTurn(turn));
    assert.deepEqual(turnOfRow(NemoGymPivotRowInput.parse(JSON.parse(JSON.stringify(row))), 'unused'), turn);
  }
});

test("bad records: the error names the record's field", () => {
  const reject = (format: RecordFormat, json: unknown, field: string, reason: RegExp) =>
    assert.throws(
      () => imported(format, json),
      (err: unknown) => err instanceof RecordError && err.field === field && reason.test(err.reason),
      `${field} ${reason}`,
    );
  const chat = shellConversation('g', [{ command: 'ls', output: '' }], 'done');
  const messages = chat.messages as { role: string; tool_calls?: unknown[] }[];
  reject(
    'chat',
    {
      ...chat,
      messages: messages.map((m, i) =>
        i === 2 ? { ...m, tool_calls: [{ id: 'call_0', function: { name: 'bash', arguments: '{"command": ' } }] } : m,
      ),
    },
    'messages.2.tool_calls.0.function.arguments',
    /valid JSON/,
  );
  reject(
    'chat',
    { ...chat, messages: messages.map((m, i) => (i === 3 ? { ...m, tool_call_id: 'nope' } : m)) },
    'messages.3.tool_call_id',
    /no earlier tool call has id 'nope'/,
  );
  reject(
    'chat',
    {
      messages: [
        { role: 'system', content: 's' },
        { role: 'assistant', content: 'hi' },
      ],
    },
    'messages.1',
    /no user message before the first action/,
  );
  reject(
    'chat',
    {
      messages: [
        { role: 'user', content: 'u' },
        { role: 'assistant', content: '' },
      ],
    },
    'messages',
    /no assistant message with tool calls or text/,
  );
  reject(
    'chat',
    { ...chat, tools: [{ type: 'function', function: { name: 'two words', parameters: { type: 'object' } } }] },
    'tools.0.function.name',
    /letters, digits/,
  );
  reject('chat', { ...chat, id: 't', domain: 'terminal' }, 'task', /expected object/);
  reject(
    'nemo-gym',
    { ...ROWS.toolText, expected_action: { type: 'function_call', name: 'book_table', arguments: '[1, 2]' } },
    'expected_action.arguments',
    /JSON object/,
  );
  reject(
    'nemo-gym',
    { ...ROWS.toolText, expected_action: { type: 'function_call', name: 'book_table', arguments: 5 } },
    'expected_action.arguments',
    /expected string/,
  );
  reject(
    'nemo-gym',
    nemoGymRow([user('x'), call('c1', 'my tool', {}), output('c1', '')], [], { type: 'message', content: 'ok' }),
    'responses_create_params.input.1.name',
    /not a tool name/,
  );
  reject(
    'nemo-gym',
    nemoGymRow([system('only a system prompt')], [BOOK], { type: 'message', content: 'hi' }),
    'responses_create_params.input',
    /no user message/,
  );
  reject('nemo-gym', nemoGymRow([user('x')], [BOOK], { type: 'message', content: '  ' }), 'expected_action.content', /empty reply/);
});

test('imported turns are verified as NeMo-Gym verifies them: tool calls by argument comparison, replies by the message rule', async () => {
  const text = only(imported('nemo-gym', ROWS.toolText)).turn;
  const message = only(imported('nemo-gym', ROWS.message)).turn;
  const swe = only(imported('nemo-gym', ROWS.swe)).turn;
  const items = [
    {
      turn: text,
      samples: [
        sample(text.id, 0, 'call book_table {"time": "19:00", "people": 2}'),
        sample(text.id, 1, 'call book_table {"people": 3, "time": "19:00"}'),
        sample(text.id, 2, 'call cancel {"people": 2}'),
        sample(text.id, 3, 'say Booked.'),
      ],
    },
    {
      turn: message,
      samples: [
        sample(message.id, 0, 'say Your table T17 for 2 is booked at 19:00.'),
        sample(message.id, 1, 'say Booked: table T18 for 2 at 19:00.'),
      ],
    },
    {
      turn: swe,
      samples: [
        sample(swe.id, 0, 'call str_replace_editor {"path": "calc.py", "command": "str_replace"}'),
        sample(swe.id, 1, 'call bash {"command": "sed -i s/n))/n + 1))/ calc.py"}'),
      ],
    },
  ];
  const verdicts = await createVerifier('functional').verifyBatch(items);
  assert.deepEqual(
    verdicts.map((v) => [v.turnId, v.reward, v.reason]),
    [
      [text.id, 1, 'equivalent'],
      [text.id, 0, 'wrong_arguments'],
      [text.id, 0, 'wrong_tool'],
      [text.id, 0, 'message_instead_of_call'],
      [message.id, 1, 'equivalent'],
      [message.id, 0, 'message_differs'],
      [swe.id, 1, 'equivalent'],
      [swe.id, 0, 'wrong_tool'],
    ],
  );
});

test('a replayed turn is verified in a sandbox of the image it names, others in the worker terminal image', async () => {
  // A fake engine that knows no image: the batch stops at once, naming the image it needed.
  const asked: string[] = [];
  const docker = {
    ping: async () => 'OK',
    getImage: (name: string) => ({
      inspect: async () => {
        asked.push(name);
        throw Object.assign(new Error('no such image'), { statusCode: 404 });
      },
    }),
  } as unknown as DockerClient;
  const verifier = createVerifier('functional', { docker, image: 'pivotrl/terminal:test' });
  const named = only(imported('nemo-gym', { ...ROWS.terminal, sandbox_image: 'acme/env:2' })).turn;
  const plain = only(imported('nemo-gym', ROWS.terminal)).turn;
  for (const [turn, image] of [
    [named, 'acme/env:2'],
    [plain, 'pivotrl/terminal:test'],
  ] as const) {
    await assert.rejects(
      verifier.verifyBatch([{ turn, samples: [sample(turn.id, 0, 'head -1 notes.txt')] }]),
      new RegExp(`sandbox image ${image} is missing`),
    );
  }
  assert.deepEqual(asked, ['acme/env:2', 'pivotrl/terminal:test']);
});

test('ingest of foreign files: turns in the shards, per-file counts, and how every turn is verified', async () => {
  const dir = writeFiles({
    'rows.jsonl': Object.values(ROWS),
    'chat.jsonl': [
      shellConversation('Count lines', [{ command: 'wc -l a', output: '1 a' }], 'One line.'),
      { messages: [{ role: 'user', content: 'x' }] },
    ],
  });
  const store = new LocalStore(join(dir, 'store'));
  const result = await ingest(store, {
    campaignId: 'byod',
    trajectories: [join(dir, 'rows.jsonl'), { path: join(dir, 'chat.jsonl'), format: 'chat', image: 'acme/env:3' }],
    heldoutTasks: join(dir, 'heldout.jsonl'),
    ood: join(dir, 'ood.jsonl'),
    shardSize: 4,
    heldoutLimit: 1,
    oodLimit: 2,
  });
  assert.deepEqual(
    result.sources.map((s) => [s.format, s.records, s.plain, s.badRecords, s.turns]),
    [
      ['nemo-gym', 5, 5, 0, 5],
      ['chat', 1, 1, 1, 2],
    ],
  );
  const expected = noVerifications();
  Object.assign(expected.turns, { replay: 2, arguments: 3, message: 2 });
  expected.unrebuilt.swe_repository = 1;
  assert.deepEqual(result.verification, expected);
  assert.deepEqual(
    result.badExamples.map((b) => [b.line, b.field]),
    [[2, 'messages']],
  );
  const turns = (await Promise.all(result.shards.map((s) => getJsonl(store, s.turns, (v) => Turn.parse(v))))).flat();
  assert.equal(turns.length, 7);
  const replayedChat = turns.find((t) => t.id === 'chat.jsonl:1#0');
  assert.ok(replayedChat?.domain === 'terminal' && replayedChat.task.kind === 'replay' && replayedChat.task.image === 'acme/env:3');
});

test('a config names the sandbox image of a file whose terminal trajectories come without a task', () => {
  const dir = tempDir('pivotrl-byod-config-');
  const path = join(dir, 'campaign.json');
  const config = (source: unknown) => ({
    name: 'byod',
    data: { trajectories: [source], heldoutTasks: 'h.jsonl', ood: 'o.jsonl' },
    policy: { base: 'models/pi0' },
    profile: {},
    train: {},
    evaluate: {},
  });
  writeFileSync(path, JSON.stringify(config({ path: 'rows.jsonl', format: 'nemo-gym', image: 'registry.local:5000/team/env:v1' })));
  assert.deepEqual(loadCampaignConfig(path).data.trajectories, [
    { path: join(dir, 'rows.jsonl'), format: 'nemo-gym', image: 'registry.local:5000/team/env:v1' },
  ]);
  writeFileSync(path, JSON.stringify(config({ path: 'rows.jsonl', image: 'team/env:bad tag' })));
  assert.throws(() => loadCampaignConfig(path), /data\.trajectories\.0\.image: a Docker image reference/);
});
