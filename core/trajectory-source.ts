// An input file of expert data and its format (the config's `data.trajectories`). A plain string is a path whose
// format is detected from its first record, so configs written before formats existed still mean the same thing.
import { z } from 'zod';
import { SandboxImage } from './domains/terminal';

/**
 * - `chat`: one OpenAI chat conversation per line, with PivotRL's task (core/schemas Trajectory) or plain (messages and
 *   tools, formats/openai-chat.ts); every assistant action becomes a candidate turn.
 * - `nemo-gym`: one NeMo-Gym pivot row per line (formats/nemo-gym.ts), with PivotRL's block or as NeMo-Gym writes it;
 *   each row is one candidate turn.
 * - `auto`: `nemo-gym` when the first JSON record has `responses_create_params`, else `chat`.
 */
export const TrajectoryFormat = z.enum(['auto', 'chat', 'nemo-gym']);
export type TrajectoryFormat = z.infer<typeof TrajectoryFormat>;

export const TrajectorySource = z.union([
  z.string().min(1),
  z
    .object({
      path: z.string().min(1),
      format: TrajectoryFormat.default('auto'),
      /** Sandbox image of the file's terminal trajectories that come without a task and name none (default: the terminal image). */
      image: SandboxImage.optional(),
    })
    .strict(),
]);
export type TrajectorySource = z.infer<typeof TrajectorySource>;
