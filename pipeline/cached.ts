// Idempotent stage outputs: a stage writes its output objects, then a summary beside them. A retried
// stage that finds the summary returns it and repeats no work.
import type { ArtefactStore } from '../store';

export async function cachedStage<T>(store: ArtefactStore, outKey: string, compute: () => Promise<T>): Promise<T> {
  const summaryKey = `${outKey}.summary.json`;
  if (await store.exists(summaryKey)) return JSON.parse((await store.get(summaryKey)).toString('utf8')) as T;
  const result = await compute();
  await store.put(summaryKey, JSON.stringify(result));
  return result;
}
