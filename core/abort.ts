// Cooperative cancellation: long loops check their AbortSignal between units of work.

/** Rejects with the signal's reason when it is aborted. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError');
}

/** The error a cancelled unit of work throws when it has no signal's reason to throw (e.g. in another thread). */
export function cancelledError(message: string): DOMException {
  return new DOMException(message, 'AbortError');
}
