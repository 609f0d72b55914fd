// What evaluation needs of a domain's episodes: replay a held-out task's actions and run its final check. The
// sandboxes implement it for real; tests implement it in memory.
import type { HeldoutTask } from '../core/schemas';

export interface EpisodeRunner {
  /** Runs `actions` from the task's initial state; returns each action's output and the task's final check. */
  replay(
    ref: HeldoutTask,
    actions: string[],
  ): Promise<{
    outputs: { output: string; exitCode: number }[];
    passed: boolean;
    /** The last action ended the episode (a tool-use reply to the user hands the turn back). */
    ended?: boolean;
  }>;
}
