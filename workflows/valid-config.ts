// The workflows' own check of their config input against the config schema: a client that skips the CLI (a raw
// Temporal client) gets the same checks and the same message, and the campaign fails at once, before any activity.
import { ApplicationFailure } from '@temporalio/workflow';
import { CampaignConfig, invalidConfigMessage } from '../core/config';

/** Fails the workflow for good when `config` breaks the schema. The config itself is used as given. */
export function assertValidConfig(config: unknown, where: string): void {
  const parsed = CampaignConfig.safeParse(config);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(invalidConfigMessage(where, parsed.error), 'InvalidConfig');
}
