// The verify stage: one verdict per sample, turn by turn, in parts of turns stored as they finish (the resumable
// cursor). Knows nothing of Temporal.
import { Sample, Turn, Verdict, type VerifierKind } from '../core/schemas';
import type { VerifySettings } from '../core/stage-settings';
import { getJsonl, putJsonl, type ArtefactStore } from '../store';
import type { Verifier } from '../verifiers/verifier';
import { cachedStage, summaryOf } from './cached';
import { dropParts, partsOf, runInParts, type StageRun } from './parts';
import { summariseVerdicts } from './verdicts';

export type VerifierFactory = (
  kind: VerifierKind,
  opts: { concurrency: number; actionTimeoutMs: number; wordOverlap?: number },
) => Verifier;

/**
 * Turns per stored part of a verify stage (their verdict groups are the resumable cursor's unit). Each part is one
 * verifyBatch call, so its sandboxes are warmed once per part: large enough to keep that small, small enough that
 * a retry repeats little.
 */
export const VERIFY_PART_TURNS = 16;

export interface VerifyOptions extends VerifySettings {
  /** Turn records. */
  turns: string;
  /** Their Sample records. */
  samples: string;
  /** Where the Verdict records go. */
  out: string;
}

export interface VerifySummary {
  out: string;
  samples: number;
  rewarded: number;
  masked: number;
  meanReward: number;
  /** Share of groups (turns) whose verified rewards are all equal: no GRPO signal there. */
  zeroVarianceGroups: number;
  byReason: Record<string, number>;
  /** Parts of turns read back from an earlier attempt instead of verified again (0 when nothing was interrupted). */
  resumedParts?: number;
}

/** Verifies every sample of `input.samples` into `input.out`; a finished stage returns its stored summary. */
export async function verifySamples(
  store: ArtefactStore,
  makeVerifier: VerifierFactory,
  input: VerifyOptions,
  run: StageRun & { signal?: AbortSignal } = {},
): Promise<VerifySummary> {
  let parts = 0;
  const result = await cachedStage(store, summaryOf(input.out), async () => {
    const turns = await getJsonl(store, input.turns, (v) => Turn.parse(v));
    const samples = await getJsonl(store, input.samples, (v) => Sample.parse(v));
    const byTurn = new Map<string, Sample[]>();
    for (const s of samples) byTurn.set(s.turnId, [...(byTurn.get(s.turnId) ?? []), s]);
    // The verifier gets the whole input: its concurrency, action timeout and word-overlap threshold.
    const verifier = makeVerifier(input.verifier, input);
    const verified = await runInParts(store, {
      prefix: partsOf(input.out),
      items: turns.map((turn) => ({ turn, samples: byTurn.get(turn.id) ?? [] })),
      size: VERIFY_PART_TURNS,
      resumeFrom: run.resumeFrom ?? 0,
      parse: (v) => Verdict.parse(v),
      work: (items) => verifier.verifyBatch(items, { signal: run.signal }),
      onPart: run.onPart,
    });
    if (verified.reused > 0)
      run.log?.(`verify ${input.out}: ${verified.reused} of ${verified.parts} parts read back from an earlier attempt`);
    await putJsonl(store, input.out, verified.rows);
    parts = verified.parts;
    return { out: input.out, ...summariseVerdicts(verified.rows), resumedParts: verified.reused };
  });
  await dropParts(store, partsOf(input.out), parts);
  return result;
}
