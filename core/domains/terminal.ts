// Terminal tasks: an initial workspace, a goal, and a final check (a shell script, exit 0 = success). Terminal
// trajectories that come without their task are replayed instead: from a sandbox image, their earlier commands run.
import { z } from 'zod';
import { TaskBase, TaskFile, WorkspacePath } from './common';

export const TerminalTask = TaskBase.extend({
  files: z.array(TaskFile),
  dirs: z.array(WorkspacePath).default([]),
  check: z.string().min(1),
});
export type TerminalTask = z.infer<typeof TerminalTask>;

/** A Docker image reference: [registry[:port]/]name[:tag][@sha256:digest], lower-case name components. */
export const SandboxImage = z
  .string()
  .max(255)
  .regex(
    /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
    'a Docker image reference: name[:tag][@sha256:digest]',
  );

/**
 * A terminal trajectory imported without its task (no files, no final check): the state at turn t is a fresh sandbox
 * of `image` with the expert's commands a*_0 .. a*_{t-1} executed in /work as the expert ran them. It has no check, so
 * it serves training turns only, never an evaluation episode.
 */
export const TerminalReplayTask = TaskBase.extend({
  kind: z.literal('replay'),
  /** The sandbox image the commands run in; absent: the worker's terminal image. */
  image: SandboxImage.optional(),
});
export type TerminalReplayTask = z.infer<typeof TerminalReplayTask>;

/** The task of a terminal turn: a task with its workspace (no `kind`, as every task before replays), or a replay. */
export const TerminalTurnTask = z.discriminatedUnion('kind', [TerminalTask.extend({ kind: z.undefined().optional() }), TerminalReplayTask]);
export type TerminalTurnTask = z.infer<typeof TerminalTurnTask>;

/** The files and folders a terminal turn's state starts from in /work: the task's, or none for a replay (its image holds the rest). */
export const workspaceOf = (task: TerminalTurnTask): Pick<TerminalTask, 'files' | 'dirs'> =>
  task.kind === 'replay' ? { files: [], dirs: [] } : { files: task.files, dirs: task.dirs };
