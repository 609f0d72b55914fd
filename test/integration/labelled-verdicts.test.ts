// The hand-labelled verifier set: every case's verdict from the functional verifier (real sandboxes) must agree
// with the label. Cases live in test/fixtures/verdicts/<domain>.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { LabelledCase } from '../fixtures/verdicts/case';
import { createVerifier } from '../../verifiers';
import { requireDocker } from '../../harness/docker';

// Far above what any labelled action needs even on a loaded machine (a SWE test run took over 10 s at load 6 on 2
// cores), so that only the endless ones (`sleep 60`) reach it.
const ACTION_TIMEOUT_MS = 30_000;

const dir = new URL('../fixtures/verdicts/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'case.ts');

async function loadCases(): Promise<LabelledCase[]> {
  const all: LabelledCase[] = [];
  for (const f of files) {
    const mod = (await import(new URL(f, dir).href)) as { cases: unknown[] };
    all.push(...mod.cases.map((c) => LabelledCase.parse(c)));
  }
  return all;
}

test('the functional verifier agrees with every hand-labelled case', { timeout: 15 * 60_000 }, async () => {
  const docker = await requireDocker();
  const cases = await loadCases();
  const ids = new Set(cases.map((c) => c.id));
  assert.equal(ids.size, cases.length, 'case ids are unique');
  // One item per case: each case's turn gets its own id so verdicts map back to cases.
  const items = cases.map((c, i) => ({
    turn: { ...c.turn, id: `case-${i}` },
    samples: [{ turnId: `case-${i}`, index: 0, text: c.sample, logprobs: [] }],
  }));
  const verdicts = await createVerifier('functional', {
    docker,
    concurrency: 2,
    owner: 'test-labelled',
    actionTimeoutMs: ACTION_TIMEOUT_MS,
  }).verifyBatch(items);
  const disagreements = cases
    .map((c, i) => ({ c, v: verdicts[i] }))
    .filter(({ c, v }) => v.reward !== c.expected || (c.reason !== undefined && v.reason !== c.reason))
    .map(({ c, v }) => `${c.id}: expected ${c.expected}${c.reason ? ` (${c.reason})` : ''}, got ${v.reward} (${v.reason}: ${v.detail})`);
  const byDomain = Object.entries(
    cases.reduce<Record<string, number>>((acc, c) => ({ ...acc, [c.turn.domain]: (acc[c.turn.domain] ?? 0) + 1 }), {}),
  );
  console.log(`labelled cases: ${cases.length} (${byDomain.map(([d, n]) => `${d} ${n}`).join(', ')})`);
  assert.deepEqual(disagreements, []);
});
