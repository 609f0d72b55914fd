// The progress bars of `pivotrl run` and `pivotrl experiment`, from progress snapshots: counts, totals, ETA from the
// campaign's own stage times, the stages of each method, one bar per campaign of an experiment; and the two views
// (live bars on a terminal, plain lines otherwise) fed the same snapshots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { CampaignConfig } from '../../core/config';
import type { CampaignProgress, Evaluation, StageTime, StepRecord } from '../../pipeline/campaign-state';
import { campaignView, linesView } from '../../cli/progress-view';
import {
  barLine,
  barPlanOf,
  campaignBars,
  etaSeconds,
  experimentBars,
  formatSeconds,
  pi0BarPlan,
  type StageBar,
} from '../../cli/stage-bars';

const config = (over: Record<string, unknown> = {}) =>
  CampaignConfig.parse({
    name: 'bars',
    data: { trajectories: ['t.jsonl'], heldoutTasks: 'h.jsonl', ood: 'o.jsonl' },
    policy: { base: 'pi0' },
    profile: { k: 4 },
    train: { steps: 10 },
    evaluate: {},
    ...over,
  });

const evaluation = (successRate: number, accuracy: number) =>
  ({ checkpoint: 'c', inDomain: { successRate }, ood: { accuracy } }) as unknown as Evaluation;
const time = (ms: number): StageTime => ({ calls: 1, ms, samples: 0, tokens: 0 });

function progress(over: Partial<CampaignProgress>): CampaignProgress {
  return {
    campaignId: 'c1',
    stage: 'ingest',
    step: 0,
    steps: 10,
    paused: false,
    candidates: 0,
    badRecords: 0,
    pivots: null,
    rolloutTurns: { profiling: 0, training: 0, evaluation: 0 },
    history: [],
    before: null,
    after: null,
    hyper: { lr: 1e-4, clipEps: 0.2, klBeta: 0, temperature: 1 },
    finalCheckpoint: null,
    finalHash: null,
    backend: null,
    ...over,
  };
}

const pivots = {
  summary: { candidates: 50, pivots: 12, allZero: 30, allOne: 8, tooEasy: 0, unverified: 0, pivotRate: 0.24, meanReward: 0.3 },
};
const pick = (bars: StageBar[], label: string) => bars.find((b) => b.label === label)!;

test('each method has its stages: PivotRL profiles pi0, random turns and SFT / E2E RL do not', () => {
  assert.deepEqual(barPlanOf(config()), { stages: ['ingest', 'evaluate-base', 'profile', 'update', 'evaluate-final'], profileK: 4 });
  assert.deepEqual(barPlanOf(config({ profile: { k: 4, selection: 'random' } })).stages, [
    'ingest',
    'evaluate-base',
    'update',
    'evaluate-final',
  ]);
  assert.deepEqual(barPlanOf(config({ method: 'sft' })).stages, ['ingest', 'evaluate-base', 'update', 'evaluate-final']);
  assert.deepEqual(pi0BarPlan([config(), config({ profile: { k: 8 } })]), { stages: ['ingest', 'evaluate-base', 'profile'], profileK: 12 });
});

