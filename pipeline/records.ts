// Records the pipeline writes between stages (beyond core/schemas).
import { z } from 'zod';
import { HeldoutTask, Step } from '../core/schemas';

/** A prompt for the generation stage: domain-agnostic text keyed by the id its samples will carry. */
export const PromptRow = z.object({ id: z.string(), prompt: z.string() });
export type PromptRow = z.infer<typeof PromptRow>;

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
