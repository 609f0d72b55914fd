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

/** An activity called as `(summary, input)`: the summary is what the UI shows on that call. */
const titled =
  <I, R>(fn: ActivityFunctionWithOptions<(input: I) => Promise<R>>, onCall: (summary: string) => void) =>
  (summary: string, input: I): Promise<R> => {
    onCall(summary);
    return fn.executeWithOptions({ summary }, [input]);
  };

/** The stages' activities on their queues. `onCall` hears each call's summary (the campaign's "now" line). */
export function stageActivities(queues: { cpuQueue: string; gpuQueue: string }, onCall: (summary: string) => void = () => {}) {
  const cpu = (kind: ActivityKind) => proxyActivities<CpuActivities>({ taskQueue: queues.cpuQueue, ...STAGE_OPTIONS[kind] });
  const gpu = (kind: ActivityKind) => proxyActivities<GpuActivities>({ taskQueue: queues.gpuQueue, ...STAGE_OPTIONS[kind] });
  return {
    ingest: titled(cpu('ingest').ingest, onCall),
    generate: titled(gpu('generate').generate, onCall),
    verify: titled(cpu('verify').verify, onCall),
    update: titled(gpu('update').update, onCall),
    startEpisodes: titled(cpu('episodes').startEpisodes, onCall),
    stepEpisodes: titled(cpu('episodes').stepEpisodes, onCall),
    scoreEpisodes: titled(cpu('episodes').scoreEpisodes, onCall),
    selectPivots: titled(cpu('bookkeeping').selectPivots, onCall),
    drawBatch: titled(cpu('bookkeeping').drawBatch, onCall),
    scoreOod: titled(cpu('bookkeeping').scoreOod, onCall),
    selectHeldoutStates: titled(cpu('bookkeeping').selectHeldoutStates, onCall),
    scoreHeldoutStates: titled(cpu('bookkeeping').scoreHeldoutStates, onCall),
    selectTurns: titled(cpu('bookkeeping').selectTurns, onCall),
    startTrainingEpisodes: titled(cpu('bookkeeping').startTrainingEpisodes, onCall),
    scoreRollouts: titled(cpu('episodes').scoreRollouts, onCall),
    sftUpdate: titled(gpu('update').sftUpdate, onCall),
    splitSftTurns: titled(cpu('bookkeeping').splitSftTurns, onCall),
    sftValLoss: titled(gpu('update').sftValLoss, onCall),
    episodeUpdate: titled(gpu('update').episodeUpdate, onCall),
    measureOodDrift: titled(gpu('generate').measureOodDrift, onCall),
  };
}
