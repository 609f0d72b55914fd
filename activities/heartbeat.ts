// Heartbeats keep flowing while an activity awaits long work (and carry cancellation to it).
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { BadInputError } from '../pipeline/ingest';
import { cursorFrom } from '../pipeline/parts';

const HEARTBEAT_EVERY_MS = 2_000;

/**
 * Runs `work`, heartbeating its latest progress (the resumable cursor) as soon as it moves and every few seconds
 * in between, so that a long part keeps the activity alive. The SDK throttles what reaches the server.
 */
export async function withHeartbeats<T>(work: (progress: (details: unknown) => void) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  // Until this attempt reports progress, keep the previous attempt's cursor (a retry of the retry resumes there too).
  let latest: unknown = ctx.info.heartbeatDetails;
  ctx.heartbeat(latest);
  const timer = setInterval(() => ctx.heartbeat(latest), HEARTBEAT_EVERY_MS);
  try {
    return await work((details) => {
      latest = details;
      ctx.heartbeat(latest);
    });
  } finally {
    clearInterval(timer);
  }
}

/** The parts an earlier attempt of this activity reported finished in its last heartbeat (0 on a first attempt). */
export function resumeCursor(): number {
  return cursorFrom(Context.current().info.heartbeatDetails);
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
