// A short campaign end to end: real Temporal dev server, real Docker sandboxes, real tensors. No mocks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DockerClient } from '../../sandboxes/engine';
import { runCampaign } from '../../cli/campaigns';
import { LocalStore, getJsonl } from '../../store';
import { campaignKeys } from '../../pipeline/keys';
import { CandidateProfile, classify } from '../../pivotrl/pivots';
import { HeldoutTask, OodItem, Turn, Verdict } from '../../core/schemas';
import { TurnEvalItem, summariseTurnEval } from '../../pipeline/turn-eval';
import { OodItemScore } from '../../pipeline/episodes';
import { OodDriftRow } from '../../pipeline/ood-drift';
import { startTestTemporal, type TestTemporal } from '../../harness/temporal';
import { requireDocker } from '../../harness/docker';
import { tinyCampaign } from '../../harness/campaign';

let temporal: TestTemporal;
let docker: DockerClient;
before(async () => {
  docker = await requireDocker();
  temporal = await startTestTemporal();
});
after(async () => {
  await temporal?.stop();
});

// This run's embedded workers label their sandboxes with this owner, so campaigns elsewhere on the machine do not count.
const OWNER = `test-campaign-${process.pid}`;
process.env.PIVOTRL_SANDBOX_OWNER = OWNER;
const sandboxes = async () =>
  (await docker.listContainers({ all: true, filters: { label: ['pivotrl.sandbox=1', `pivotrl.owner=${OWNER}`] } })).length;

test('a short campaign runs every stage and reports what the demo reports', { timeout: 15 * 60_000 }, async () => {
  const tiny = tinyCampaign({ address: temporal.address, queue: 'e2e', steps: 2, heldoutTurns: 10 });
  const config = { ...tiny.config, evaluate: { ...tiny.config.evaluate, oodDrift: true } };
  const lines: string[] = [];
  const { workflowId, result } = await runCampaign(config, { id: 'e2e-campaign', embeddedWorkers: true, log: (l) => lines.push(l) });

  assert.equal(result.stage, 'done');
  assert.equal(result.candidates, tiny.candidates);
  assert.equal(result.rolloutTurns.profiling, tiny.candidates * config.profile.k);
  assert.equal(result.rolloutTurns.training, config.train.steps * config.train.batchPivots * config.train.groupSize);
  assert.equal(result.step, config.train.steps);
  assert.ok(result.before && result.after);
  assert.equal(result.before.inDomain.episodes, 4);
  assert.equal(result.after.ood.items, 10);

  // The pivot summary agrees with the stored per-candidate profiles.
  const store = new LocalStore((config.store as { root: string }).root);
  const keys = campaignKeys(workflowId);
  const profiles = await getJsonl(store, keys.profiles, (v) => CandidateProfile.parse(v));
  assert.equal(profiles.length, tiny.candidates);
  assert.ok(profiles.every((p) => p.rewards.length === config.profile.k));
  assert.equal(result.pivots?.summary.pivots, profiles.filter((p) => classify(p, config.profile.lambdaDiff) === 'pivot').length);

  // Held-out per-turn accuracy: the same 10 expert states before and after, their items computed from the stored
  // sandbox verdicts, and the summary from the items.
  const before = result.before.perTurn;
  const after = result.after.perTurn;
  assert.ok(before && after, 'both evaluations scored held-out states');
  assert.equal(before.states, 10);
  assert.equal(before.k, config.evaluate.turnSamples);
  const stateTurns = await getJsonl(store, keys.heldoutStates.turns, (v) => Turn.parse(v));
  const heldoutTemplates = new Set((await getJsonl(store, keys.heldout, (v) => HeldoutTask.parse(v))).map((h) => h.task.template));
  assert.deepEqual(new Set(stateTurns.map((t) => t.task.template)), heldoutTemplates, 'every held-out template has states');
  for (const [label, summary] of [
    ['base', before],
    [`step-${config.train.steps}`, after],
  ] as const) {
    const k = keys.evaluation(label).states;
    assert.equal(summary.items, k.items);
    const items = await getJsonl(store, k.items, (v) => TurnEvalItem.parse(v));
    assert.deepEqual(
      items.map((i) => i.id),
      stateTurns.map((t) => t.id),
    );
    const greedy = await getJsonl(store, k.greedyVerdicts, (v) => Verdict.parse(v));
    const sampled = await getJsonl(store, k.sampledVerdicts, (v) => Verdict.parse(v));
    assert.equal(greedy.length, 10);
    assert.equal(sampled.length, 10 * summary.k);
    for (const item of items) {
      assert.equal(item.greedy, greedy.find((v) => v.turnId === item.id)?.reward ?? 0);
      assert.deepEqual(
        item.sampled,
        sampled
          .filter((v) => v.turnId === item.id)
          .sort((a, b) => a.index - b.index)
          .map((v) => v.reward ?? 0),
      );
    }
    const masked = [...greedy, ...sampled].filter((v) => v.reward === null).length;
    assert.deepEqual(summary, summariseTurnEval(items, summary.k, k.items, masked));
  }
  assert.ok(result.rolloutTurns.evaluation >= 2 * 10 * (1 + config.evaluate.turnSamples));

  // Per-item OOD rows and the drift measure, for the same items (by id) before and after training.
  const oodIds = (await getJsonl(store, keys.ood, (v) => OodItem.parse(v))).map((item) => item.id);
  for (const e of [result.before, result.after]) {
    const rows = await getJsonl(store, e.oodItems!, (v) => OodItemScore.parse(v));
    assert.deepEqual(
      rows.map((r) => r.id),
      oodIds,
    );
    assert.equal(
      rows.reduce((a, r) => a + r.correct, 0),
      e.ood.correct,
    );
    const drift = await getJsonl(store, e.oodDrift!.items, (v) => OodDriftRow.parse(v));
    assert.deepEqual(
      drift.map((r) => r.id),
      oodIds,
    );
    const perToken = drift.reduce((a, r) => a + r.nll, 0) / drift.reduce((a, r) => a + r.tokens, 0);
    assert.ok(e.oodDrift!.meanNll > 0 && Math.abs(e.oodDrift!.meanNll - perToken) < 1e-9);
  }

  // Exactly one checkpoint per update step (plus the imported pi0 as step 0).
  const checkpoints = new Set((await store.list(`${keys.root}/checkpoints/`)).map((k) => k.split('/')[3]));
  assert.deepEqual([...checkpoints].sort(), ['step-000000', 'step-000001', 'step-000002']);
  assert.notEqual(result.history[0].hash, result.history[1].hash);

  // The summary a user reads, and the campaign found by its search attributes.
  const summary = lines.join('\n');
  for (const label of [
    'candidate turns',
    'pivots',
    'rollout turns',
    'in-domain',
    'out-of-domain',
    'per-turn greedy',
    'workflow id',
    'Temporal UI',
  ]) {
    assert.match(summary, new RegExp(label));
  }
  const query = `PivotCampaign = "${workflowId}" AND PivotStage = "done" AND PivotIteration = 2`;
  let found: string[] = [];
  for (let attempt = 0; attempt < 20 && found.length === 0; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 250)); // visibility is eventually consistent
    found = [];
    for await (const wf of temporal.env.client.workflow.list({ query })) found.push(wf.workflowId);
  }
  assert.deepEqual(found, [workflowId]);

  assert.equal(await sandboxes(), 0, 'no sandbox container is left behind');
});
