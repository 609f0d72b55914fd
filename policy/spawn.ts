// Starts a policy engine thread (thread.ts, a LocalEngine) and calls its methods by message.
import { Worker } from 'node:worker_threads';
import { StoreConfig } from '../store';

export interface ErrorShape {
  name: string;
  message: string;
  stack?: string;
}

export interface EngineThread {
  /** `transfer`: buffers in `args` handed over to the thread, not copied (unusable here afterwards). */
  call(method: string, args: unknown[], transfer?: ArrayBuffer[]): Promise<never>;
  close(): Promise<void>;
}

/** A LocalEngine in a new worker thread, running `threads` threads in all (itself and its helpers). */
export function spawnEngineThread(store: StoreConfig, threads: number, log: (msg: string) => void): EngineThread {
  // thread-boot.mjs registers tsx in the thread, then loads thread.ts (see there).
  const worker = new Worker(new URL('./thread-boot.mjs', import.meta.url), {
    workerData: { store: StoreConfig.parse(store), threads },
  });
  worker.unref(); // an idle engine does not keep the process alive
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let dead: Error | undefined;

  const failAll = (err: Error) => {
    dead ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    worker.unref();
  };
  worker.on('message', (msg: { type: string; id?: number; msg?: string; result?: unknown; error?: ErrorShape }) => {
    if (msg.type === 'log') return log(msg.msg!);
    const p = pending.get(msg.id!);
    if (!p) return;
    pending.delete(msg.id!);
    if (pending.size === 0) worker.unref();
    if (msg.type === 'result') p.resolve(msg.result);
    else p.reject(revive(msg.error!));
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', (code) => failAll(new Error(`policy thread exited (code ${code})`)));

  return {
    call: (method, args, transfer = []) => {
      if (dead) return Promise.reject(dead);
      return new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        worker.ref();
        worker.postMessage({ id, method, args }, transfer);
      });
    },
    close: async () => {
      if (!dead) failAll(new Error('policy engine closed'));
      await worker.terminate();
    },
  };
}

function revive(e: ErrorShape): Error {
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = `${e.name}: ${e.message}\n    [policy thread]\n${e.stack.split('\n').slice(1).join('\n')}`;
  return err;
}
