// Cooperative cancellation: long loops check their AbortSignal between units of work.

/** Rejects with the signal's reason when it is aborted. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('aborted', 'AbortError');
}
