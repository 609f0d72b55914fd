import { Context } from '@temporalio/activity';
import { Sample, Turn, Verdict } from '../core/schemas';
import { getJsonl, openStore, putJsonl } from '../store';
import { cachedStage, summaryOf } from '../pipeline/cached';
import { dropParts, partsOf, runInParts } from '../pipeline/parts';
import { summariseVerdicts } from '../pipeline/verdicts';
import type { Verifier } from '../verifiers/verifier';
import type { VerifierKind } from '../core/schemas';
import type { VerifyInput, VerifyResult } from './types';
import { resumeCursor, withHeartbeats } from './heartbeat';

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

export function createVerifyActivities(makeVerifier: VerifierFactory) {
  return {
    /** CPU: one verdict per sample; a retry resumes at the first unfinished part of turns. */
    async verify(input: VerifyInput): Promise<VerifyResult> {
      const store = openStore(input.store);
      let parts = 0;
      const result = await cachedStage(store, summaryOf(input.out), () =>
        withHeartbeats(async (progress) => {
          const turns = await getJsonl(store, input.turns, (v) => Turn.parse(v));
          const samples = await getJsonl(store, input.samples, (v) => Sample.parse(v));
          const byTurn = new Map<string, Sample[]>();
          for (const s of samples) byTurn.set(s.turnId, [...(byTurn.get(s.turnId) ?? []), s]);
          const verifier = makeVerifier(input.verifier, input);
          const resumeFrom = resumeCursor();
          const run = await runInParts(store, {
            prefix: partsOf(input.out),
            items: turns.map((turn) => ({ turn, samples: byTurn.get(turn.id) ?? [] })),
            size: VERIFY_PART_TURNS,
            resumeFrom,
            parse: (v) => Verdict.parse(v),
            work: (items) => verifier.verifyBatch(items, { signal: Context.current().cancellationSignal }),
            onPart: progress,
          });
          if (run.reused > 0) {
            Context.current().log.info(`verify ${input.out}: ${run.reused} of ${run.parts} parts read back from an earlier attempt`, {
              heartbeatCursor: resumeFrom,
            });
          }
          await putJsonl(store, input.out, run.rows);
          parts = run.parts;
          return { out: input.out, ...summariseVerdicts(run.rows), resumedParts: run.reused };
        }),
      );
      await dropParts(store, partsOf(input.out), parts);
      return result;
    },
  };
}
