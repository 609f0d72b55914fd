// A very small experiment end to end: real Temporal, real Docker, real tensors. SFT, end-to-end RL and PivotRL,
// 2 seeds, 1 step each; the report's files exist and their numbers are the campaigns' results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planExperiment } from '../../experiment/plan';
import { fmtDelta, fmtRate } from '../../experiment/report';
import { ci95 } from '../../experiment/stats';
import { runExperiment, type ResultsFile } from '../../cli/experiment';
import { useTestTemporal } from '../../harness/temporal';
import { tinyCampaign } from '../../harness/campaign';

const temporal = useTestTemporal();

test('a small experiment writes a report whose numbers are the campaigns results', { timeout: 15 * 60_000 }, async () => {
  const tiny = tinyCampaign({ address: temporal.address, queue: 'experiment', steps: 1, heldoutTurns: 4 });
  const { name: _name, seed: _seed, ...campaign } = tiny.config;
  const plan = planExperiment(
    {
      name: 'exp-it',
      seeds: [1, 2],
      parallel: 3,
      out: 'report',
      campaign,
      methods: [
        { id: 'sft', label: 'SFT', config: { method: 'sft' } },
        { id: 'e2e', label: 'E2E RL', config: { method: 'e2e-rl', train: { batchPivots: 2 } } },
        { id: 'pivotrl', label: 'PivotRL', config: {} },
      ],
    },
    'test experiment',
    tiny.dir,
  );
  const { report, results } = await runExperiment(plan, { where: 'test', command: 'test', embeddedWorkers: true, log: () => {} });

  const out = join(tiny.dir, 'report');
  assert.equal(report, join(out, 'report.md'));
  for (const f of [
    'report.md',
    'results.json',
    'learning-curves.svg',
    'reward-variance.svg',
    'batch-reward.svg',
    'frontier.svg',
    'mu-histogram.svg',
  ])
    assert.ok(existsSync(join(out, f)), `${f} written`);
  const stored = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ResultsFile;
  assert.equal(stored.runs.length, 6);
  const md = readFileSync(report, 'utf8');
  for (const id of ['sft', 'e2e', 'pivotrl']) {
    const runs = stored.runs.filter((r) => r.method === id);
    assert.deepEqual(runs.map((r) => r.seed).sort(), [1, 2]);
    for (const r of runs) {
      // The stored results are the workflows' own results.
      const handle = temporal.env.client.workflow.getHandle(r.workflowId);
      assert.deepEqual(await handle.result(), r.result);
      assert.equal(r.result.stage, 'done');
      assert.equal(r.result.step, 1);
    }
    const label = runs[0].label;
    const after = ci95(runs.map((r) => r.result.after!.inDomain.successRate));
    const ood = ci95(runs.map((r) => r.result.after!.ood.accuracy - r.result.before!.ood.accuracy));
    const row = md.split('\n').find((l) => l.startsWith(`| ${label} | `) && l.includes(' pts'));
    assert.ok(row, `a table row for ${label}`);
    assert.ok(row.includes(`| ${fmtRate(after)} |`), `${label}: in-domain ${fmtRate(after)} in ${row}`);
    assert.ok(row.includes(`| ${fmtDelta(ood)} |`), `${label}: OOD change ${fmtDelta(ood)} in ${row}`);
  }
  const byMethod = (id: string) => results.runs.filter((r) => r.method === id).map((r) => r.result);
  for (const r of byMethod('sft')) assert.equal(r.rolloutTurns.training, 0, 'SFT spends no rollouts');
  for (const r of byMethod('e2e')) {
    assert.equal(r.rolloutTurns.profiling, 0);
    assert.ok(r.rolloutTurns.training >= 2 * tiny.config.train.groupSize, 'E2E RL: at least one action per episode');
    assert.equal(r.history.length, 1);
  }
  for (const r of byMethod('pivotrl')) assert.equal(r.rolloutTurns.profiling, tiny.candidates * tiny.config.profile.k);
  // Provenance: pi0's hash, every run's config and pi0 hash, and the claims array the report's claims table shows.
  assert.match(stored.pi0Hash ?? '', /^[0-9a-f]{64}$/);
  for (const r of stored.runs) {
    assert.equal(r.baseHash, stored.pi0Hash);
    assert.equal(r.config?.name, `exp-it-${r.method}-s${r.seed}`);
  }
  assert.equal(stored.claims?.length, 3);
  for (const c of stored.claims!) assert.ok(md.includes(`| ${c.claim} | **${c.verdict}**`), `${c.claim}: ${c.verdict} in the report`);
  // The evaluations scored held-out states: their rows are in results.json, one per state.
  for (const r of stored.runs) {
    const perTurn = r.result.after?.perTurn;
    assert.ok(perTurn, `${r.workflowId}: per-turn evaluation`);
    assert.equal(r.items?.after?.turns?.length, perTurn.states, `${r.workflowId}: per-turn rows`);
  }
});
