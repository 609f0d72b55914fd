// The SFT baseline on the same data and base model: ingest, evaluate pi0, then per step one cross-entropy step on
// the expert actions of B*G candidate turns drawn uniformly (as many sequences as a GRPO step), evaluate the result.
// No rollouts. Continues as new like the PivotRL campaign (`temporal.stepsPerRun`), carrying its CampaignState (no
// `patched` guard: every SFT run started on code that continues as new).
import { seedOf } from '../core/rng';
import type { CampaignInput, CampaignResult } from '../pipeline/campaign-state';
import { finish, ingestAndEvaluateBase } from './campaign';
import { methodRun } from './context';

export async function sftCampaign(input: CampaignInput): Promise<CampaignResult> {
  const { campaignId, config } = input;
  const { keys, state, progress, act, stage, enter, readyFor, evaluate, endStep } = methodRun(input);
  let data = state.data;
  if (!data) {
    data = await ingestAndEvaluateBase(act, config, campaignId, state, enter, evaluate);
    enter('update');
    await act.selectTurns(`training turns: all ${progress.candidates} candidates`, { ...stage, shards: data.shards, out: keys.pivots });
  }
  const count = config.train.batchPivots * config.train.groupSize;
  let checkpoint = state.checkpoint ?? data.baseCheckpoint;
  for (let step = progress.step + 1; step <= config.train.steps; step++) {
    if (!(await readyFor(step))) break;
    const k = keys.step(step);
    await act.drawBatch(`step ${step}: draw ${count} expert turns`, {
      ...stage,
      pivots: keys.pivots,
      count,
      seed: seedOf(config.seed, 'batch', step),
      out: { turns: k.turns, prompts: k.prompts },
    });
    const update = await act.sftUpdate(`step ${step}: SFT update -> checkpoint ${step}`, {
      ...stage,
      step,
      checkpoint,
      turns: k.turns,
      hp: { lr: progress.hyper.lr, gradClip: config.train.maxGradNorm, weightDecay: config.train.weightDecay },
      out: keys.checkpoint(step),
    });
    checkpoint = await endStep(step, update, data);
  }
  return finish(progress, state, enter, evaluate, checkpoint, data);
}
