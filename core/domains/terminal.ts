// Terminal tasks: an initial workspace, a goal, and a final check (a shell script, exit 0 = success).
import { z } from 'zod';
import { TaskBase, TaskFile, WorkspacePath } from './common';

export const TerminalTask = TaskBase.extend({
  files: z.array(TaskFile),
  dirs: z.array(WorkspacePath).default([]),
  check: z.string().min(1),
});
export type TerminalTask = z.infer<typeof TerminalTask>;
