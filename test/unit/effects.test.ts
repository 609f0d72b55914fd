// Pure comparison of action effects (no Docker).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { compareEffects, isSelfOrParentEntry, lineCarries, missingLines, outputLines } from '../../verifiers/effects';
import { diffManifests, type FileChange } from '../../sandboxes/terminal';
import type { ManifestEntry } from '../../sandboxes/manifest';
import { effect } from '../support/effects';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const dir = (path: string, change: FileChange['change'] = 'added', mode = 0o755): FileChange => ({
  path,
  change,
  kind: 'd',
  mode,
  sha256: null,
});
const file = (path: string, content: string, change: FileChange['change'] = 'added', mode = 0o644): FileChange => ({
  path,
  change,
  kind: 'f',
  mode,
  sha256: sha(content),
});

test('ls vs ls -a: the same names; . and .. are not required (issue #17)', () => {
  const ls = effect({ output: 'notes.txt\nsrc\n' });
  const lsA = effect({ output: '.\n..\nnotes.txt\nsrc\n' });
  assert.deepEqual(compareEffects(ls, lsA), { equivalent: true, reason: 'equivalent', detail: '' });
  assert.deepEqual(compareEffects(lsA, ls), { equivalent: true, reason: 'equivalent', detail: '' });
});

test('ls for ls -a misses a hidden file the expert saw', () => {
  const lsA = effect({ output: '.\n..\n.env\nnotes.txt\n' });
  const c = compareEffects(lsA, effect({ output: 'notes.txt\n' }));
  assert.equal(c.reason, 'missing_output');
  assert.match(c.detail, /^1 expected line\(s\) missing, e\.g\. "\.env"/);
});

test('ls -l for ls -la: the . and .. rows are not required, every other row is', () => {
  const lsLa = [
    'total 12',
    'drwxr-xr-x 3 agent agent 100 Dec 5 10:00 .',
    'drwxrwxrwt 4 root root 80 Dec 5 09:59 ..',
    '-rw-r--r-- 1 agent agent 11 Dec 5 10:00 notes.txt',
    'drwxr-xr-x 2 agent agent 60 Dec 5 10:00 src',
  ].join('\n');
  const lsL = ['total 12', '-rw-r--r-- 1 agent agent 11 Dec 5 10:00 notes.txt', 'drwxr-xr-x 2 agent agent 60 Dec 5 10:00 src'].join('\n');
  assert.equal(compareEffects(effect({ output: lsLa }), effect({ output: lsL })).equivalent, true);
  assert.equal(compareEffects(effect({ output: lsLa }), effect({ output: lsL.replace(/\nd.*src$/, '') })).reason, 'missing_output');
});

test("only a listing's own . and .. entries are not required", () => {
  assert.equal(isSelfOrParentEntry('.'), true);
  assert.equal(isSelfOrParentEntry('..'), true);
  assert.equal(isSelfOrParentEntry('drwxr-xr-x 2 agent agent 60 Dec 5 10:00 ..'), true);
  assert.equal(isSelfOrParentEntry('drwxr-xr-x+ 2 agent agent 60 Dec 5 10:00 .'), true);
  for (const line of [
    '...',
    '.env',
    './notes.txt',
    // A link named up that points to the parent is a real entry.
    'lrwxrwxrwx 1 agent agent 2 Dec 5 10:00 up -> ..',
    '-rw-r--r-- 1 agent agent 11 Dec 5 10:00 .',
    'the end .',
    'total 12',
  ]) {
    assert.equal(isSelfOrParentEntry(line), false, line);
  }
});

test('ls -l does not carry ls: the names close its rows', () => {
  const c = compareEffects(effect({ output: 'notes.txt\n' }), effect({ output: '-rw-r--r-- 1 agent agent 11 Dec 5 10:00 notes.txt\n' }));
  assert.equal(c.reason, 'missing_output');
});

