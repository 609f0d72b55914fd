import { Context } from '@temporalio/activity';
import { Sample, Turn, Verdict } from '../core/schemas';
import { getJsonl, openStore, putJsonl } from '../store';
import { cachedStage, summaryOf } from '../pipeline/cached';
import { summariseVerdicts } from '../pipeline/verdicts';
import type { Verifier } from '../verifiers/verifier';
import type { VerifierKind } from '../core/schemas';
import type { VerifyInput, VerifyResult } from './types';
import { withHeartbeats } from './heartbeat';

export type VerifierFactory = (kind: VerifierKind, opts: { concurrency: number; actionTimeoutMs: number }) => Verifier;

export function createVerifyActivities(makeVerifier: VerifierFactory) {
  return {
    async verify(input: VerifyInput): Promise<VerifyResult> {
      const store = openStore(input.store);
      return cachedStage(store, summaryOf(input.out), () =>
        withHeartbeats(async (progress) => {
          const turns = await getJsonl(store, input.turns, (v) => Turn.parse(v));
          const samples = await getJsonl(store, input.samples, (v) => Sample.parse(v));
          const byTurn = new Map<string, Sample[]>();
          for (const s of samples) byTurn.set(s.turnId, [...(byTurn.get(s.turnId) ?? []), s]);
          const verifier = makeVerifier(input.verifier, input);
          const verdicts: Verdict[] = await verifier.verifyBatch(
            turns.map((turn) => ({ turn, samples: byTurn.get(turn.id) ?? [] })),
            { signal: Context.current().cancellationSignal, onProgress: (done) => progress({ verifiedTurns: done }) },
          );
          await putJsonl(store, input.out, verdicts);
          return { out: input.out, ...summariseVerdicts(verdicts) };
        }),
      );
    },
  };
}
