// The `pivotrl` command as a user runs it (the package bin, cli/bin.mjs, in a child process): help, usage errors and
// their exit status, checked numbers, config errors, export-pivots from a config's store, an unreachable server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { campaignKeys } from '../../pipeline/keys';
import { profileCandidate } from '../../pivotrl/pivots';
import { LocalStore, putJsonl } from '../../store';
import { terminalTurns } from '../../tasks/terminal/render';
import { generateTerminalSuite } from '../../tasks/terminal/suite';
import { tinyCampaign } from '../../harness/campaign';
import { tempDir } from '../../harness/temp-dir';

// Nothing listens on port 1: a command that reached for Temporal would fail with exit status 3.
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['cli/bin.mjs', ...args], { encoding: 'utf8', env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' } });

const COMMANDS = ['generate', 'profile-suites', 'export-pivots', 'ingest', 'run', 'experiment', 'status', 'pause', 'resume', 'stop', 'set'];
const STACK_LINE = /^\s+at /m;

test('`pivotrl --help` lists every command and the exit codes, and exits 0', () => {
  const r = cli('--help');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Usage: pivotrl /);
  for (const command of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${command} `, 'm'), command);
  assert.match(r.stdout, /Exit status:\n {2}0 {2}done\n {2}1 .*\n {2}2 {2}bad usage or bad input.*\n {2}3 {2}Temporal is unreachable/);
});

test('`pivotrl <command> --help` prints the command`s options and exits 0, for every command', () => {
  for (const command of COMMANDS) {
    const r = cli(command, '--help');
    assert.equal(r.status, 0, `${command}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: pivotrl ${command} `), command);
    assert.match(r.stdout, /Options:/, command);
  }
  assert.match(cli('generate', '--help').stdout, /--train <n> +terminal training trajectories \(default: 320\)/);
  assert.match(cli('export-pivots', '--help').stdout, /--config <file> +a campaign config: its store \(local or S3\)/);
});

test('a number option that is not the number it needs is refused, naming the option, with exit status 2', () => {
  const train = cli('generate', '--out', tmpdir(), '--train', 'abc');
  assert.equal(train.status, 2);
  assert.match(train.stderr, /^error: option '--train <n>' argument 'abc' is invalid: a positive integer\n/);
  assert.match(train.stderr, /^usage: pivotrl generate --out <dir> \[options\]$/m);
  assert.doesNotMatch(train.stderr, STACK_LINE);
  for (const [args, needs] of [
    [['generate', '--out', tmpdir(), '--train', '0'], 'a positive integer'],
    [['generate', '--out', tmpdir(), '--ood', '1.5'], 'a whole number'],
    [['generate', '--out', tmpdir(), '--seed', ''], 'a whole number'],
    [['profile-suites', '--k', '1'], 'an integer, 2 or more'],
    [['profile-suites', '--lambda-diff', '1.5'], 'a number above 0 and at most 1'],
    [['profile-suites', '--temperature', '-1'], 'a positive number'],
    [['set', 'wf-any', '--kl-beta', 'abc'], 'a number'],
  ] as const) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`argument '${args[args.length - 1]}' is invalid: ${needs}`), args.join(' '));
  }
});

test('an unknown option, command or a missing argument is a one-line error and the usage, exit status 2, no stack', () => {
  for (const [args, error, usage] of [
    [['generate', '--out', tmpdir(), '--bogus'], "error: unknown option '--bogus'", 'usage: pivotrl generate --out <dir> [options]'],
    [['bogus'], "error: unknown command 'bogus'", 'usage: pivotrl [options] [command]'],
    [['status'], "error: missing required argument 'id'", 'usage: pivotrl status [options] <id>'],
    [['run'], "error: required option '--config <file>' not specified", 'usage: pivotrl run --config <file> [options]'],
  ] as const) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    const [first, second] = r.stderr.split('\n');
    assert.equal(first, error);
    assert.equal(second, usage);
    assert.doesNotMatch(r.stderr, STACK_LINE);
    assert.equal(r.stdout, '');
  }
});

test('`pivotrl run` refuses an invalid config at once, naming file and field, without contacting Temporal', () => {
  const dir = tempDir('pivotrl-cli-');
  const path = join(dir, 'bad.json');
  writeFileSync(path, JSON.stringify({ name: 'Bad Name', data: {}, policy: {}, profile: { k: 0 }, train: {}, evaluate: {} }));
  const r = cli('run', '--config', path);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${path}: name:`));
  assert.match(r.stderr, /profile\.k:/);
  assert.match(r.stderr, /data\.trajectories:/);
});

test('`pivotrl status` with no Temporal server answering exits 3, naming the address', () => {
  const r = cli('status', 'wf-any');
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /^error: cannot reach Temporal at 127\.0\.0\.1:1: /);
  assert.doesNotMatch(r.stderr, STACK_LINE);
});

test('`pivotrl generate` writes the suites', () => {
  const dir = tempDir('pivotrl-cli-');
  const r = cli('generate', '--out', dir, '--train', '8', '--heldout', '2', '--ood', '5');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote 8 trajectories, 2 held-out tasks and 5 OOD items/);
});

test('`pivotrl export-pivots --config` reads the pivots from the config`s store (a local root relative to the file)', async () => {
  const tiny = tinyCampaign({ address: '127.0.0.1:1', queue: 'cli-export' });
  const campaign = 'cli-export-campaign';
  const turns = generateTerminalSuite({ seed: 11, trainTasks: 2, heldoutTasks: 1 }).train.flatMap(terminalTurns);
  const store = new LocalStore(join(tiny.dir, 'pivot-store'));
  const keys = campaignKeys(campaign);
  await putJsonl(store, keys.pivots, turns);
  await putJsonl(
    store,
    keys.profiles,
    turns.map((t) => profileCandidate(t.id, [0, 1, 0, 0])),
  );
  const config = join(tiny.dir, 'campaign.json');
  writeFileSync(config, JSON.stringify({ ...tiny.config, store: { kind: 'local', root: 'pivot-store' } }));
  const out = join(tiny.dir, 'pivots.jsonl');

  const r = cli('export-pivots', '--config', config, '--campaign', campaign, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `wrote ${turns.length} pivot rows to ${out}\n`);
  const rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    rows.map((row) => row.pivotrl.profile.rewards),
    turns.map(() => [0, 1, 0, 0]),
  );

  const both = cli('export-pivots', '--config', config, '--store', tiny.dir, '--campaign', campaign, '--out', out);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /give --store DIR or --config FILE, not both/);
  const missing = cli('export-pivots', '--config', config, '--campaign', 'no-such-campaign', '--out', out);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /campaign no-such-campaign: .* is not in /);

  // An S3 store whose endpoint would get this machine's keys over plain http to another host is refused.
  const s3 = join(tiny.dir, 's3.json');
  writeFileSync(s3, JSON.stringify({ ...tiny.config, store: { kind: 's3', bucket: 'b', endpoint: 'http://203.0.113.9:7070' } }));
  const refused = spawnSync(process.execPath, ['cli/bin.mjs', 'export-pivots', '--config', s3, '--campaign', campaign, '--out', out], {
    encoding: 'utf8',
    env: { ...process.env, PIVOTRL_S3_ENDPOINT: '' },
  });
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, new RegExp(`${s3}: store\\.endpoint: http://203\\.0\\.113\\.9:7070 must be https or loopback`));
});
