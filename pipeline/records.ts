// Records the pipeline writes between stages (beyond core/schemas).
import { z } from 'zod';
import { HeldoutTask, Step, type OodItem, type Turn } from '../core/schemas';
import { putJsonl, type ArtefactStore } from '../store';
import { ChatPrompt } from '../core/chat-prompt';
import { ACTION_TOKENS, chatPromptOf, promptOf } from '../tasks/domains';
import { renderOodPrompt } from '../tasks/ood';

/**
 * A prompt for the generation stage: domain-agnostic text keyed by the id its samples will carry, the generation
 * limit its domain's actions need (absent for out-of-domain items: the sampler's default) and, for a state, the same
 * state as a chat conversation for a served chat model (absent for out-of-domain items and rows written before it
 * existed: the text is sent as the user's message).
 */
export const PromptRow = z.object({
  id: z.string(),
  prompt: z.string(),
  maxTokens: z.number().int().positive().optional(),
  chat: ChatPrompt.optional(),
});
export type PromptRow = z.infer<typeof PromptRow>;

/** The prompt row of a state: the task ({ domain, task }: a held-out task or a turn's) after the steps taken so far. */
export const promptRowOf = (id: string, ref: HeldoutTask | Turn, history: Step[]): PromptRow => ({
  id,
  prompt: promptOf(ref, history),
  maxTokens: ACTION_TOKENS[ref.domain],
  chat: chatPromptOf(ref, history),
});

/** The prompt row of an out-of-domain item (no generation limit: the sampler's default). */
export const oodPromptRowOf = (item: OodItem): PromptRow => ({ id: item.id, prompt: renderOodPrompt(item) });

/** Writes turns and the prompt rows of their states (the generate stage's input), under the same ids. */
export async function putTurnsWithPrompts(store: ArtefactStore, turns: Turn[], out: { turns: string; prompts: string }): Promise<void> {
  await putJsonl(store, out.turns, turns);
  await putJsonl(
    store,
    out.prompts,
    turns.map((t) => promptRowOf(t.id, t, t.history)),
  );
}

/** An evaluation episode on a held-out task, advanced one action per generation round. */
export const Episode = z.object({
  id: z.string(),
  /** The held-out task ({ domain, task }). */
  ref: HeldoutTask,
  steps: z.array(Step),
  done: z.boolean(),
  /** The task's final check after the last executed step (null until an action ran). */
  passed: z.boolean().nullable(),
});
export type Episode = z.infer<typeof Episode>;
