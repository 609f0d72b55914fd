// Errors of a remote artefact store, typed by what a retry can do about them. A Temporal activity failure takes
// the error's class name as its type, and the campaign's retry policy (workflows/stages.ts) never retries
// ObjectStoreSetupError: a missing bucket or refused credentials will not fix themselves.

/** The store is set up wrong (missing bucket, refused credentials): fix the config or the store, then retry. */
export class ObjectStoreSetupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ObjectStoreSetupError';
  }
}

/** The store did not answer (down, unreachable, overloaded, timed out): retrying later may succeed. */
export class ObjectStoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ObjectStoreUnavailableError';
  }
}
