import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalStore, getJsonl } from '../../store';
import { BadInputError, ingest } from '../../pipeline/ingest';
import { BadRecord } from '../../pipeline/quarantine';
import { generateTerminalSuite } from '../../tasks/terminal/suite';
import { generateOodSuite } from '../../tasks/ood';
import { Turn } from '../../core/schemas';
import { tempDir } from '../../harness/temp-dir';

function fixture() {
  const dir = tempDir('pivotrl-ingest-');
  const suite = generateTerminalSuite({ seed: 5, trainTasks: 6, heldoutTasks: 3 });
  const good = suite.train.map((t) => JSON.stringify(t));
  const wrongType = JSON.stringify({ ...suite.train[0], id: 42 });
  const { task: _task, ...missingTask } = suite.train[1];
  const lines = [good[0], '{"id": "trunc', good[1], wrongType, '', JSON.stringify(missingTask), good[2], good[3], good[4], good[5]];
  const trajectories = join(dir, 'train.jsonl');
  writeFileSync(trajectories, lines.join('\n') + '\n');
  const heldoutTasks = join(dir, 'heldout.jsonl');
  writeFileSync(heldoutTasks, suite.heldout.map((t) => JSON.stringify(t) + '\n').join(''));
  const ood = join(dir, 'ood.jsonl');
  writeFileSync(
    ood,
    generateOodSuite({ seed: 1, n: 5 })
      .map((t) => JSON.stringify(t) + '\n')
      .join(''),
  );
  const expectedTurns = suite.train.reduce((a, t) => a + t.messages.filter((m) => m.role === 'tool').length, 0);
  return { dir, trajectories, heldoutTasks, ood, expectedTurns, store: new LocalStore(join(dir, 'store')) };
}

const opts = (f: ReturnType<typeof fixture>) => ({
  campaignId: 'c1',
  trajectories: [f.trajectories],
  heldoutTasks: f.heldoutTasks,
  ood: f.ood,
  shardSize: 4,
  heldoutLimit: 100,
  oodLimit: 100,
});

test('malformed lines are reported with file, line and field; every good line is ingested', async () => {
  const f = fixture();
  const result = await ingest(f.store, opts(f));
  assert.equal(result.trajectories, 6);
  assert.equal(result.turns, f.expectedTurns);
  assert.equal(result.badRecords, 3);
  const quarantined = (await Promise.all(result.quarantine.map((key) => getJsonl(f.store, key, (v) => BadRecord.parse(v))))).flat();
  assert.deepEqual(
    quarantined.map((b) => [b.file, b.line, b.field]),
    [
      [f.trajectories, 2, '(record)'],
      [f.trajectories, 4, 'id'],
      [f.trajectories, 6, 'task'],
    ],
  );
  assert.match(quarantined[0].reason, /invalid JSON/);
  const shardTurns = (await Promise.all(result.shards.map((s) => getJsonl(f.store, s.turns, (v) => Turn.parse(v))))).flat();
  assert.equal(shardTurns.length, f.expectedTurns);
  assert.ok(result.shards.every((s) => s.count <= 4));
  assert.equal(result.heldoutCount, 3);
  assert.equal(result.oodCount, 5);
});

test('an unreadable trajectory file fails with a bad-input error naming it', async () => {
  const f = fixture();
  const missing = join(f.dir, 'nope.jsonl');
  await assert.rejects(ingest(f.store, { ...opts(f), trajectories: [missing] }), (err: Error) => {
    assert.ok(err instanceof BadInputError);
    assert.match(err.message, new RegExp(missing));
    return true;
  });
});