test('wc -l data5.csv carries wc -l < data5.csv; a wrong count does not (issue #17)', () => {
  const count = effect({ output: '12\n' });
  assert.equal(compareEffects(count, effect({ output: '12 data5.csv\n' })).equivalent, true);
  assert.equal(compareEffects(count, effect({ output: '13 data5.csv\n' })).reason, 'missing_output');
  assert.equal(compareEffects(count, effect({ output: '13\n' })).reason, 'missing_output');
  // The other way round, the file name the expert saw is missing.
  assert.equal(compareEffects(effect({ output: '12 data5.csv\n' }), count).reason, 'missing_output');
});

test('a line carries an expected line that opens it, whole tokens only', () => {
  assert.equal(lineCarries('12', '12'), true);
  assert.equal(lineCarries('12', '12 data5.csv'), true);
  assert.equal(lineCarries('12 data5.csv', '12 data5.csv total'), true);
  for (const near of ['112', '1 2', '120', '12data5.csv', '12,3', 'x 12', 'x 12 y', '-rw-r--r-- 1 agent agent 12 Dec 5 10:00 a.txt', '']) {
    assert.equal(lineCarries('12', near), false, near);
  }
  assert.equal(lineCarries('12 data5.csv', '12 data6.csv'), false);
  assert.equal(lineCarries('12 data5.csv', '12'), false);
});

test('carrying lines are matched one to one', () => {
  // Two expected counts need two lines that carry them.
  assert.deepEqual(missingLines(['12', '12'], ['12 a.csv']), ['12']);
  assert.deepEqual(missingLines(['12', '12'], ['12 a.csv', '12 b.csv']), []);
  // An exact copy and a carrying line are both used.
  assert.deepEqual(missingLines(['12', '12'], ['12', '12 b.csv']), []);
  // Greedy would give `a` the line `a b x` and leave `a b` without one; the matching finds `a` in `a c`.
  assert.deepEqual(missingLines(['a', 'a b'], ['a b x', 'a c']), []);
  assert.equal(missingLines(['a', 'a b'], ['a b x']).length, 1);
});

test('mkdir -p a/b vs mkdir a && mkdir a/b: same tree, equivalent', () => {
  const p = effect({ changes: [dir('a'), dir('a/b')] });
  const twoSteps = effect({ changes: [dir('a'), dir('a/b')] });
  assert.equal(compareEffects(p, twoSteps).equivalent, true);
  // mkdir a alone misses a/b.
  const c = compareEffects(p, effect({ changes: [dir('a')] }));
  assert.equal(c.reason, 'different_files');
  assert.match(c.detail, /a\/b/);
});

test('different file content is different_files', () => {
  const c = compareEffects(effect({ changes: [file('out.txt', 'hello\n')] }), effect({ changes: [file('out.txt', 'hello')] }));
  assert.equal(c.equivalent, false);
  assert.equal(c.reason, 'different_files');
  assert.match(c.detail, /out\.txt/);
});

test('different mode is different_files', () => {
  const c = compareEffects(
    effect({ changes: [file('run.sh', '#!/bin/sh\n', 'modified', 0o755)] }),
    effect({ changes: [file('run.sh', '#!/bin/sh\n', 'modified', 0o744)] }),
  );
  assert.equal(c.reason, 'different_files');
});

test('an extra side effect is different_files', () => {
  const expert = effect({ changes: [file('a.txt', 'x')] });
  const c = compareEffects(expert, effect({ changes: [file('a.txt', 'x'), file('stray.log', '')] }));
  assert.equal(c.reason, 'different_files');
  assert.match(c.detail, /unexpected: added file stray\.log/);
  // A removal the expert did not do, too.
  assert.equal(compareEffects(expert, effect({ changes: [file('a.txt', 'x'), file('b.txt', 'y', 'removed')] })).reason, 'different_files');
});

test('the order of output lines does not matter; whitespace is normalised', () => {
  const expert = effect({ output: 'b 2\na 1\nc 3\n' });
  assert.equal(compareEffects(expert, effect({ output: 'a    1\n\n  c 3\t\nb 2' })).equivalent, true);
});