test('mid-profile: earlier stages done with what they found, profile counts samples of candidates x K with an ETA', () => {
  const p = progress({
    stage: 'profile',
    candidates: 50,
    badRecords: 2,
    before: evaluation(0.25, 0.6),
    rolloutTurns: { profiling: 80, training: 0, evaluation: 40 },
    now: 'profile shard 5/10: verify 20 samples',
    stageTimes: {
      'ingest/ingest': time(3000),
      'evaluate-base/generate': time(20_000),
      'profile/generate': time(30_000),
      'profile/verify': time(10_000),
    },
  });
  const bars = campaignBars(p, barPlanOf(config()));
  assert.deepEqual(
    bars.map((b) => [b.label, b.state]),
    [
      ['ingest', 'done'],
      ['evaluate-base', 'done'],
      ['profile', 'running'],
      ['update', 'waiting'],
      ['evaluate-final', 'waiting'],
    ],
  );
  assert.equal(pick(bars, 'ingest').note, '50 candidate turns, 2 bad records');
  assert.equal(pick(bars, 'ingest').seconds, 3);
  assert.equal(pick(bars, 'evaluate-base').note, 'in-domain 25.0%, OOD 60.0%');
  const profile = pick(bars, 'profile');
  assert.deepEqual([profile.value, profile.total, profile.unit], [80, 200, 'samples']);
  // 40 s of profiling for 80 samples: 0.5 s per sample, 120 to go.
  assert.equal(profile.eta, 60);
  assert.equal(profile.note, 'profile shard 5/10: verify 20 samples');
  assert.deepEqual([pick(bars, 'update').value, pick(bars, 'update').total, pick(bars, 'update').eta], [0, 10, null]);
});

test('mid-update: steps of steps, ETA from the time per step (curve evaluations included), the last batch reward, PAUSED', () => {
  const step = { step: 4, batchReward: 0.4126 } as StepRecord;
  const p = progress({
    stage: 'update',
    step: 4,
    candidates: 50,
    pivots: pivots as CampaignProgress['pivots'],
    rolloutTurns: { profiling: 200, training: 256, evaluation: 40 },
    history: [step],
    paused: true,
    stageTimes: { 'update/generate': time(30_000), 'update/update': time(10_000), 'evaluate-curve/generate': time(8000) },
  });
  const bars = campaignBars(p, barPlanOf(config()));
  const profile = pick(bars, 'profile');
  assert.deepEqual([profile.state, profile.value, profile.total, profile.note], ['done', 200, 200, '12 pivots of 50 turns']);
  const update = pick(bars, 'update');
  assert.deepEqual([update.state, update.value, update.total, update.unit], ['running', 4, 10, 'steps']);
  assert.equal(update.eta, 72); // 48 s for 4 steps, 6 to go
  assert.equal(update.note, 'batch reward 0.413, PAUSED');
});

test('the final evaluation is expected to take what pi0`s took; a finished campaign has every bar done', () => {
  const times = { 'evaluate-base/generate': time(50_000), 'evaluate-final/generate': time(20_000) };
  const evaluating = campaignBars(progress({ stage: 'evaluate-final', step: 10, stageTimes: times }), barPlanOf(config()));
  assert.equal(pick(evaluating, 'evaluate-final').eta, 30);
  const done = campaignBars(progress({ stage: 'done', step: 10, after: evaluation(0.5, 0.7), stageTimes: times }), barPlanOf(config()));
  assert.ok(done.every((b) => b.state === 'done'));
  assert.equal(pick(done, 'evaluate-final').note, 'in-domain 50.0%, OOD 70.0%');
  // Stopped early: the update bar ends where it stopped.
  const stopped = campaignBars(progress({ stage: 'stopped', step: 3 }), barPlanOf(config()));
  assert.deepEqual([pick(stopped, 'update').state, pick(stopped, 'update').value], ['done', 3]);
});

test('ETA: none before the first unit or after the last; formatted as seconds, minutes or hours', () => {
  assert.equal(etaSeconds(10_000, 0, 10), null);
  assert.equal(etaSeconds(10_000, 10, 10), null);
  assert.equal(etaSeconds(10_000, 5, 10), 10);
  assert.deepEqual([formatSeconds(45), formatSeconds(200), formatSeconds(3720)], ['45s', '3m20s', '1h02m']);
});

