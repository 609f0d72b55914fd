// The activities' re-check of the config-derived settings they receive, against the schemas the config is built
// from (core/stage-settings.ts, core/hyper.ts): a value out of bounds fails the activity for good, naming the field.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { TrainConfig } from '../core/hyper';
import { VerifySettings } from '../core/stage-settings';
import { formatZodIssues } from '../core/zod-errors';

/** Sandboxes at once, in the activities that run episodes. */
export const EpisodeConcurrency = VerifySettings.pick({ concurrency: true });

/** Training episodes of one end-to-end RL step: B tasks, G episodes each (the config's `train`). */
export const TrainingEpisodeCounts = z.object({
  tasks: TrainConfig.shape.batchPivots.unwrap(),
  group: TrainConfig.shape.groupSize.unwrap(),
});

/** Throws a non-retryable failure, "what: field: problem" per issue, when `value` breaks `schema`. */
export function assertSettings(what: string, schema: z.ZodType, value: unknown): void {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid ${what}\n${formatZodIssues(what, parsed.error)}`, 'BadInput');
}
