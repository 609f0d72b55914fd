// The generate activity: pipeline/generate.ts with the sampler the input names, the heartbeat cursor, and
// requests the endpoint refused failing without retries.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { openStore } from '../store';
import { generateSamples, samplerOf, type EngineFor } from '../pipeline/generate';
import { SamplerRequestError } from '../policy/openai';
import type { GenerateInput, GenerateResult } from './types';
import { resumeCursor, withHeartbeats } from './heartbeat';
import { SamplingSettings } from '../core/stage-settings';
import { assertSettings } from './settings';

export function createGenerateActivities(engineFor: EngineFor) {
  return {
    /** GPU: draws `n` single-turn samples per prompt from a checkpoint; a retry resumes at the first unfinished chunk. */
    async generate(input: GenerateInput): Promise<GenerateResult> {
      assertSettings('generate input: sampling', SamplingSettings, input.sampling);
      const { log, cancellationSignal } = Context.current();
      const sampler = samplerOf(
        input.sampling.sampler,
        () => engineFor(input.store),
        (m) => log.warn(m),
      );
      const resumeFrom = resumeCursor();
      return withHeartbeats((progress) =>
        generateSamples(openStore(input.store), sampler, input, {
          resumeFrom,
          onPart: progress,
          log: (m) => log.info(m, { heartbeatCursor: resumeFrom }),
          signal: cancellationSignal,
        }),
      ).catch(nonRetryableIfBadRequest);
    },
  };
}

/** A request the endpoint refused (4xx other than 429, bad key, bad response) fails the activity without retries. */
function nonRetryableIfBadRequest(err: unknown): never {
  if (err instanceof SamplerRequestError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, 'SamplerRequestError');
  throw err;
}
