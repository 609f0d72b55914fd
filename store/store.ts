// The artefact store: shards, samples, pivot sets, checkpoints and reports, addressed by key.
// Writes are atomic (no partial object is visible under its final key) and idempotent by key.

export interface ArtefactStore {
  /** A human-readable location, for logs and the README. */
  readonly describe: string;
  put(key: string, data: Uint8Array | string): Promise<void>;
  get(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

export class MissingArtefactError extends Error {
  constructor(
    readonly key: string,
    where: string,
  ) {
    super(`artefact '${key}' not found in ${where}`);
    this.name = 'MissingArtefactError';
  }
}

const KEY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export function assertValidKey(key: string): void {
  if (!KEY.test(key) || key.split('/').some((part) => part === '.' || part === '..')) {
    throw new Error(`invalid artefact key '${key}': use slash-separated [A-Za-z0-9._-] segments`);
  }
}

export async function getText(store: ArtefactStore, key: string): Promise<string> {
  return (await store.get(key)).toString('utf8');
}

export async function putJson(store: ArtefactStore, key: string, value: unknown): Promise<void> {
  await store.put(key, JSON.stringify(value));
}

export async function getJson<T>(store: ArtefactStore, key: string, parse: (v: unknown) => T): Promise<T> {
  return parse(JSON.parse(await getText(store, key)));
}

export async function putJsonl(store: ArtefactStore, key: string, rows: readonly unknown[]): Promise<void> {
  await store.put(key, rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

export async function getJsonl<T>(store: ArtefactStore, key: string, parse: (v: unknown) => T): Promise<T[]> {
  const text = await getText(store, key);
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => parse(JSON.parse(line)));
}
