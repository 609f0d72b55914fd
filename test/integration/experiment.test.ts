// A very small experiment end to end: real Temporal, real Docker, real tensors. SFT, end-to-end RL and PivotRL,
// 2 seeds, 1 step each, as one parent workflow; the CLI side is stopped mid-run and run again, which reattaches to
// the same experiment; pi0's work is done once; the report's files exist and their numbers are the campaigns' results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planExperiment } from '../../experiment/plan';
import { fmtDelta, fmtRate } from '../../experiment/report';
import { ci95 } from '../../experiment/stats';
import { runExperiment, type ResultsFile } from '../../cli/experiment';
import { experimentWorkflowId } from '../../cli/experiment-parent';
import { experimentProgressQuery } from '../../workflows/experiment';
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
  const opts = { where: 'test', command: 'test', embeddedWorkers: true, log: () => {} };

  // The CLI side (its client and embedded workers) goes away once a first campaign is done, then comes back.
  const stop = new AbortController();
  const first = runExperiment(plan, { ...opts, signal: stop.signal });
  const parent = temporal.env.client.workflow.getHandle(experimentWorkflowId(plan));
  const doneCampaigns = async () => {
    try {
      return (await parent.query(experimentProgressQuery)).children.filter((c) => c.state === 'done').length;
    } catch {
      return 0; // not started yet
    }
  };
  let done = 0;
  while ((done = await doneCampaigns()) === 0) await new Promise((r) => setTimeout(r, 1000));
  stop.abort();
  await assert.rejects(first, /stopped following/);
  assert.ok(done < 6, 'stopped mid-run');
  const { runId } = await parent.describe();
  const { report, results } = await runExperiment(plan, opts);
  assert.equal((await parent.describe()).runId, runId, 'the second call reattached to the same experiment');
  const executions = async (workflowId: string) => {
    let n = 0;
    for await (const _ of temporal.env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
    return n;
  };
  for (const r of results.runs) assert.equal(await executions(r.workflowId), 1, `${r.workflowId} ran once`);
  assert.equal(await executions(results.pi0!.workflowId), 1);
  // pi0 evaluated once, profiled once (PivotRL's one profile config), for every campaign.
  assert.equal(results.pi0!.evaluations, 1);
  assert.deepEqual(
    results.pi0!.profiles.map((p) => [p.id, p.usedBy.length]),
    [['pivotrl', 2]],
  );
  assert.equal(results.pi0!.sharedBy.length, 6);
  for (const r of results.runs) assert.deepEqual(r.result.before, results.runs[0].result.before);

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
  assert.deepEqual(stored.pi0, results.pi0);
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
