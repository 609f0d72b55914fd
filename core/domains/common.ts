// Fields every task has, whatever its domain.
import { z } from 'zod';

/** A path inside a task's workspace or repository: relative, no `..`. */
export const WorkspacePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'must be a relative path inside the workspace');

/** A file of a task's initial workspace or repository. */
export const TaskFile = z.object({
  path: WorkspacePath,
  content: z.string(),
  mode: z.number().int().min(0).max(0o777).default(0o644),
});
export type TaskFile = z.infer<typeof TaskFile>;

export const TaskBase = z.object({
  id: z.string().min(1),
  /** The generator template (or source) of the task: held-out splits can be by template. */
  template: z.string().min(1),
  /** What the user asks for, as the policy sees it. */
  goal: z.string().min(1),
  /** Evaluation episodes end after this many actions. */
  maxTurns: z.number().int().positive().default(8),
});
