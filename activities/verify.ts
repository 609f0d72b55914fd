// The verify activity: pipeline/verify.ts with the heartbeat cursor and the activity's cancellation.
import { Context } from '@temporalio/activity';
import { openStore } from '../store';
import { verifySamples, type VerifierFactory } from '../pipeline/verify';
import type { VerifyInput, VerifyResult } from './types';
import { resumeCursor, withHeartbeats } from './heartbeat';
import { VerifySettings } from '../core/stage-settings';
import { assertSettings } from './settings';

export function createVerifyActivities(makeVerifier: VerifierFactory) {
  return {
    /** CPU: one verdict per sample; a retry resumes at the first unfinished part of turns. */
    async verify(input: VerifyInput): Promise<VerifyResult> {
      assertSettings('verify input', VerifySettings, input);
      const ctx = Context.current();
      const resumeFrom = resumeCursor();
      return withHeartbeats((progress) =>
        verifySamples(openStore(input.store), makeVerifier, input, {
          resumeFrom,
          onPart: progress,
          log: (m) => ctx.log.info(m, { heartbeatCursor: resumeFrom }),
          signal: ctx.cancellationSignal,
        }),
      );
    },
  };
}
