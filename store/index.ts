import type { StoreConfig } from '../core/store-config';
import { ArtefactStore } from './store';
import { LocalStore } from './local';
import { S3Store } from './s3';

export * from './store';
export * from './errors';
export { LocalStore } from './local';
export { S3Store } from './s3';
/** Where artefacts live, chosen by the campaign config's `store`. */
export { LocalStoreConfig, S3StoreConfig, StoreConfig } from '../core/store-config';

// One S3 client per configuration and process: activities open the store on every call.
const s3Stores = new Map<string, S3Store>();

/** `blocking`: a local store's file calls block the calling thread (LocalStore). */
export function openStore(config: StoreConfig, o: { blocking?: boolean } = {}): ArtefactStore {
  switch (config.kind) {
    case 'local':
      return new LocalStore(config.root, o);
    case 's3': {
      const key = JSON.stringify(config);
      let store = s3Stores.get(key);
      if (!store) s3Stores.set(key, (store = new S3Store(config)));
      return store;
    }
  }
}
