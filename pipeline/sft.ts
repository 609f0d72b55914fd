// SFT's validation split and loss: the training turns split by trajectory (a trajectory's turns all on one side, the
// held-out test tasks never involved), and the mean per-token cross-entropy of the expert actions of the validation
// turns under a checkpoint (no training). Knows nothing of Temporal.
import { Turn } from '../core/schemas';
import { Rng } from '../core/rng';
import { getJsonl, putJsonl, type ArtefactStore } from '../store';
import type { PolicyEngine } from '../policy/engine';
import { sftExamples } from './baselines';

export interface SftSplit {
  train: string;
  val: string;
  trainTurns: number;
  valTurns: number;
  valTrajectories: number;
}

/** Splits the turns of `turnsKey` by trajectory: a seeded `valFraction` of the trajectories (at least one) is validation. */
export async function splitByTrajectory(
  store: ArtefactStore,
  turnsKey: string,
  o: { valFraction: number; seed: number },
  out: { train: string; val: string },
): Promise<SftSplit> {
  const turns = await getJsonl(store, turnsKey, (v) => Turn.parse(v));
  const trajectories = [...new Set(turns.map((t) => t.trajectoryId))].sort();
  if (trajectories.length < 2) {
    throw new Error(`train.sft.valFraction: ${turnsKey} has ${trajectories.length} trajectory(ies); a validation split needs 2 or more`);
  }
  const valCount = Math.min(trajectories.length - 1, Math.max(1, Math.round(o.valFraction * trajectories.length)));
  const val = new Set(new Rng(o.seed).shuffle(trajectories).slice(0, valCount));
  const valTurns = turns.filter((t) => val.has(t.trajectoryId));
  const trainTurns = turns.filter((t) => !val.has(t.trajectoryId));
  await putJsonl(store, out.val, valTurns);
  await putJsonl(store, out.train, trainTurns);
  return { ...out, trainTurns: trainTurns.length, valTurns: valTurns.length, valTrajectories: valCount };
}

export interface ValidationLoss {
  checkpoint: string;
  /** Mean per-token negative log-likelihood of the expert actions (with their stop string). */
  loss: number;
  tokens: number;
  sequences: number;
}

/** The validation loss of `checkpoint` on the expert actions of `turns`. */
export async function validationLoss(
  store: ArtefactStore,
  engine: PolicyEngine,
  input: { checkpoint: string; turns: string },
): Promise<ValidationLoss> {
  const examples = await sftExamples(store, input.turns);
  if (examples.length === 0) throw new Error(`validation loss: no turns in ${input.turns}`);
  const scored = await engine.sequenceNll(input.checkpoint, examples);
  const tokens = scored.reduce((s, x) => s + x.tokens, 0);
  const nll = scored.reduce((s, x) => s + x.nll, 0);
  return { checkpoint: input.checkpoint, loss: nll / tokens, tokens, sequences: examples.length };
}
