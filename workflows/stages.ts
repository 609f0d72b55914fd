// The campaign's activities, stage by stage: which task queue runs each (GPU work only on the GPU queue), its
// timeouts and retries, and the one-line summary the Temporal UI shows on each call.
//
// Every activity has a start-to-close timeout; every long one heartbeats a resumable cursor and has a heartbeat
// timeout, so a lost worker is noticed within HEARTBEAT and its work resumes elsewhere from the last stored part.
// Bad input is never retried. No schedule-to-start timeout: GPU work waits on its queue until a GPU worker polls.
import { proxyActivities, type ActivityFunctionWithOptions, type ActivityOptions } from '@temporalio/workflow';
import type { CpuActivities, GpuActivities } from '../activities';

/** A worker that stops heartbeating for this long is taken as lost; its activity is retried. */
const HEARTBEAT = '30 seconds';

const retry = (maximumAttempts: number): ActivityOptions['retry'] => ({
  maximumAttempts,
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  // ObjectStoreSetupError: a missing bucket or refused credentials (store/errors.ts).
  nonRetryableErrorTypes: ['BadInput', 'ObjectStoreSetupError'],
});

export const STAGE_OPTIONS = {
  /** Reads every trajectory file and writes the shards; heartbeats as records go by. */
  ingest: { startToCloseTimeout: '2 hours', heartbeatTimeout: HEARTBEAT, retry: retry(5) },
  /** Generation: chunks of prompts, each stored and heartbeated as the cursor. */
  generate: { startToCloseTimeout: '2 hours', heartbeatTimeout: HEARTBEAT, retry: retry(10) },
  /** Sandboxed verification: parts of turns, each stored and heartbeated as the cursor. */
  verify: { startToCloseTimeout: '2 hours', heartbeatTimeout: HEARTBEAT, retry: retry(10) },
  /** One GRPO step: its checkpoint key is fixed, so a retry finds or reproduces the same checkpoint. */
  update: { startToCloseTimeout: '1 hour', heartbeatTimeout: HEARTBEAT, retry: retry(10) },
  /** One action of every evaluation episode in sandboxes, or their final checks. */
  episodes: { startToCloseTimeout: '1 hour', heartbeatTimeout: HEARTBEAT, retry: retry(10) },
  /** Bookkeeping over stored records (pivot selection, batch draw, OOD scoring): seconds. */
  bookkeeping: { startToCloseTimeout: '10 minutes', retry: retry(5) },
} satisfies Record<string, ActivityOptions>;

/** A kind of activity that shares timeouts and retries (episodes and bookkeeping group several stages' calls). */
type ActivityKind = keyof typeof STAGE_OPTIONS;

/** What the campaign hears of its activity calls. */
export interface ActivityListener {
  /** A call starts: its summary (the campaign's "now" line). */
  onCall?(summary: string): void;
  /** A call ended well after `ms` of workflow time (deterministic on replay), with its result. */
  onDone?(activity: string, ms: number, result: unknown): void;
}

/** An activity called as `(summary, input)`: the summary is what the UI shows on that call. */
const titled =
  <I, R>(name: string, fn: ActivityFunctionWithOptions<(input: I) => Promise<R>>, listener: ActivityListener) =>
  async (summary: string, input: I): Promise<R> => {
    listener.onCall?.(summary);
    const start = Date.now();
    const result = await fn.executeWithOptions({ summary }, [input]);
    listener.onDone?.(name, Date.now() - start, result);
    return result;
  };

/** The stages' activities on their queues, each call reported to `listener`. */
export function stageActivities(queues: { cpuQueue: string; gpuQueue: string }, listener: ActivityListener = {}) {
  const cpu = (kind: ActivityKind) => proxyActivities<CpuActivities>({ taskQueue: queues.cpuQueue, ...STAGE_OPTIONS[kind] });
  const gpu = (kind: ActivityKind) => proxyActivities<GpuActivities>({ taskQueue: queues.gpuQueue, ...STAGE_OPTIONS[kind] });
  return {
    ingest: titled('ingest', cpu('ingest').ingest, listener),
    generate: titled('generate', gpu('generate').generate, listener),
    verify: titled('verify', cpu('verify').verify, listener),
    update: titled('update', gpu('update').update, listener),
    startEpisodes: titled('startEpisodes', cpu('episodes').startEpisodes, listener),
    stepEpisodes: titled('stepEpisodes', cpu('episodes').stepEpisodes, listener),
    scoreEpisodes: titled('scoreEpisodes', cpu('episodes').scoreEpisodes, listener),
    selectPivots: titled('selectPivots', cpu('bookkeeping').selectPivots, listener),
    drawBatch: titled('drawBatch', cpu('bookkeeping').drawBatch, listener),
    scoreOod: titled('scoreOod', cpu('bookkeeping').scoreOod, listener),
    selectHeldoutStates: titled('selectHeldoutStates', cpu('bookkeeping').selectHeldoutStates, listener),
    scoreHeldoutStates: titled('scoreHeldoutStates', cpu('bookkeeping').scoreHeldoutStates, listener),
    selectTurns: titled('selectTurns', cpu('bookkeeping').selectTurns, listener),
    startTrainingEpisodes: titled('startTrainingEpisodes', cpu('bookkeeping').startTrainingEpisodes, listener),
    scoreRollouts: titled('scoreRollouts', cpu('episodes').scoreRollouts, listener),
    sftUpdate: titled('sftUpdate', gpu('update').sftUpdate, listener),
    splitSftTurns: titled('splitSftTurns', cpu('bookkeeping').splitSftTurns, listener),
    sftValLoss: titled('sftValLoss', gpu('update').sftValLoss, listener),
    episodeUpdate: titled('episodeUpdate', gpu('update').episodeUpdate, listener),
    measureOodDrift: titled('measureOodDrift', gpu('generate').measureOodDrift, listener),
  };
}
