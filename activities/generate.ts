import { ApplicationFailure, Context } from '@temporalio/activity';
import { getJsonl, openStore, putJsonl } from '../store';
import { seedOf } from '../core/rng';
import { Sample } from '../core/schemas';
import { cachedStage, summaryOf } from '../pipeline/cached';
import { dropParts, partsOf, runInParts } from '../pipeline/parts';
import { PromptRow } from '../pipeline/records';
import { ACTION_STOP } from '../tasks/terminal/render';
import type { PolicyEngine } from '../policy/engine';
import { SamplerRequestError, openaiSampler, type Sampler } from '../policy/openai';
import type { StoreConfig } from '../store';
import type { GenerateInput, GenerateResult } from './types';
import { resumeCursor, withHeartbeats } from './heartbeat';

/** Prompts per call to the model: bounds memory, and each chunk is a stored part (the resumable cursor). */
export const GENERATE_CHUNK = 64;

/** The generation limit of prompts that name none (out-of-domain items: short answers). */
export const DEFAULT_MAX_TOKENS = 48;

/** The limit for a chunk: the configured one, else the largest its prompts need (chunks rarely mix domains). */
const maxTokensOf = (configured: number | undefined, chunk: PromptRow[]): number =>
  configured ?? Math.max(...chunk.map((p) => p.maxTokens ?? DEFAULT_MAX_TOKENS));

export type EngineFor = (store: StoreConfig) => PolicyEngine;

export function createGenerateActivities(engineFor: EngineFor) {
  return {
    /** GPU: draws `n` single-turn samples per prompt from a checkpoint; a retry resumes at the first unfinished chunk. */
    async generate(input: GenerateInput): Promise<GenerateResult> {
      const store = openStore(input.store);
      const { sampler: source, ...sampling } = input.sampling;
      const engine: Sampler =
        source?.kind === 'openai' ? openaiSampler(source, { log: (m) => Context.current().log.warn(m) }) : engineFor(input.store);
      let parts = 0;
      const result = await cachedStage(store, summaryOf(input.out), () =>
        withHeartbeats(async (progress) => {
          const prompts = await getJsonl(store, input.prompts, (v) => PromptRow.parse(v));
          const resumeFrom = resumeCursor();
          const run = await runInParts(store, {
            prefix: partsOf(input.out),
            items: prompts,
            size: GENERATE_CHUNK,
            resumeFrom,
            parse: (v) => Sample.parse(v),
            // The seed of a chunk depends only on where it starts: a resumed run draws the same samples.
            work: async (chunk, start) => {
              const completions = await engine
                .sample(
                  input.checkpoint,
                  chunk.map((p) => p.prompt),
                  {
                    ...sampling,
                    maxTokens: maxTokensOf(sampling.maxTokens, chunk),
                    stop: [ACTION_STOP],
                    seed: seedOf(sampling.seed, start),
                  },
                )
                .catch(nonRetryableIfBadRequest);
              return completions.flatMap((group, i) =>
                group.map((c, index): Sample => ({
                  turnId: chunk[i].id,
                  index,
                  text: c.text,
                  stop: c.stop,
                  logprobs: c.logprobs,
                  logprobsMissing: c.logprobsMissing,
                })),
              );
            },
            onPart: progress,
          });
          if (run.reused > 0) {
            Context.current().log.info(`generate ${input.out}: ${run.reused} of ${run.parts} chunks read back from an earlier attempt`, {
              heartbeatCursor: resumeFrom,
            });
          }
          await putJsonl(store, input.out, run.rows);
          parts = run.parts;
          const tokens = run.rows.reduce((a, r) => a + r.logprobs.length, 0);
          return { out: input.out, samples: run.rows.length, tokens, backend: await engine.backend(), resumedChunks: run.reused };
        }),
      );
      await dropParts(store, partsOf(input.out), parts);
      return result;
    },
  };
}

/** A request the endpoint refused (4xx other than 429, bad key, bad response) fails the activity without retries. */
function nonRetryableIfBadRequest(err: unknown): never {
  if (err instanceof SamplerRequestError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, 'SamplerRequestError');
  throw err;
}
