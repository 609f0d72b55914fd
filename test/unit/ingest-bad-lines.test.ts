// Ingest of a file that mixes good and bad lines: every good line is ingested, every bad one reported with its
// line and field, quarantined with a bounded excerpt, and the reading is byte-exact (CRLF, UTF-8, long lines).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isUtf8 } from 'node:buffer';
import { LocalStore, getJsonl } from '../../store';
import { BadInputError, ingest, type IngestOptions } from '../../pipeline/ingest';
import { RAW_LIMIT_BYTES, firstInvalidUtf8, readJsonLines } from '../../pipeline/jsonl-reader';
import { BadRecord } from '../../pipeline/quarantine';
import { generateTerminalSuite } from '../../tasks/terminal/suite';
import { generateOodSuite } from '../../tasks/ood';
import { Turn } from '../../core/schemas';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { ingestStage } from '../../activities/ingest';
import { generateToolSuite } from '../../tasks/tool/suite';
import { noVerifications } from '../../core/turn-verification';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../pipeline/json-depth';
import { tempDir } from '../../harness/temp-dir';

const TEN_MB = 10 * 1024 * 1024;

function fixture() {
  const dir = tempDir('pivotrl-bad-lines-');
  const suite = generateTerminalSuite({ seed: 7, trainTasks: 8, heldoutTasks: 2 });
  const [t0, t1, t2, t3, t4, t5, t6] = suite.train;
  const unicodeGoal = 'Räume /work auf ✓ — 整理 😀';
  const good1 = { ...t1, task: { ...t1.task, goal: unicodeGoal } };
  const json = (v: unknown) => JSON.stringify(v);

  // A valid record whose goal holds a byte sequence that is not UTF-8 (0xC3 0x28: a lead byte without continuation).
  const marker = 'INVALID_BYTES_HERE';
  const [before, after] = json({ ...t4, task: { ...t4.task, goal: marker } }).split(marker);
  const invalidAt = Buffer.byteLength(before);
  // A valid record of more than 10 MB (its goal is one long string).
  const huge = json({ ...t5, task: { ...t5.task, goal: 'x'.repeat(TEN_MB) } });
  const nestedWrongType = { ...t6, messages: t6.messages.map((m, i) => (i === 3 ? { ...m, content: 5 } : m)) };
  const badArguments = {
    ...t2,
    id: 'bad-args',
    messages: t2.messages.map((m) =>
      m.role === 'assistant' && m.tool_calls
        ? { ...m, tool_calls: [{ ...m.tool_calls[0], function: { name: 'bash', arguments: '{not json' } }] }
        : m,
    ),
  };
  const { task: _task, ...missingTask } = t3;

  const lines: (string | Buffer)[] = [
    json(t0) + '\n', // 1 good
    '{"id": "trunc\n', // 2 truncated JSON
    json(good1) + '\r\n', // 3 good, CRLF, non-ASCII text
    json({ ...t3, id: 42 }) + '\r\n', // 4 wrong type
    '\n', // 5 blank
    json(missingTask) + '\n', // 6 missing field
    Buffer.concat([Buffer.from(before), Buffer.from([0xc3, 0x28]), Buffer.from(after), Buffer.from('\n')]), // 7 invalid UTF-8
    huge + '\n', // 8 a 10 MB line
    '  \t \r\n', // 9 blank (whitespace, CRLF)
    json(nestedWrongType) + '\n', // 10 wrong type of a nested field
    json(t2) + '\n', // 11 good
    json(badArguments) + '\n', // 12 tool call arguments that are not JSON
    json(t3) + '\r', // 13 good, CR at the end of the file and no LF
  ];
  const trajectories = join(dir, 'train.jsonl');
  writeFileSync(trajectories, Buffer.concat(lines.map((l) => (typeof l === 'string' ? Buffer.from(l) : l))));
  const heldoutTasks = join(dir, 'heldout.jsonl');
  writeFileSync(heldoutTasks, suite.heldout.map((t) => json(t) + '\n').join(''));
  const ood = join(dir, 'ood.jsonl');
  writeFileSync(
    ood,
    generateOodSuite({ seed: 1, n: 3 })
      .map((t) => json(t) + '\n')
      .join(''),
  );
  const opts: IngestOptions = {
    campaignId: 'bad-lines',
    trajectories: [trajectories],
    heldoutTasks,
    ood,
    shardSize: 3,
    heldoutLimit: 10,
    oodLimit: 10,
    quarantinePartRecords: 3,
  };
  const goodTrajectories = [t0, good1, t2, t3];
  return {
    dir,
    trajectories,
    opts,
    goodTrajectories,
    unicodeGoal,
    invalidAt,
    hugeBytes: Buffer.byteLength(huge),
    store: new LocalStore(join(dir, 'store')),
  };
}

