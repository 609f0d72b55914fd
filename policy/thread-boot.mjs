// Worker-thread bootstrap of the policy engine. Under Node 20 a worker thread does not get tsx's loader from
// the parent (neither inherited execArgv nor `--import tsx` apply to a .ts entry point), so the thread
// registers tsx itself, then loads the TypeScript entry.
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
