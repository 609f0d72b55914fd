import { z } from 'zod';
import { ArtefactStore } from './store';
import { LocalStore } from './local';

export * from './store';
export { LocalStore } from './local';

export const StoreConfig = z.discriminatedUnion('kind', [z.object({ kind: z.literal('local'), root: z.string().min(1) })]);
export type StoreConfig = z.infer<typeof StoreConfig>;

export function openStore(config: StoreConfig): ArtefactStore {
  switch (config.kind) {
    case 'local':
      return new LocalStore(config.root);
  }
}