test('a file mixing good and bad lines: every good line is ingested, every bad one reported with line and field', async () => {
  const f = fixture();
  const result = await ingest(f.store, f.opts);

  const expectedIds = f.goodTrajectories.flatMap((t) => t.messages.filter((m) => m.role === 'tool').map((_, i) => `${t.id}#${i}`));
  const shardTurns = (await Promise.all(result.shards.map((s) => getJsonl(f.store, s.turns, (v) => Turn.parse(v))))).flat();
  assert.deepEqual(
    shardTurns.map((t) => t.id),
    expectedIds,
  );
  assert.equal(result.trajectories, 4);
  assert.equal(result.turns, expectedIds.length);
  assert.ok(result.shards.every((s) => s.count <= 3));
  assert.equal(
    shardTurns.find((t) => t.trajectoryId === f.goodTrajectories[1].id)?.task.goal,
    f.unicodeGoal,
    'UTF-8 text decoded byte-exact',
  );
  const verification = noVerifications();
  verification.turns.sandbox = expectedIds.length; // generated terminal tasks: executed at their workspace's state
  assert.deepEqual(result.sources, [
    { path: f.trajectories, format: 'chat', records: 4, badRecords: 7, turns: expectedIds.length, plain: 0, verification },
  ]);
  assert.deepEqual(result.verification, verification);

  const bad = (await Promise.all(result.quarantine.map((key) => getJsonl(f.store, key, (v) => BadRecord.parse(v))))).flat();
  assert.equal(result.quarantine.length, 3, 'the quarantine is written in parts of 3 records');
  assert.deepEqual(
    bad.map((b) => [b.file, b.line, b.field]),
    [
      [f.trajectories, 2, '(record)'],
      [f.trajectories, 4, 'id'],
      [f.trajectories, 6, 'task'],
      [f.trajectories, 7, '(record)'],
      [f.trajectories, 8, '(record)'],
      [f.trajectories, 10, 'messages.3.content'],
      [f.trajectories, 12, 'messages'],
    ],
  );
  const byLine = new Map(bad.map((b) => [b.line, b]));
  assert.match(byLine.get(2)!.reason, /invalid JSON/);
  assert.equal(byLine.get(7)!.reason, `invalid UTF-8 at byte ${f.invalidAt} of the line`);
  assert.match(byLine.get(8)!.reason, new RegExp(`line is ${f.hugeBytes} bytes, over the limit of ${8 * 1024 * 1024} bytes`));
  assert.equal(byLine.get(8)!.bytes, f.hugeBytes);
  assert.match(byLine.get(12)!.reason, /JSON/);
  for (const b of bad) assert.ok(Buffer.byteLength(b.raw ?? '') <= RAW_LIMIT_BYTES, `line ${b.line}: raw excerpt is bounded`);
  assert.ok(byLine.get(8)!.raw!.startsWith('{"id":'));

  assert.equal(result.badRecords, 7);
  assert.equal(result.badExamples.length, 5);
  assert.ok(
    result.badExamples.every((b) => b.raw === undefined),
    'examples in the result carry no raw text',
  );
  assert.equal(result.heldoutCount, 2);
  assert.equal(result.oodCount, 3);
});

test('the reader gives the same lines whatever the chunking, and bounds what it holds of a long line', async () => {
  const dir = tempDir('pivotrl-reader-');
  const file = join(dir, 'lines.jsonl');
  const content = ['{"a":1}\r\n', '\r\n', '{"b":"é✓"}\n', 'y'.repeat(100) + '\r\n', '{"c":3}\r\n', 'z'.repeat(64) + '\n', '{"d":4}'].join(
    '',
  );
  writeFileSync(file, content);
  const read = async (chunkBytes: number) => {
    const out = [];
    for await (const l of readJsonLines(file, { maxLineBytes: 64, chunkBytes })) out.push(l);
    return out;
  };
  const whole = await read(1 << 20);
  assert.deepEqual(
    whole.map((l) => [l.line, l.text ?? l.problem?.reason]),
    [
      [1, '{"a":1}'],
      [3, '{"b":"é✓"}'],
      [4, 'line is 100 bytes, over the limit of 64 bytes'],
      [5, '{"c":3}'],
      [6, 'z'.repeat(64)],
      [7, '{"d":4}'],
    ],
  );
  for (const chunk of [1, 2, 3, 7, 64, 65]) assert.deepEqual(await read(chunk), whole, `chunks of ${chunk} bytes`);
});

