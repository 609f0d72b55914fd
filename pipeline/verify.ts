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
  /**
   * Other sample sets of the same turns, verified in the same pass (each turn's state is opened once for all of its
   * samples); each one's verdicts go to its own `out`. The summary is of `samples` alone.
   */
  also?: { samples: string; out: string }[];
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
  run: StageRun = {},
): Promise<VerifySummary> {
  let parts = 0;
  const result = await cachedStage(store, summaryOf(input.out), async () => {
    const turns = await getJsonl(store, input.turns, (v) => Turn.parse(v));
    const sets = [{ samples: input.samples, out: input.out }, ...(input.also ?? [])];
    const merged = mergeSampleSets(await Promise.all(sets.map((set) => getJsonl(store, set.samples, (v) => Sample.parse(v)))));
    // The verifier gets the whole input: its concurrency, action timeout and word-overlap threshold.
    const verifier = makeVerifier(input.verifier, input);
    const verified = await runInParts(store, {
      prefix: partsOf(input.out),
      items: turns.map((turn) => ({ turn, samples: merged.byTurn.get(turn.id) ?? [] })),
      size: VERIFY_PART_TURNS,
      resumeFrom: run.resumeFrom ?? 0,
      signal: run.signal,
      parse: (v) => Verdict.parse(v),
      work: async (items) => withInvalidReplies(items, await verifier.verifyBatch(items, { signal: run.signal })),
      onPart: run.onPart,
    });
    if (verified.reused > 0)
      run.log?.(`verify ${input.out}: ${verified.reused} of ${verified.parts} parts read back from an earlier attempt`);
    const bySet = merged.split(verified.rows);
    for (const [i, set] of sets.entries()) if (i > 0) await putJsonl(store, set.out, bySet[i]);
    await putJsonl(store, input.out, bySet[0]);
    parts = verified.parts;
    return { out: input.out, ...summariseVerdicts(bySet[0]), resumedParts: verified.reused };
  });
  await dropParts(store, partsOf(input.out), parts);
  return result;
}

/**
 * A served chat model's reply that was no action (`invalid`, empty text) is judged 0 as `unparseable` with its reason,
 * whatever the verifier made of the empty text.
 */
export function withInvalidReplies(items: { samples: Sample[] }[], verdicts: Verdict[]): Verdict[] {
  const key = (s: { turnId: string; index: number }) => JSON.stringify([s.turnId, s.index]);
  const why = new Map(items.flatMap((it) => it.samples.filter((s) => s.invalid !== undefined).map((s) => [key(s), s.invalid!])));
  if (why.size === 0) return verdicts;
  return verdicts.map((v) => {
    const reason = why.get(key(v));
    return reason === undefined ? v : { ...v, reward: 0, reason: 'unparseable', detail: reason };
  });
}

/**
 * Several sample sets of the same turns as one: per turn, the samples of every set in order, renumbered 0..n-1;
 * `split` gives each set its verdicts back with the original sample indices.
 */
export function mergeSampleSets(sets: Sample[][]): { byTurn: Map<string, Sample[]>; split(verdicts: Verdict[]): Verdict[][] } {
  const byTurn = new Map<string, Sample[]>();
  const origin = new Map<string, { set: number; index: number }>();
  sets.forEach((samples, set) => {
    for (const s of samples) {
      const merged = byTurn.get(s.turnId) ?? [];
      origin.set(JSON.stringify([s.turnId, merged.length]), { set, index: s.index });
      merged.push({ ...s, index: merged.length });
      byTurn.set(s.turnId, merged);
    }
  });
  return {
    byTurn,
    split(verdicts) {
      const out: Verdict[][] = sets.map(() => []);
      for (const v of verdicts) {
        const o = origin.get(JSON.stringify([v.turnId, v.index]));
        if (!o) throw new Error(`verdict for turn ${v.turnId} sample ${v.index} matches no sample`);
        out[o.set].push({ ...v, index: o.index });
      }
      return out;
    },
  };
}
