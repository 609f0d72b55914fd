// The policy engine: the API the Temporal activities call. Text in, text out; checkpoints are store prefixes.
//
// openPolicyEngine() runs the model in a node:worker_threads Worker, so tensor work never blocks the caller's
// event loop (heartbeats and cancellation keep flowing during a long update). The thread opens its own store
// from the StoreConfig and caches the last loaded model. openInProcessPolicyEngine() is the same engine in
// the calling thread, for unit tests and benchmarks.
import { availableParallelism } from 'node:os';
import { StoreConfig } from '../store';
import type { LocalEngine } from './local';
import { spawnEngineThread } from './spawn';
import { Completion, GrpoHyper, GrpoItem, InitRequest, SampleOptions, SequenceNll, SftExample, SftHyper, TrainMetrics } from './schemas';

export { assertAcceleratorOrAllowed } from './backend';
export {
  Completion,
  GrpoHyper,
  GrpoItem,
  ModelConfig,
  DEFAULT_MODEL,
  SampleOptions,
  SequenceNll,
  SftExample,
  SftHyper,
  TrainMetrics,
  generatedText,
} from './schemas';

export interface PolicyEngine {
  /** Name of the TensorFlow.js backend the engine runs on (tfjs-node-gpu, tfjs-node, wasm, cpu). */
  backend(): Promise<string>;
  /** [prompt][n] completions. See SampleOptions / Completion for stop strings and logprobs. */
  sample(checkpoint: string, prompts: string[], opts: SampleOptions): Promise<Completion[][]>;
  /**
   * One optimiser step from `checkpoint`, written to `out` (idempotent: a finished `out` is returned as is). An abort
   * of `signal` stops the step at its next micro-batch and rejects with the signal's reason; no checkpoint is published.
   */
  trainSft(req: { checkpoint: string; out: string; examples: SftExample[]; hp: SftHyper }, opts?: TrainOptions): Promise<TrainMetrics>;
  trainGrpo(
    req: { checkpoint: string; out: string; reference?: string; items: GrpoItem[]; hp: GrpoHyper },
    opts?: TrainOptions,
  ): Promise<TrainMetrics>;
  /**
   * Teacher-forced negative log-likelihood of each sequence's completion given its prompt under `checkpoint` (the
   * model's own distribution, no training), batched; in input order.
   */
  sequenceNll(checkpoint: string, sequences: SftExample[]): Promise<SequenceNll[]>;
  /** Writes a freshly initialised (seeded) checkpoint to `out`; returns its hash. */
  init(req: InitRequest): Promise<string>;
  /** sha256 identifying a stored checkpoint (see policy/checkpoint.ts). */
  checkpointHash(prefix: string): Promise<string>;
  close(): Promise<void>;
}

export interface TrainOptions {
  signal?: AbortSignal;
}

export interface EngineOptions {
  store: StoreConfig;
  onLog?: (msg: string) => void;
  /** Data-parallel threads (default policyThreads()): sampling splits the prompts, training the micro-batches. */
  threads?: number;
}

/** PIVOTRL_POLICY_THREADS, else the cores available to this process. */
export function policyThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PIVOTRL_POLICY_THREADS;
  if (raw === undefined || raw === '') return availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`PIVOTRL_POLICY_THREADS=${raw}: want a positive integer`);
  return n;
}

type Method = Exclude<keyof PolicyEngine, 'close'>;

/** The engine in a worker thread (which starts threads - 1 helper threads of its own when it needs them). */
export function openPolicyEngine(opts: EngineOptions): PolicyEngine {
  const log = opts.onLog ?? ((m: string) => console.log(`[policy] ${m}`));
  const thread = spawnEngineThread(opts.store, opts.threads ?? policyThreads(), log);
  const call = (method: Method, args: unknown[]) => thread.call(method, args);
  // The thread's training loop is synchronous, so an abort cannot reach it as a message: it reads a shared flag instead.
  const train = (method: 'trainSft' | 'trainGrpo', req: unknown, signal?: AbortSignal): Promise<never> => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const raise = () => Atomics.store(flag, 0, 1);
    signal?.addEventListener('abort', raise, { once: true });
    return settleAsCancelled(call(method, [req, flag]), signal).finally(() => signal?.removeEventListener('abort', raise));
  };
  return {
    backend: () => call('backend', []),
    sample: (checkpoint, prompts, o) => call('sample', [checkpoint, prompts, o]),
    trainSft: (req, o) => train('trainSft', req, o?.signal),
    trainGrpo: (req, o) => train('trainGrpo', req, o?.signal),
    sequenceNll: (checkpoint, sequences) => call('sequenceNll', [checkpoint, sequences]),
    init: (req) => call('init', [req]),
    checkpointHash: (prefix) => call('checkpointHash', [prefix]),
    close: () => thread.close(),
  };
}

/** The same engine in the calling thread (blocks it during tensor work): unit tests, benchmarks, scripts. */
export function openInProcessPolicyEngine(opts: EngineOptions): PolicyEngine {
  const log = opts.onLog ?? ((m: string) => console.log(`[policy] ${m}`));
  const engine: Promise<LocalEngine> = import('./local').then(
    (m) => new m.LocalEngine({ store: opts.store, onLog: log, threads: opts.threads ?? 1 }),
  );
  const call = async (method: Method, args: unknown[]): Promise<never> => {
    const e = (await engine) as unknown as Record<Method, (...a: unknown[]) => Promise<never>>;
    return e[method](...args);
  };
  // In this thread the step cannot see an abort while it computes: it stops at the checks after it (before publishing).
  const train = (method: 'trainSft' | 'trainGrpo', req: unknown, signal?: AbortSignal): Promise<never> =>
    settleAsCancelled(call(method, [req, () => signal?.aborted === true]), signal);
  return {
    backend: () => call('backend', []),
    sample: (checkpoint, prompts, o) => call('sample', [checkpoint, prompts, o]),
    trainSft: (req, o) => train('trainSft', req, o?.signal),
    trainGrpo: (req, o) => train('trainGrpo', req, o?.signal),
    sequenceNll: (checkpoint, sequences) => call('sequenceNll', [checkpoint, sequences]),
    init: (req) => call('init', [req]),
    checkpointHash: (prefix) => call('checkpointHash', [prefix]),
    close: async () => (await engine).close(),
  };
}

/** A call that failed after its signal was aborted rejects with the signal's reason (what Temporal reports as cancelled). */
function settleAsCancelled<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return work.catch((err: unknown) => {
    throw signal?.aborted ? signal.reason : err;
  });
}
