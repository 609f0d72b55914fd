// Harness (tests and benches): a campaign's history across its runs (it continues as new), and what chaos runs read from it.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something truthy (errors count as not yet). */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

/** The events of every run of a campaign, first run first. */
export async function eventsOf(client: Client, workflowId: string, firstRunId: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  for (const run of await runsOf(client, workflowId, firstRunId)) {
    events.push(...((await client.workflow.getHandle(workflowId, run.runId).fetchHistory()).events ?? []));
  }
  return events;
}

/**
 * The started and completed events of the activities of one type, in order. One pass: event ids start again at 1
 * in each continued-as-new run, so an event is named by the latest schedule with its id.
 */
function activityEvents(events: HistoryEvent[], activity: string): HistoryEvent[] {
  const names = new Map<string, string>();
  return events.filter((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) names.set(String(e.eventId), scheduled.activityType?.name ?? '');
    const of = e.activityTaskStartedEventAttributes ?? e.activityTaskCompletedEventAttributes;
    return of != null && names.get(String(of.scheduledEventId)) === activity;
  });
}

/** The attempt that finished each activity of a type (history records only the last attempt's start). */
export function attemptsOf(events: HistoryEvent[], activity: string): number[] {
  return activityEvents(events, activity).flatMap((e) => {
    const started = e.activityTaskStartedEventAttributes;
    return started ? [started.attempt ?? 1] : [];
  });
}

/** The results of the completed activities of a type, decoded from JSON. */
export function resultsOf<T>(events: HistoryEvent[], activity: string): T[] {
  return activityEvents(events, activity).flatMap((e) => {
    const done = e.activityTaskCompletedEventAttributes;
    return done ? [JSON.parse(Buffer.from(done.result!.payloads![0].data!).toString('utf8')) as T] : [];
  });
}

/** A pending activity of a type, when the server has it in the given state (PENDING_ACTIVITY_STATE_STARTED = 2). */
export async function pendingActivity(handle: WorkflowHandle, activity: string, state: 'scheduled' | 'started' = 'started') {
  const pending = (await handle.describe()).raw.pendingActivities ?? [];
  return pending.find((p) => p.activityType?.name === activity && Number(p.state) === (state === 'started' ? 2 : 1));
}

/** Every run of a workflow, first to last (following continue-as-new), with its history length and how it ended. */
export async function runsOf(client: Client, workflowId: string, firstRunId: string) {
  const runs: { runId: string; events: number; continuedAsNew: boolean }[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history: temporal.api.history.v1.IHistory = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    const next = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    runs.push({ runId, events: events.length, continuedAsNew: next !== undefined });
    runId = next;
  }
  return runs;
}