test('output lines are a multiset: a line the expert saw twice must appear twice', () => {
  const expert = effect({ output: 'x\nx\ny\n' });
  assert.equal(compareEffects(expert, effect({ output: 'x\ny\n' })).reason, 'missing_output');
  assert.equal(compareEffects(expert, effect({ output: 'y\nx\nz\nx\n' })).equivalent, true);
  assert.deepEqual(missingLines(['x', 'x', 'y'], ['x', 'y']), ['x']);
});

test('exit status: success must agree', () => {
  assert.equal(compareEffects(effect(), effect({ exitCode: 1, output: 'cat: nope: No such file or directory\n' })).reason, 'nonzero_exit');
  assert.equal(compareEffects(effect({ exitCode: 2 }), effect({ exitCode: 0 })).reason, 'exit_status_differs');
  // Both failing (with different codes) is fine when the rest matches.
  assert.equal(compareEffects(effect({ exitCode: 1, output: 'e\n' }), effect({ exitCode: 2, output: 'e\n' })).equivalent, true);
});

test('timeout, OOM, pids limit and leftover processes', () => {
  assert.equal(compareEffects(effect(), effect({ timedOut: true, exitCode: 137 })).reason, 'timeout');
  assert.equal(compareEffects(effect(), effect({ oomKilled: true, exitCode: 137 })).reason, 'resource_limit');
  assert.equal(compareEffects(effect(), effect({ pidsLimitHit: true })).reason, 'resource_limit');
  assert.equal(compareEffects(effect(), effect({ fileSizeLimitHit: true, exitCode: 153 })).reason, 'resource_limit');
  // A resource limit is the more specific cause when the action also ran out of time.
  assert.equal(compareEffects(effect(), effect({ pidsLimitHit: true, timedOut: true })).reason, 'resource_limit');
  const bomb = compareEffects(effect(), effect({ leftoverProcesses: 90 }));
  assert.equal(bomb.reason, 'resource_limit');
  assert.match(bomb.detail, /90 process/);
  // Leaving a process running is fine when the expert did too.
  assert.equal(compareEffects(effect({ leftoverProcesses: 1 }), effect({ leftoverProcesses: 1 })).equivalent, true);
});

test('a truncated output drops its partial last line', () => {
  assert.deepEqual(outputLines('a\nb\npart', true), ['a', 'b']);
  assert.deepEqual(outputLines('a\r\n  b  \n\n', false), ['a', 'b']);
});

test('diffManifests: added, removed, modified (content, mode, kind), unchanged', () => {
  const m = (path: string, kind: ManifestEntry['kind'], mode: number, content?: string): ManifestEntry => ({
    path,
    kind,
    mode,
    sha256: content === undefined ? null : sha(content),
  });
  const before = [
    m('a', 'd', 0o755),
    m('a/x', 'f', 0o644, 'x'),
    m('b', 'f', 0o644, 'b'),
    m('c', 'f', 0o644, 'c'),
    m('d', 'f', 0o644, 'd'),
    m('e', 'f', 0o644, 'e'),
  ];
  const after = [
    m('a', 'd', 0o755),
    m('a/x', 'f', 0o644, 'x'),
    m('b', 'f', 0o644, 'B'),
    m('c', 'f', 0o600, 'c'),
    m('e', 'd', 0o755),
    m('new', 'l', 0o777, 'target'),
  ];
  assert.deepEqual(diffManifests(before, after), [
    { path: 'b', change: 'modified', kind: 'f', mode: 0o644, sha256: sha('B') },
    { path: 'c', change: 'modified', kind: 'f', mode: 0o600, sha256: sha('c') },
    { path: 'd', change: 'removed', kind: 'f', mode: 0o644, sha256: sha('d') },
    { path: 'e', change: 'modified', kind: 'd', mode: 0o755, sha256: null },
    { path: 'new', change: 'added', kind: 'l', mode: 0o777, sha256: sha('target') },
  ]);
  assert.deepEqual(diffManifests(before, before), []);
});
