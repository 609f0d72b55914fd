import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const cli = (...args: string[]) =>
  spawnSync('npx', ['tsx', 'cli/pivotrl.ts', ...args], { encoding: 'utf8', env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' } });

test('`pivotrl run` refuses an invalid config at once, naming file and field, without contacting Temporal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pivotrl-cli-'));
  const path = join(dir, 'bad.json');
  writeFileSync(path, JSON.stringify({ name: 'Bad Name', data: {}, policy: {}, profile: { k: 0 }, train: {}, evaluate: {} }));
  const r = cli('run', '--config', path);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${path}: name:`));
  assert.match(r.stderr, /profile\.k:/);
  assert.match(r.stderr, /data\.trajectories:/);
});

test('`pivotrl set` refuses a value that is not a number, naming the option, without contacting Temporal', () => {
  const r = cli('set', 'wf-any', '--kl-beta', 'abc');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /set: --kl-beta expects a number, not 'abc'/);
});

test('`pivotrl generate` writes the suites', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pivotrl-cli-'));
  const r = cli('generate', '--out', dir, '--train', '8', '--heldout', '2', '--ood', '5');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote 8 trajectories, 2 held-out tasks and 5 OOD items/);
});

test('`npx pivotrl --help` (the package bin, cli/bin.mjs) prints the usage', () => {
  const r = spawnSync(process.execPath, ['cli/bin.mjs', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage:\n {2}pivotrl generate/);
});
