// Idempotent stage outputs: a stage writes its output objects, then its summary. A retried stage that finds
// the summary returns it and repeats no work.
import type { ArtefactStore } from '../store';

/** Where the summary of a stage whose output is one object lives. */
export const summaryOf = (outKey: string) => `${outKey}.summary.json`;

export async function cachedStage<T>(store: ArtefactStore, summaryKey: string, compute: () => Promise<T>): Promise<T> {
  if (await store.exists(summaryKey)) return JSON.parse((await store.get(summaryKey)).toString('utf8')) as T;
  const result = await compute();
  await store.put(summaryKey, JSON.stringify(result));
  return result;
}
