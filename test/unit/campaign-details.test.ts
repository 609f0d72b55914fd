// What ops read about a campaign's turn selection: the CLI progress line and the current details name pivots for
// PivotRL and uniformly drawn turns for the random-turns ablation (which has no pivots: it does not profile).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProgressLine } from '../../cli/format';
import type { CampaignConfig } from '../../core/config';
import type { CampaignProgress } from '../../pipeline/campaign-state';
import { startState } from '../../workflows/campaign';
import { renderDetails } from '../../workflows/details';
import { mockConfig } from '../support/mock-campaign';

const summary = (pivots: number, candidates: number) => ({
  candidates,
  pivots,
  allZero: candidates - pivots,
  allOne: 0,
  tooEasy: 0,
  unverified: 0,
  pivotRate: pivots / candidates,
  meanReward: 0.1,
});

function progressOf(selection: CampaignConfig['profile']['selection'], pivots: number, candidates: number) {
  const base = mockConfig({ steps: 3, queue: 'x', address: 'x' });
  const config: CampaignConfig = { ...base, profile: { ...base.profile, selection } };
  const progress: CampaignProgress = {
    ...startState('c1', config).progress,
    stage: 'update',
    candidates,
    pivots: { summary: summary(pivots, candidates), profiles: '', pivots: 'pv', muHistogram: [] },
  };
  return { progress, config };
}

test('PivotRL: pivots of candidates, as before', () => {
  const { progress, config } = progressOf('pivots', 40, 216);
  assert.equal(formatProgressLine(progress), 'stage=update pivots=40/216 step=0/3 rollout_turns=0+0');
  assert.match(renderDetails(progress, config), /^- pivots: 40 of 216 candidates \(18\.5%\); all-0 176, all-1 0, too easy 0$/m);
});

test('random turns: training turns drawn uniformly, not pivots', () => {
  const { progress, config } = progressOf('random', 216, 216);
  assert.equal(formatProgressLine(progress), 'stage=update turns=216 (random) step=0/3 rollout_turns=0+0');
  const details = renderDetails(progress, config);
  assert.match(details, /^- training turns: 216 of 216 candidates, drawn uniformly \(random turns, not profiled\)$/m);
  assert.doesNotMatch(details, /pivots/);
});

test('progress recorded before `selection` existed reads as PivotRL', () => {
  const { progress } = progressOf('pivots', 40, 216);
  delete progress.selection;
  assert.match(formatProgressLine(progress), / pivots=40\/216 /);
});
