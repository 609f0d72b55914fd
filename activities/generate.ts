import { getJsonl, openStore, putJsonl } from '../store';
import { seedOf } from '../core/rng';
import type { Sample } from '../core/schemas';
import { cachedStage, summaryOf } from '../pipeline/cached';
import { PromptRow } from '../pipeline/records';
import { ACTION_STOP } from '../tasks/terminal/render';
import type { PolicyEngine } from '../policy/engine';
import type { StoreConfig } from '../store';
import type { GenerateInput, GenerateResult } from './types';
import { withHeartbeats } from './heartbeat';

/** Prompts per call to the model: bounds memory and gives heartbeats a cursor. */
const CHUNK = 64;

export type EngineFor = (store: StoreConfig) => PolicyEngine;

export function createGenerateActivities(engineFor: EngineFor) {
  return {
    /** GPU: draws `n` single-turn samples per prompt from a checkpoint. */
    async generate(input: GenerateInput): Promise<GenerateResult> {
      const store = openStore(input.store);
      const engine = engineFor(input.store);
      return cachedStage(store, summaryOf(input.out), () =>
        withHeartbeats(async (progress) => {
          const prompts = await getJsonl(store, input.prompts, (v) => PromptRow.parse(v));
          const rows: Sample[] = [];
          for (let start = 0; start < prompts.length; start += CHUNK) {
            const chunk = prompts.slice(start, start + CHUNK);
            const completions = await engine.sample(
              input.checkpoint,
              chunk.map((p) => p.prompt),
              { ...input.sampling, stop: [ACTION_STOP], seed: seedOf(input.sampling.seed, start) },
            );
            completions.forEach((group, i) =>
              group.forEach((c, index) => rows.push({ turnId: chunk[i].id, index, text: c.text, stop: c.stop, logprobs: c.logprobs })),
            );
            progress({ prompts: start + chunk.length, of: prompts.length });
          }
          await putJsonl(store, input.out, rows);
          const tokens = rows.reduce((a, r) => a + r.logprobs.length, 0);
          return { out: input.out, samples: rows.length, tokens, backend: await engine.backend() };
        }),
      );
    },
  };
}