test('invalid UTF-8 is found at its byte, valid sequences of every length pass', () => {
  const cases: [number[], number][] = [
    [[0x61, 0xc3, 0xa9, 0x62], -1], // é
    [[0xe2, 0x9c, 0x93], -1], // ✓
    [[0xf0, 0x9f, 0x98, 0x80], -1], // 😀
    [[0x61, 0xff], 1],
    [[0x61, 0x62, 0xc0, 0x80], 2], // overlong NUL
    [[0xed, 0xa0, 0x80], 0], // a UTF-16 surrogate
    [[0x61, 0xe2, 0x9c], 1], // cut short at the end
    [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
    [[0xc3, 0x28], 0],
  ];
  for (const [bytes, at] of cases) {
    const buf = Buffer.from(bytes);
    assert.equal(firstInvalidUtf8(buf), at, `${buf.toString('hex')}`);
    assert.equal(isUtf8(buf), at === -1);
  }
});

test('an unreadable input file (missing, a directory) fails with a bad-input error naming it', async () => {
  const f = fixture();
  const dirPath = join(f.dir, 'a-directory.jsonl');
  mkdirSync(dirPath);
  for (const path of [join(f.dir, 'missing.jsonl'), dirPath]) {
    await assert.rejects(ingest(f.store, { ...f.opts, trajectories: [path] }), (err: Error) => {
      assert.ok(err instanceof BadInputError, `${path}: ${err}`);
      assert.ok(err.message.includes(path), err.message);
      return true;
    });
  }
  await assert.rejects(ingest(f.store, { ...f.opts, heldoutTasks: dirPath }), BadInputError);
});

test('a file without read permission fails with a bad-input error naming it', async () => {
  const dir = tempDir('pivotrl-locked-');
  chmodSync(dir, 0o755);
  const locked = join(dir, 'locked.jsonl');
  writeFileSync(locked, '{}\n');
  chmodSync(locked, 0o000);
  if (process.getuid?.() !== 0) {
    await assert.rejects(
      readJsonLines(locked, { maxLineBytes: 100 }).next(),
      (err: Error) => err instanceof BadInputError && err.message.includes(locked),
    );
    return;
  }
  // Permissions do not stop root: read it as `nobody` in a child process.
  const probe = join(dir, 'probe.mts');
  const reader = fileURLToPath(new URL('../../pipeline/jsonl-reader.ts', import.meta.url));
  writeFileSync(
    probe,
    `import { readJsonLines } from ${JSON.stringify(reader)};
try { await readJsonLines(process.argv[2], { maxLineBytes: 100 }).next(); console.log('read'); }
catch (e) { console.log(e.name + ': ' + e.message); }`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', probe, locked], {
    uid: 65534,
    gid: 65534,
    encoding: 'utf8',
    env: { ...process.env, HOME: dir },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^BadInputError: ${locked}: cannot read: EACCES`));
});

test('a line whose tool schema nests 20,000 deep is quarantined with its line; the good lines are ingested', async () => {
  const f = fixture();
  const [first, second, third] = generateToolSuite({ seed: 5, trainTasks: 3, heldoutTasks: 1 }).train;
  const [tool, ...others] = second.task.tools;
  const deepTool = { ...tool, function: { ...tool.function, parameters: { type: 'object', properties: { x: '__DEEP__' } } } };
  const hostile = { ...second, task: { ...second.task, tools: [deepTool, ...others] } };
  const line2 = JSON.stringify(hostile).replace('"__DEEP__"', () => nestedJson(20_000));
  const file = join(f.dir, 'deep.jsonl');
  writeFileSync(file, [JSON.stringify(first), line2, JSON.stringify(third)].join('\n') + '\n');
  const result = await ingest(f.store, { ...f.opts, campaignId: 'deep', trajectories: [file] });
  assert.equal(result.trajectories, 2);
  assert.equal(result.badRecords, 1);
  const [bad] = result.badExamples;
  assert.deepEqual([bad.file, bad.line, bad.field], [file, 2, '(record)']);
  assert.match(bad.reason, new RegExp(`nested deeper than ${MAX_JSON_DEPTH} levels`));
});

/** A JSON Schema `depth` levels deep, built as text (nothing recurses to build or print it). */
const nestedJson = (depth: number) =>
  '{"type":"object","properties":{"x":'.repeat(depth - 1) + '{"type":"string"}' + '}}'.repeat(depth - 1);

test('nesting depth counts arrays and objects, not brackets inside strings', () => {
  assert.equal(nestsDeeperThan('[[{"a":[1]}]]', 4), false);
  assert.equal(nestsDeeperThan('[[{"a":[[1]]}]]', 4), true);
  assert.equal(nestsDeeperThan(JSON.stringify({ s: '[[[[[[\\"{{{{' }), 1), false);
  assert.equal(nestsDeeperThan(nestedJson(20_000), MAX_JSON_DEPTH), true);
});

test('at the activity, an unreadable input file is a non-retryable failure naming the file', async () => {
  const f = fixture();
  process.env.PIVOTRL_DATA_ROOTS = f.dir; // the worker reads data only under its data roots
  const base = join(f.dir, 'pi0');
  mkdirSync(base);
  writeFileSync(join(base, 'model.json'), '{}');
  writeFileSync(join(base, 'weights.bin'), '');
  const missing = join(f.dir, 'missing.jsonl');
  const { campaignId: _, ...opts } = f.opts;
  const input = {
    ...opts,
    campaignId: 'activity',
    store: { kind: 'local' as const, root: f.store.root },
    trajectories: [missing],
    baseCheckpoint: base,
  };
  await assert.rejects(new MockActivityEnvironment().run(ingestStage, input), (err: Error) => {
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.nonRetryable, true);
    assert.equal(err.type, 'BadInput');
    assert.ok(err.message.includes(missing), err.message);
    return true;
  });
});
