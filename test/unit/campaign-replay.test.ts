// Recorded histories of the campaign workflows (test/histories/*.json, see record.ts there: PivotRL, SFT and
// end-to-end RL) replay against the current workflow code without non-determinism: campaigns started on older
// code, or mid-way through a chain of runs, carry on after a deploy. The at-<commit>-*.json files were recorded with older workflow code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../workers/workflows-path';
import { loadHistory } from '../support/history';

const DIR = join(import.meta.dirname, '../histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

test('every recorded campaign history replays against the current workflow code', { timeout: 120_000 }, async () => {
  assert.ok(
    files.some((f) => f.startsWith('at-')),
    'at least one history recorded with older workflow code',
  );
  for (const scenario of ['continued', 'sft', 'e2e-rl'])
    assert.ok(
      files.some((f) => f.includes(`${scenario}-run2`)),
      `a history of a continued run (${scenario})`,
    );
  const histories = files.map((f) => ({ workflowId: f, history: loadHistory(join(DIR, f)) }));
  const failures: string[] = [];
  let replayed = 0;
  for await (const result of Worker.runReplayHistories({ workflowsPath: WORKFLOWS_PATH }, histories)) {
    replayed++;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  assert.equal(replayed, files.length);
  assert.deepEqual(failures, []);
});
