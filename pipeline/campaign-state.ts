// What a campaign is and has done, as plain data: the workflow carries it from run to run and answers queries with
// it, the CLI prints it, the experiment report reads it. No Temporal here, so every floor above can import it.
import type { CampaignConfig } from '../core/config';
import type { VerificationCounts } from '../core/turn-verification';
import type { LiveHyper } from '../core/hyper';
import type { TrainMetrics } from '../policy/schemas';
import type { EpisodeScore, OodScore } from './episodes';
import type { OodDrift } from './ood-drift';
import type { PivotSelection } from './profile';
import type { PerTurnSummary } from './turn-eval';

export interface CampaignInput {
  campaignId: string;
  config: CampaignConfig;
  /** Set when the campaign continues as new: where the previous run left off. */
  resume?: CampaignState;
  /** pi0's work done once for the experiment this campaign belongs to: the campaign skips its own. */
  shared?: SharedPi0;
}

/**
 * What an experiment's pi0 workflow (workflows/pi0.ts) did once for every campaign sharing its data and evaluation
 * settings: ingest (under the `owner` campaign's keys), pi0's evaluation and, for PivotRL, the profile at this
 * campaign's profile config. A campaign given it starts at its first update step.
 */
export interface SharedPi0 {
  /** The campaign id whose store keys hold the ingested shards, held-out tasks and OOD items. */
  owner: string;
  data: NonNullable<CampaignState['data']>;
  candidates: number;
  badRecords: number;
  /** How the candidate turns are verified (absent in work recorded before it was counted). */
  verification?: VerificationCounts;
  /** pi0's evaluation (the `before` of every campaign) and the rollout turns it spent. */
  before: Evaluation;
  evaluationTurns: number;
  /** pi0's profile at this campaign's K, verifier and lambdaDiff (PivotRL selecting pivots only). */
  profile?: { pivots: PivotSelection; rolloutTurns: number; backend: string | null };
}

/** What a campaign carries from one run to the next: its progress record, keys and counts; never data. */
export interface CampaignState {
  progress: CampaignProgress;
  /** What ingest stored (keys), set once ingest is done. */
  data: { baseCheckpoint: string; heldout: string; ood: { items: string; prompts: string }; shards: number } | null;
  /** Profiling shards verified so far. */
  profiled: number;
  /** The policy checkpoint the next update step starts from. */
  checkpoint: string | null;
  stopRequested: boolean;
}

/** Where a campaign is: the `stage` of its progress record (and its PivotStage search attribute). */
export type CampaignPhase = 'ingest' | 'evaluate-base' | 'profile' | 'update' | 'evaluate-final' | 'done' | 'stopped';

export interface StepRecord {
  step: number;
  batchReward: number;
  zeroVarianceGroups: number;
  masked: number;
  update: TrainMetrics;
  checkpoint: string;
  hash: string;
  /** The step's training loss (GRPO: policy loss + KL term; SFT: mean per-token cross-entropy). */
  loss?: number;
  /** Wall time (ms) of this step's own activity calls (curve evaluations aside), by activity. */
  ms?: Record<string, number>;
  /** SFT with `train.sft`: mean per-token validation loss after this step, when it was evaluated. */
  valLoss?: number;
}

/** SFT with `train.sft`: its validation split, the learning rate chosen on it, the validation curve, early stopping. */
export interface SftRecord {
  trainTurns: number;
  valTurns: number;
  /** Validation loss after `probeSteps` steps from pi0 at each candidate learning rate. */
  lrSweep: { lr: number; valLoss: number }[];
  /** The chosen learning rate (lowest validation loss; ties: the smaller). */
  lr: number;
  /** Training loss of every step (`history` keeps only the recent ones). */
  losses: { step: number; loss: number }[];
  /** pi0's validation loss (step 0), then every `evalEvery` steps. */
  valCurve: { step: number; valLoss: number }[];
  /** The step of the lowest validation loss so far (0: pi0) and its checkpoint: the final checkpoint. */
  bestStep: number;
  bestCheckpoint: string;
  /** The best checkpoint's hash (null while pi0 is the best: the campaign imported it, its hash is the base's). */
  bestHash: string | null;
  /** Evaluations since the best one. */
  sinceBest: number;
  /** The step after which early stopping ended training; null while training or when it ran every step. */
  stoppedAt: number | null;
}

export interface CampaignProgress {
  campaignId: string;
  stage: CampaignPhase;
  step: number;
  steps: number;
  paused: boolean;
  candidates: number;
  badRecords: number;
  /** The candidate turns by how they are verified, and those whose state could not be rebuilt (absent before ingest counted it). */
  verification?: VerificationCounts;
  pivots: PivotSelection | null;
  rolloutTurns: { profiling: number; training: number; evaluation: number };
  /** The most recent steps (at most RECENT_STEPS). */
  history: StepRecord[];
  before: Evaluation | null;
  after: Evaluation | null;
  hyper: Hyper;
  finalCheckpoint: string | null;
  finalHash: string | null;
  backend: string | null;
  /** Runs of this campaign so far (1 + times it continued as new). */
  run?: number;
  /** What the campaign is doing now: the summary of the activity it last called. */
  now?: string;
  /** What it trains (absent in campaigns started before other methods existed: PivotRL). */
  method?: CampaignConfig['method'];
  /** How PivotRL's training turns are chosen (absent in campaigns started before the random-turns ablation: pivots). */
  selection?: CampaignConfig['profile']['selection'];
  /** Evaluations between the first and the last (`evaluate.every`), for learning curves by rollout turns. */
  curve?: CurvePoint[];
  /** SFT with `train.sft`: validation split, chosen learning rate, validation curve, early stopping. */
  sft?: SftRecord;
  /** Where the campaign's time went: wall time and work of its activity calls by "<phase>/<activity>". */
  stageTimes?: Record<string, StageTime>;
}

/** The activity calls of one kind in one phase: how many, their wall time, and the work they reported. */
export interface StageTime {
  calls: number;
  ms: number;
  /** Samples generated or verified. */
  samples: number;
  /** Tokens generated or trained on. */
  tokens: number;
}

export type CampaignResult = CampaignProgress;

/** Hyper-parameters that may change mid-run (validated Update). */
export type Hyper = LiveHyper;

export interface Evaluation {
  checkpoint: string;
  inDomain: EpisodeScore;
  ood: OodScore;
  /** Held-out per-turn accuracy at expert states (when `evaluate.heldoutTurns` > 0). */
  perTurn?: PerTurnSummary;
  /** Store key of the per-item OOD rows (OodItemScore, pipeline/episodes.ts); absent in older records. */
  oodItems?: string;
  /** NLL of the OOD reference answers under the checkpoint (`evaluate.oodDrift`). */
  oodDrift?: OodDrift;
}

/** One point of a learning curve: an evaluation after `step` steps and the rollout turns spent by then. */
export interface CurvePoint {
  step: number;
  rolloutTurns: { profiling: number; training: number };
  /** Multi-turn success; absent when the curve's evaluations skip the episodes (`evaluate.curveEpisodes: false`). */
  inDomain?: number;
  ood: number;
  /** The evaluation's held-out per-turn result (when `evaluate.heldoutTurns` > 0). */
  perTurn?: PerTurnSummary;
}