test('an experiment: campaigns done of all, pi0, and each campaign at its current stage', () => {
  const plan = barPlanOf(config());
  const running = progress({ stage: 'update', step: 2, candidates: 50, pivots: pivots as CampaignProgress['pivots'] });
  const bars = experimentBars(
    {
      pi0: { who: 'pi0', state: 'done' },
      children: [
        { who: 'pivotrl s1', state: 'running', progress: running },
        { who: 'sft s1', state: 'done' },
        { who: 'e2e s1', state: 'failed' },
        { who: 'pivotrl s2', state: 'running' },
        { who: 'sft s2', state: 'waiting' },
      ],
    },
    { pi0: pi0BarPlan([config()]), of: () => plan },
  );
  assert.deepEqual(
    bars.map((b) => [b.label, b.state, b.value, b.total]),
    [
      ['campaigns', 'running', 1, 5],
      ['pi0', 'done', 1, 1],
      ['pivotrl s1: update', 'running', 2, 10],
      ['sft s1', 'done', 1, 1],
      ['e2e s1', 'failed', 0, 1],
      ['pivotrl s2', 'running', 0, 1],
      ['sft s2', 'waiting', 0, 1],
    ],
  );
  assert.equal(bars[0].note, '1 failed');
  assert.equal(pick(bars, 'pivotrl s2').note, 'starting');
});

test('a bar line: mark, label, bar, count, ETA or time taken, note', () => {
  const o = { labelWidth: 8, barWidth: 10 };
  const bar: StageBar = {
    label: 'update',
    value: 4,
    total: 10,
    unit: 'steps',
    state: 'running',
    eta: 72,
    seconds: 48,
    note: 'batch reward 0.413',
  };
  assert.equal(barLine(bar, o), '> update    ████░░░░░░  4/10 steps  ETA 1m12s  batch reward 0.413');
  assert.equal(barLine({ ...bar, eta: null }, o), '> update    ████░░░░░░  4/10 steps  ETA —  batch reward 0.413');
  assert.equal(barLine({ ...bar, state: 'done', value: 10, note: '' }, o), '✓ update    ██████████  10/10 steps  took 48s');
  assert.equal(
    barLine({ ...bar, label: 'ingest', unit: '', value: 0, total: 1, state: 'waiting', note: '' }, o),
    '  ingest    ░░░░░░░░░░  waiting',
  );
});

test('on a terminal the bars are drawn from each snapshot; elsewhere a plain line each time it changes', async () => {
  const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 160 });
  let drawn = '';
  tty.on('data', (chunk) => (drawn += chunk));
  const log = console.log;
  const view = campaignView(barPlanOf(config()), { log: () => assert.fail('no lines on a terminal'), terminal: tty });
  view.show(progress({ stage: 'update', step: 4, candidates: 50, pivots: pivots as CampaignProgress['pivots'] }));
  console.log('a worker logs while the bars are drawn');
  assert.notEqual(console.log, log, 'console goes above the bars while they are drawn');
  view.show(progress({ stage: 'update', step: 5, candidates: 50, pivots: pivots as CampaignProgress['pivots'] }));
  view.stop();
  assert.equal(console.log, log, 'and back once they stop');
  await new Promise((r) => setImmediate(r));
  assert.match(drawn, /> update +█+░+ {2}5\/10 steps {2}ETA —/);
  assert.match(drawn, /✓ profile +█+ {2}200\/200 samples {2}12 pivots of 50 turns/);
  assert.match(drawn, / {2}evaluate-final +░+ {2}waiting/);
  assert.match(drawn, /a worker logs while the bars are drawn\n/);

  const lines: string[] = [];
  const plain = campaignView(barPlanOf(config()), { log: (l) => lines.push(l) });
  for (const step of [4, 4, 5]) plain.show(progress({ stage: 'update', step, candidates: 50 }));
  plain.stop();
  assert.deepEqual(lines, ['  stage=update step=4/10 rollout_turns=0+0', '  stage=update step=5/10 rollout_turns=0+0']);

  const keyed: string[] = [];
  const byKey = linesView<[string, string][]>(
    (l) => keyed.push(l),
    (s) => s,
  );
  byKey.show([
    ['a', 'a1'],
    ['b', 'b1'],
  ]);
  byKey.show([
    ['a', 'a1'],
    ['b', 'b2'],
  ]);
  assert.deepEqual(keyed, ['a1', 'b1', 'b2']);
});
