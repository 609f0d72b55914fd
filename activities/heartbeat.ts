// Heartbeats keep flowing while an activity awaits long work (and carry cancellation to it).
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { BadInputError } from '../pipeline/ingest';

const HEARTBEAT_EVERY_MS = 2_000;

/** Runs `work`, heartbeating the latest progress every few seconds. */
export async function withHeartbeats<T>(work: (progress: (details: unknown) => void) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  let latest: unknown = undefined;
  ctx.heartbeat(latest);
  const timer = setInterval(() => ctx.heartbeat(latest), HEARTBEAT_EVERY_MS);
  try {
    return await work((details) => {
      latest = details;
    });
  } finally {
    clearInterval(timer);
  }
}

/** Bad input will not improve with a retry: fail the activity for good, with the message. */
export async function nonRetryableOnBadInput<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof BadInputError) throw ApplicationFailure.nonRetryable(err.message, 'BadInput');
    throw err;
  }
}
