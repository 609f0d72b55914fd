// Where a worker sends its S3 keys: its own endpoint (PIVOTRL_S3_ENDPOINT) when it has one, never a host a campaign
// config names. Without one, a config's endpoint must be https or loopback, so the signed requests stay private.
import { isHttpsOrLoopback, isLoopbackUrl, urlOrNull } from '../core/loopback';
import type { StoreConfig } from '../core/store-config';

/** A store config this worker refuses to sign requests for. */
export class StoreEndpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreEndpointError';
  }
}

const sameUrl = (a: string, b: string) => {
  const href = urlOrNull(a)?.href;
  return href !== undefined && href === urlOrNull(b)?.href;
};

/**
 * The store as this worker reaches it. With `workerEndpoint`, an S3 store always uses it; the config's endpoint may
 * differ only when it is loopback (the same store as the config's client reached it, e.g. from another network
 * namespace). Without, the config's endpoint is used if https or loopback (absent: AWS S3 itself).
 */
export function storeAsWorkerReachesIt(store: StoreConfig, workerEndpoint: string | undefined): StoreConfig {
  if (store.kind !== 's3') return store;
  const asked = store.endpoint;
  if (workerEndpoint) {
    if (asked && !sameUrl(asked, workerEndpoint) && !isLoopbackUrl(asked)) {
      throw new StoreEndpointError(`store.endpoint: ${asked} is not this worker's object store (PIVOTRL_S3_ENDPOINT=${workerEndpoint})`);
    }
    return { ...store, endpoint: workerEndpoint };
  }
  if (asked && !isHttpsOrLoopback(asked)) {
    throw new StoreEndpointError(
      `store.endpoint: ${asked} must be https or loopback, or this worker's PIVOTRL_S3_ENDPOINT (its S3 keys sign every request)`,
    );
  }
  return store;
}
