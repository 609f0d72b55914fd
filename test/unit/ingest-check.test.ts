// `pivotrl ingest --check FILE...`: files validated without a campaign; every bad line as file:line:field, counts per
// format, how the turns will be verified; exit status 1 when any line is bad, 0 otherwise, 2 for a usage error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateTerminalSuite } from '../../tasks/terminal/suite';
import { BASH_TOOL, call, jsonl, nemoGymRow, output, shellConversation, user } from '../support/foreign-data';
import { tempDir } from '../../harness/temp-dir';

const cli = (...args: string[]) => spawnSync('npx', ['tsx', 'cli/pivotrl.ts', 'ingest', ...args], { encoding: 'utf8' });

function files() {
  const dir = tempDir('pivotrl-check-');
  const write = (name: string, rows: unknown[]) => {
    writeFileSync(join(dir, name), jsonl(rows));
    return join(dir, name);
  };
  const terminalRow = nemoGymRow([user('Show a.txt'), call('c1', 'bash', { command: 'ls' }), output('c1', 'a.txt')], [BASH_TOOL], {
    type: 'function_call',
    name: 'bash',
    arguments: { command: 'cat a.txt' },
  });
  const swe = {
    ...terminalRow,
    patch: 'diff --git a/a.txt b/a.txt',
    expected_action: { type: 'function_call', name: 'bash', arguments: '{"command":"cat a.txt"}' },
  };
  const rows = write('rows.jsonl', [
    terminalRow,
    swe,
    { ...terminalRow, expected_action: { type: 'message', content: 'a.txt holds the notes.' } },
  ]);
  const chat = write('chat.jsonl', [
    shellConversation('Count lines', [{ command: 'wc -l a', output: '1 a' }], 'One line.'),
    generateTerminalSuite({ seed: 1, trainTasks: 1, heldoutTasks: 0 }).train[0],
  ]);
  const bad = write('bad.jsonl', [
    shellConversation('g', [{ command: 'ls', output: '' }], 'done'),
    '{"messages": [',
    {
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'tool', tool_call_id: 'c9', content: 'x' },
        { role: 'assistant', content: 'ok' },
      ],
    },
    {
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', tool_calls: [{ id: 'a', function: { name: 'f', arguments: '[1]' } }] },
      ],
    },
  ]);
  return { dir, rows, chat, bad };
}

test('`ingest --check` on good files: counts per file and format, how each turn is verified, exit status 0', () => {
  const f = files();
  const r = cli('--check', f.rows, f.chat);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 4), [
    `${f.rows}: nemo-gym: 3 records (3 without a task block), 3 turns, 0 bad lines`,
    `${f.chat}: chat: 2 records (1 without a task block), ${lines[1].match(/(\d+) turns/)![1]} turns, 0 bad lines`,
    'nemo-gym: 1 file, 3 records (3 without a task block), 3 turns, 0 bad lines',
    lines[3],
  ]);
  assert.match(lines[3], /^chat: 1 file, 2 records \(1 without a task block\), \d+ turns, 0 bad lines$/);
  assert.match(
    lines[4],
    /^verified by: sandbox \d+, replay 2, arguments 1, message 2 \(state not rebuilt, compared instead: 1 — swe_repository 1\)$/,
  );
});

test('`ingest --check` reports every bad line as file:line:field with the reason, and exits 1', () => {
  const f = files();
  const r = cli('--check', f.bad, join(f.dir, 'missing.jsonl'), '--format', 'auto');
  assert.equal(r.status, 1, r.stderr + r.stdout);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 3), [
    `${f.bad}:2:(record): invalid JSON: ${lines[0].split('invalid JSON: ')[1]}`,
    `${f.bad}:3:messages.1.tool_call_id: no earlier tool call has id 'c9'`,
    `${f.bad}:4:messages.1.tool_calls.0.function.arguments: must be a JSON object`,
  ]);
  assert.match(lines[0], /:2:\(record\): invalid JSON: /);
  assert.ok(lines.includes(`${f.bad}: chat: 1 record (1 without a task block), 2 turns, 3 bad lines`), r.stdout);
  assert.ok(lines.some((l) => l.startsWith(`${join(f.dir, 'missing.jsonl')}: unreadable: `)));
});

test('`ingest` without --check, or --check without files or with a bad image, is a usage error (exit status 2)', () => {
  const f = files();
  const noCheck = cli(f.rows);
  assert.equal(noCheck.status, 2);
  assert.match(noCheck.stderr, /only --check runs outside a campaign/);
  assert.equal(cli('--check').status, 2);
  const image = cli('--check', f.rows, '--image', 'Bad Image');
  assert.equal(image.status, 2);
  assert.match(image.stderr, /image: a Docker image reference/);
});
