// SFT's model selection on its validation split, as pure functions the workflow calls: the learning rate of the
// lowest validation loss, and early stopping that keeps the checkpoint of the lowest validation loss.
import type { SftRecord } from './campaign-state';

/** The learning rate of the lowest validation loss (ties: the smaller lr; a NaN loss never wins). */
export function chooseLr(sweep: { lr: number; valLoss: number }[]): number {
  if (sweep.length === 0) throw new Error('chooseLr: no candidate learning rates');
  const loss = (x: { valLoss: number }) => (Number.isNaN(x.valLoss) ? Infinity : x.valLoss);
  return [...sweep].sort((a, b) => loss(a) - loss(b) || a.lr - b.lr)[0].lr;
}

/**
 * Records the validation loss after `step` (its checkpoint and hash); the best so far becomes the final candidate.
 * Returns true when training should stop: `patience` evaluations in a row without a strictly lower loss.
 */
export function recordValidation(
  r: SftRecord,
  at: { step: number; valLoss: number; checkpoint: string; hash: string },
  patience: number,
): boolean {
  const best = r.valCurve.find((p) => p.step === r.bestStep)?.valLoss ?? Infinity;
  r.valCurve.push({ step: at.step, valLoss: at.valLoss });
  if (at.valLoss < best) {
    r.bestStep = at.step;
    r.bestCheckpoint = at.checkpoint;
    r.bestHash = at.hash;
    r.sinceBest = 0;
  } else r.sinceBest++;
  if (r.sinceBest < patience) return false;
  r.stoppedAt = at.step;
  return true;
}
