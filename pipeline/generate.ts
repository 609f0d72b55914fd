// The generate stage: `n` single-turn samples per prompt from a checkpoint, in chunks stored as they finish (the
// resumable cursor), each seeded by where it starts, so a resumed run draws the same samples. Knows nothing of Temporal.
import { seedOf } from '../core/rng';
import type { SamplingSettings } from '../core/stage-settings';
import { Sample } from '../core/schemas';
import { getJsonl, putJsonl, type ArtefactStore, type StoreConfig } from '../store';
import { ACTION_STOP } from '../tasks/actions';
import type { PolicyEngine } from '../policy/engine';
import { openaiSampler, type Sampler } from '../policy/openai';
import type { SamplerConfig } from '../policy/schemas';
import { cachedStage, summaryOf } from './cached';
import { dropParts, partsOf, runInParts, type StageRun } from './parts';
import { PromptRow } from './records';

/** Prompts per call to the model: bounds memory, and each chunk is a stored part (the resumable cursor). */
export const GENERATE_CHUNK = 64;

/** The generation limit of prompts that name none (out-of-domain items: short answers). */
export const DEFAULT_MAX_TOKENS = 48;

export interface GenerateOptions {
  checkpoint: string;
  /** PromptRow records. */
  prompts: string;
  /** Where the Sample records go. */
  out: string;
  sampling: SamplingSettings;
}

export interface GenerateSummary {
  out: string;
  samples: number;
  tokens: number;
  backend: string;
  /** Chunks read back from an earlier attempt instead of generated again (0 when nothing was interrupted). */
  resumedChunks?: number;
}

/** The local engine that serves a store's checkpoints. */
export type EngineFor = (store: StoreConfig) => PolicyEngine;

/** Where the samples come from: the served model the settings name, else the local engine. */
export function samplerOf(source: SamplerConfig | undefined, local: () => Sampler, warn: (message: string) => void): Sampler {
  return source?.kind === 'openai' ? openaiSampler(source, { log: warn }) : local();
}

/** The limit for a chunk: the configured one, else the largest its prompts need (chunks rarely mix domains). */
const maxTokensOf = (configured: number | undefined, chunk: PromptRow[]): number =>
  configured ?? Math.max(...chunk.map((p) => p.maxTokens ?? DEFAULT_MAX_TOKENS));

/** Samples every prompt of `input.prompts` into `input.out`; a finished stage returns its stored summary. */
export async function generateSamples(
  store: ArtefactStore,
  sampler: Sampler,
  input: GenerateOptions,
  run: StageRun = {},
): Promise<GenerateSummary> {
  const { sampler: _source, ...sampling } = input.sampling;
  let parts = 0;
  const result = await cachedStage(store, summaryOf(input.out), async () => {
    const prompts = await getJsonl(store, input.prompts, (v) => PromptRow.parse(v));
    const chunks = await runInParts(store, {
      prefix: partsOf(input.out),
      items: prompts,
      size: GENERATE_CHUNK,
      resumeFrom: run.resumeFrom ?? 0,
      signal: run.signal,
      parse: (v) => Sample.parse(v),
      // The seed of a chunk depends only on where it starts: a resumed run draws the same samples.
      work: async (chunk, start) => {
        const completions = await sampler.sample(
          input.checkpoint,
          chunk.map((p) => p.prompt),
          { ...sampling, maxTokens: maxTokensOf(sampling.maxTokens, chunk), stop: [ACTION_STOP], seed: seedOf(sampling.seed, start) },
          chunk.map((p) => p.chat),
        );
        return completions.flatMap((group, i) =>
          group.map((c, index): Sample => ({
            turnId: chunk[i].id,
            index,
            text: c.text,
            stop: c.stop,
            logprobs: c.logprobs,
            logprobsMissing: c.logprobsMissing,
            invalid: c.invalid,
          })),
        );
      },
      onPart: run.onPart,
    });
    if (chunks.reused > 0) run.log?.(`generate ${input.out}: ${chunks.reused} of ${chunks.parts} chunks read back from an earlier attempt`);
    await putJsonl(store, input.out, chunks.rows);
    parts = chunks.parts;
    const tokens = chunks.rows.reduce((a, r) => a + r.logprobs.length, 0);
    return { out: input.out, samples: chunks.rows.length, tokens, backend: await sampler.backend(), resumedChunks: chunks.reused };
  });
  await dropParts(store, partsOf(input.out), parts);
  return result;
}
