// `pivotrl profile-suites` for real (the shipped pi0, real sandboxes) on a few training turns per suite: the table
// it prints and writes is recounted here from the verdicts it stored, and those verdicts cover exactly the suites'
// training turns, K per turn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Verdict } from '../../core/schemas';
import { SuitesReport } from '../../cli/profile-suites';
import { turnsOf } from '../../tasks/domains';
import { SUITES, trainTrajectories } from '../../tasks/suites';
import { requireDocker } from '../../harness/docker';
import { tempDir } from '../../harness/temp-dir';

const TASKS = { terminal: 4, swe: 2, tool: 4 };
const K = 8;
const LAMBDA = 0.6;

test('profile-suites: every number of the table equals a recount of the stored verdicts', { timeout: 15 * 60_000 }, async () => {
  await requireDocker();
  const out = join(tempDir('pivotrl-suites-'), 'suites');
  const r = spawnSync(
    'npx',
    [
      'tsx',
      'cli/pivotrl.ts',
      'profile-suites',
      '--seed',
      '1',
      '--k',
      String(K),
      '--lambda-diff',
      String(LAMBDA),
      '--terminal-tasks',
      String(TASKS.terminal),
      '--swe-tasks',
      String(TASKS.swe),
      '--tool-tasks',
      String(TASKS.tool),
      '--out',
      out,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);

  const report = SuitesReport.parse(JSON.parse(readFileSync(`${out}.json`, 'utf8')));
  const verdicts = readFileSync(`${out}.verdicts.jsonl`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const v = JSON.parse(line) as { suite: string };
      return { suite: v.suite, ...Verdict.parse(v) };
    });
  const table = readFileSync(`${out}.md`, 'utf8');
  assert.ok(r.stdout.includes(table.trim().split('\n').at(-1)!), 'the printed table is the written one');

  for (const suite of SUITES) {
    const turnIds = trainTrajectories(suite, 1, TASKS[suite]).flatMap((t) => turnsOf(t).map((x) => x.id));
    const mine = verdicts.filter((v) => v.suite === suite);
    const byTurn = new Map<string, (0 | 1 | null)[]>();
    for (const v of mine) byTurn.set(v.turnId, [...(byTurn.get(v.turnId) ?? []), v.reward]);
    assert.deepEqual([...byTurn.keys()].sort(), [...turnIds].sort(), `${suite}: verdicts cover exactly the training turns`);
    for (const [id, rewards] of byTurn) assert.equal(rewards.length, K, `${suite} ${id}: ${rewards.length} verdicts`);

    const count = { allZero: 0, allOne: 0, pivots: 0, tooEasy: 0, unverified: 0 };
    let muSum = 0;
    let verified = 0;
    for (const rewards of byTurn.values()) {
      const kept = rewards.filter((x) => x !== null);
      if (kept.length === 0) {
        count.unverified++;
        continue;
      }
      const ones = kept.filter((x) => x === 1).length;
      const mu = ones / kept.length;
      muSum += mu;
      verified++;
      if (ones === 0) count.allZero++;
      else if (ones === kept.length) count.allOne++;
      else if (mu < LAMBDA) count.pivots++;
      else count.tooEasy++;
    }
    const row = report.rows.find((x) => x.suite === suite);
    assert.ok(row, `${suite}: no row`);
    assert.deepEqual(
      {
        candidates: row.candidates,
        allZero: row.allZero,
        allOne: row.allOne,
        pivots: row.pivots,
        tooEasy: row.tooEasy,
        unverified: row.unverified,
      },
      { candidates: turnIds.length, ...count },
      suite,
    );
    assert.ok(Math.abs(row.meanReward - (verified ? muSum / verified : 0)) < 1e-9, `${suite}: mean turn success`);
    const line = table.split('\n').find((l) => l.startsWith(`| ${suite} |`));
    const cells = line!.split('|').map((c) => c.trim());
    assert.deepEqual(cells.slice(2, 10), [
      String(TASKS[suite]),
      String(turnIds.length),
      String(count.allZero),
      String(count.allOne),
      String(count.pivots),
      String(count.tooEasy),
      String(count.unverified),
      `${((100 * muSum) / Math.max(1, verified)).toFixed(1)}%`,
    ]);
  }
});
