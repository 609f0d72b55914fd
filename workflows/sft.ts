// The SFT baseline on the same data and base model: ingest, evaluate pi0, then per step one cross-entropy step on
// the expert actions of B*G candidate turns drawn uniformly (as many sequences as a GRPO step), evaluate the result.
// No rollouts. Continues as new like the PivotRL campaign (`temporal.stepsPerRun`), carrying its CampaignState (no
// `patched` guard: every SFT run started on code that continues as new).
//
// With `train.sft` (SFT at its best): the turns are split by trajectory into training and validation turns, the
// learning rate is chosen on the validation loss after a few steps from pi0, training stops early when the validation
// loss stops falling, and the checkpoint of the lowest validation loss is the one evaluated. Without it, the commands
// are those SFT always issued (recorded histories replay).
import { seedOf } from '../core/rng';
import type { CampaignConfig } from '../core/config';
import type { CampaignInput, CampaignResult, SftRecord } from '../pipeline/campaign-state';
import { chooseLr, recordValidation } from '../pipeline/sft-selection';
import { finish, ingestAndEvaluateBase } from './campaign';
import { methodRun } from './context';

type Run = ReturnType<typeof methodRun>;
type SftSettings = NonNullable<CampaignConfig['train']['sft']>;

export async function sftCampaign(input: CampaignInput): Promise<CampaignResult> {
  const { campaignId, config } = input;
  const run = methodRun(input);
  const { keys, state, progress, act, stage, dataStage, shared, enter, readyFor, evaluate, endStep } = run;
  const selection = config.train.sft;
  let data = state.data;
  if (!data) {
    data = await ingestAndEvaluateBase(act, config, campaignId, state, enter, evaluate, shared);
    enter('update');
    await act.selectTurns(`training turns: all ${progress.candidates} candidates`, { ...dataStage, shards: data.shards, out: keys.pivots });
  }
  if (selection && !progress.sft) {
    progress.sft = await chooseLearningRate(run, config, selection, data.baseCheckpoint);
    progress.hyper.lr = progress.sft.lr;
  }
  const count = config.train.batchPivots * config.train.groupSize;
  let checkpoint = state.checkpoint ?? data.baseCheckpoint;
  for (let step = progress.step + 1; step <= config.train.steps && progress.sft?.stoppedAt == null; step++) {
    if (!(await readyFor(step))) break;
    const k = keys.step(step);
    await act.drawBatch(`step ${step}: draw ${count} expert turns`, {
      ...stage,
      pivots: selection ? keys.sft.trainTurns : keys.pivots,
      count,
      seed: seedOf(config.seed, 'batch', step),
      out: { turns: k.turns, prompts: k.prompts },
    });
    const update = await act.sftUpdate(`step ${step}: SFT update -> checkpoint ${step}`, {
      ...stage,
      step,
      checkpoint,
      turns: k.turns,
      hp: sftHyper(config, progress.hyper.lr),
      out: keys.checkpoint(step),
    });
    const valLoss = selection ? await validateStep(run, selection, step, update, config.train.steps) : undefined;
    checkpoint = await endStep(step, update, data, { batchReward: 0, zeroVarianceGroups: 0, masked: 0, valLoss });
  }
  if (progress.sft) progress.finalHash = progress.sft.bestHash;
  return finish(progress, state, enter, evaluate, progress.sft?.bestCheckpoint ?? checkpoint, data);
}

const sftHyper = (config: CampaignConfig, lr: number) => ({
  lr,
  gradClip: config.train.maxGradNorm,
  weightDecay: config.train.weightDecay,
});

/**
 * Splits the training turns by trajectory, measures pi0's validation loss, and (with more than one candidate) runs
 * `probeSteps` steps from pi0 at each candidate lr on the same batches: the lr of the lowest validation loss wins.
 */
async function chooseLearningRate(run: Run, config: CampaignConfig, selection: SftSettings, base: string): Promise<SftRecord> {
  const { keys, act, stage } = run;
  const split = await act.splitSftTurns(`SFT: ${Math.round(100 * selection.valFraction)}% of the trajectories for validation`, {
    ...stage,
    turns: keys.pivots,
    valFraction: selection.valFraction,
    seed: seedOf(config.seed, 'sft-split'),
    out: { train: keys.sft.trainTurns, val: keys.sft.valTurns },
  });
  const base0 = await valLossOf(run, 'pi0', base, 'base');
  const lrs = selection.lrs ?? [config.train.lr];
  const lrSweep: SftRecord['lrSweep'] = [];
  if (lrs.length > 1) {
    const count = config.train.batchPivots * config.train.groupSize;
    for (let s = 1; s <= selection.probeSteps; s++)
      await act.drawBatch(`lr probe step ${s}: draw ${count} expert turns`, {
        ...stage,
        pivots: keys.sft.trainTurns,
        count,
        seed: seedOf(config.seed, 'batch', s),
        out: keys.sft.probeBatch(s),
      });
    for (const [i, lr] of lrs.entries()) {
      let checkpoint = base;
      for (let s = 1; s <= selection.probeSteps; s++) {
        const probe = await act.sftUpdate(`lr probe ${lr}, step ${s}`, {
          ...stage,
          step: s,
          checkpoint,
          turns: keys.sft.probeBatch(s).turns,
          hp: sftHyper(config, lr),
          out: keys.sft.probeCheckpoint(i, s),
        });
        checkpoint = probe.checkpoint;
      }
      lrSweep.push({ lr, valLoss: (await valLossOf(run, `lr probe ${lr}`, checkpoint, `probe-lr${String(i).padStart(2, '0')}`)).loss });
    }
  }
  return {
    trainTurns: split.trainTurns,
    valTurns: split.valTurns,
    lrSweep,
    lr: lrs.length > 1 ? chooseLr(lrSweep) : lrs[0],
    losses: [],
    valCurve: [{ step: 0, valLoss: base0.loss }],
    bestStep: 0,
    bestCheckpoint: base,
    bestHash: null,
    sinceBest: 0,
    stoppedAt: null,
  };
}

/** The validation loss of `checkpoint`, stored under the label (cached: a retried or replayed call reads it back). */
const valLossOf = (run: Run, what: string, checkpoint: string, label: string) =>
  run.act.sftValLoss(`${what}: validation loss`, {
    ...run.stage,
    checkpoint,
    turns: run.keys.sft.valTurns,
    out: run.keys.sft.valLoss(label),
  });

/** Records the step's training loss; every `evalEvery` steps and at the last, its validation loss (early stopping). */
async function validateStep(
  run: Run,
  selection: SftSettings,
  step: number,
  update: { checkpoint: string; hash: string; metrics: { loss: number } },
  steps: number,
): Promise<number | undefined> {
  const record = run.progress.sft!;
  record.losses.push({ step, loss: update.metrics.loss });
  if (step % selection.evalEvery !== 0 && step !== steps) return undefined;
  const v = await valLossOf(run, `step ${step}`, update.checkpoint, run.keys.checkpoint(step).split('/').at(-1)!);
  recordValidation(record, { step, valLoss: v.loss, checkpoint: update.checkpoint, hash: update.hash }, selection.patience);
  return v.loss;
}
