// The policy engine's implementation, in the calling thread. openPolicyEngine() runs this in a worker thread;
// openInProcessPolicyEngine() runs it here (tests, benchmarks). With threads > 1 it starts threads - 1 helper
// threads (LocalEngines of one thread) on first use: sampling gives each a contiguous share of the prompts (with
// their prompt seeds, so the draws do not depend on the split), training each a share of the micro-batches, whose
// gradients come back and are summed in micro-batch order (the result does not depend on the thread count).
// Buffers cross threads transferred, not copied, and a published step's parameters go to the helpers (adopt), so
// they do not read each new checkpoint back from the store.
import * as tf from '@tensorflow/tfjs-core';
import { ArtefactStore, StoreConfig, getText, openStore } from '../store';
import { initBackend } from './backend';
import { cancelledError } from '../core/abort';
import { checkpointExists, checkpointHash, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { disposeModel, initParams, makeModel, namedParams, paramsFrom } from './model';
import { prefixPassLength, sample } from './sample';
import { promptSeed } from './rng';
import { spawnEngineThread, type EngineThread } from './spawn';
import { contiguousShares, microBatchBudget, threadOfMicroBatch } from './split';
import {
  Completion,
  GrpoRequest,
  InitRequest,
  NllRequest,
  SampleOptions,
  SampleRequest,
  SequenceNll,
  SftExample,
  SftHyper,
  SftRequest,
  TrainMetrics,
} from './schemas';
import { charTokenizer } from './tokenizer';
import {
  Trainee,
  applyStep,
  completionNll,
  disposeAdam,
  microBatchGrads,
  planStep,
  throwIfCancelled,
  zeroAdam,
  type MicroGrads,
  type Sequence,
} from './train';

/** What a helper thread needs to compute some micro-batches' gradients of a step. */
interface MicroGradsRequest {
  checkpoint: string;
  reference?: string;
  kind: 'sft' | 'grpo';
  seqs: Sequence[];
  hp: SftRequest['hp'] | GrpoRequest['hp'];
  batches: number[];
}

export class LocalEngine {
  private readonly store: ArtefactStore;
  private readonly log: (msg: string) => void;
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * The last loaded (or trained) model, by checkpoint prefix. `paramsOnly`: adopted parameters, whose AdamW moments
   * are not the checkpoint's (a helper's; good for gradients and sampling, not for an optimiser step).
   */
  private current: { key: string; tr: Trainee; paramsOnly?: boolean } | undefined;
  private reference: { key: string; tr: Trainee } | undefined;
  private readonly storeConfig: StoreConfig;
  private readonly threads: number;
  private helperThreads: EngineThread[] | undefined;

  constructor(opts: { store: StoreConfig; onLog?: (msg: string) => void; threads?: number }) {
    this.storeConfig = StoreConfig.parse(opts.store);
    this.store = openStore(this.storeConfig, { blocking: true }); // this thread computes synchronously anyway
    this.log = opts.onLog ?? (() => {});
    this.threads = opts.threads ?? 1;
  }

  /** The helper threads (threads - 1), started on first use. */
  private helpers(): EngineThread[] {
    this.helperThreads ??= Array.from({ length: this.threads - 1 }, (_, i) =>
      spawnEngineThread(this.storeConfig, 1, (msg) => this.log(`[helper ${i + 1}] ${msg}`)),
    );
    return this.helperThreads;
  }

  /** Calls run one at a time (the model cache is shared). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  backend(): Promise<string> {
    return initBackend(this.log);
  }

  /** Writes a freshly initialised checkpoint (seeded). Returns its hash. */
  init(req: InitRequest): Promise<string> {
    return this.serial(async () => {
      await this.backend();
      const r = InitRequest.parse(req);
      const named = initParams(r.config, r.seed);
      const model = makeModel(r.config, charTokenizer(), paramsFrom(r.config, named));
      tf.dispose(Object.values(named));
      this.setCurrent(r.out, { model, adam: zeroAdam(model), step: 0 });
      return saveCheckpoint(this.store, r.out, this.current!.tr, { optimizer: false });
    });
  }

  sample(checkpoint: string, prompts: string[], opts: SampleOptions): Promise<Completion[][]> {
    return this.serial(async () => {
      const r = SampleRequest.parse({ checkpoint, prompts, opts });
      const tr = await this.load(r.checkpoint);
      const t0 = performance.now();
      const seeds = r.opts.promptSeeds ?? r.prompts.map((_, i) => promptSeed(r.opts.seed, i));
      const shares = contiguousShares(r.prompts.length, Math.min(this.threads, r.prompts.length));
      const o = { ...r.opts, prefixPad: shares.length > 1 ? prefixPassLength(tr.model, r.prompts) : r.opts.prefixPad };
      const remote = shares
        .slice(1)
        .map(([a, b], j) =>
          this.helpers()[j].call('sample', [r.checkpoint, r.prompts.slice(a, b), { ...o, promptSeeds: seeds.slice(a, b) }]),
        );
      const [a, b] = shares[0];
      const local = await settleWith(remote, () => sample(tr.model, r.prompts.slice(a, b), { ...o, promptSeeds: seeds.slice(a, b) }));
      const completions: Completion[][] = [...local.completions, ...(await Promise.all(remote)).flat()];
      const tokens = completions.flat().reduce((n, c) => n + c.logprobs.length, 0);
      const s = (performance.now() - t0) / 1000;
      this.log(
        `sampled ${tokens} tokens for ${r.prompts.length}x${r.opts.n} in ${s.toFixed(2)} s on ${shares.length} thread(s) ` +
          `(${(tokens / s).toFixed(0)} tok/s)${local.truncated ? `, ${local.truncated} prompts truncated here` : ''}`,
      );
      return completions;
    });
  }

  /** `cancelled` (asked between micro-batches and before publishing) stops the step: no checkpoint is written. */
  trainSft(req: SftRequest, cancelled: () => boolean = () => false): Promise<TrainMetrics> {
    return this.serial(async () => {
      const r = SftRequest.parse(req);
      return this.train(r.checkpoint, r.out, undefined, cancelled, (tr) =>
        this.step(tr, 'sft', r.examples, r.hp, r.checkpoint, undefined, undefined, cancelled),
      );
    });
  }

  trainGrpo(req: GrpoRequest, cancelled: () => boolean = () => false): Promise<TrainMetrics> {
    return this.serial(async () => {
      const r = GrpoRequest.parse(req);
      if (r.hp.beta > 0 && !r.reference) throw new Error('hp.beta > 0 (KL penalty) needs a reference checkpoint');
      const ref = r.hp.beta > 0 ? r.reference : undefined;
      return this.train(r.checkpoint, r.out, ref, cancelled, (tr, refModel) =>
        this.step(tr, 'grpo', r.items, r.hp, r.checkpoint, ref, refModel, cancelled),
      );
    });
  }

  sequenceNll(checkpoint: string, sequences: SftExample[]): Promise<SequenceNll[]> {
    return this.serial(async () => {
      const r = NllRequest.parse({ checkpoint, sequences });
      const tr = await this.load(r.checkpoint);
      return completionNll(tr.model, r.sequences);
    });
  }

  /** Helper side of a data-parallel step: the gradients of some micro-batches of the step from `checkpoint`. */
  microGrads(req: MicroGradsRequest): Promise<MicroGrads[]> {
    return this.serial(async () => {
      const ref = req.reference ? await this.loadReference(req.reference) : undefined;
      const tr = await this.load(req.checkpoint);
      const plan = planStep(tr.model, req.kind, req.seqs, req.hp);
      return req.batches.map((b) => {
        const g = microBatchGrads(tr.model, plan, b, ref?.model);
        return { ...g, grads: g.grads.map(ownBuffer) }; // transferred to the parent (thread.ts)
      });
    });
  }

  /**
   * Helper side, after the parent published `key`: its parameters (namedParams order) replace the resident model's in
   * place, so the next gradients or samples from `key` need no load. Without a resident model of that config, nothing
   * changes (the next call on `key` loads it).
   */
  adopt(key: string, config: unknown, weights: Float32Array[]): Promise<void> {
    return this.serial(async () => {
      const tr = this.current?.tr;
      if (!tr || JSON.stringify(tr.model.config) !== JSON.stringify(config)) return;
      tf.tidy(() => namedParams(tr.model.params).forEach(([, v], i) => v.assign(tf.tensor(weights[i], v.shape, 'float32'))));
      this.current = { key, tr, paramsOnly: true };
    });
  }

  checkpointHash(prefix: string): Promise<string> {
    return checkpointHash(this.store, prefix);
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      this.setCurrent(undefined);
      if (this.reference) this.dispose(this.reference.tr);
      this.reference = undefined;
      await Promise.all((this.helperThreads ?? []).map((h) => h.close()));
      this.helperThreads = undefined;
    });
  }

  // ---- plumbing

  /** One step: micro-batches cut as for any thread count (split.ts), shared between the threads (this one is thread 0). */
  private async step(
    tr: Trainee,
    kind: 'sft' | 'grpo',
    seqs: Sequence[],
    hpIn: MicroGradsRequest['hp'],
    checkpoint: string,
    reference?: string,
    refModel?: Trainee['model'],
    cancelled: () => boolean = () => false,
  ): Promise<TrainMetrics> {
    const started = performance.now();
    const budget = microBatchBudget(tr.model.tokenizer, seqs, SftHyper.parse(hpIn).microBatchTokens);
    const hp = { ...hpIn, microBatchTokens: budget };
    const plan = planStep(tr.model, kind, seqs, hp);
    const stopIfCancelled = () => throwIfCancelled(cancelled);
    const n = Math.min(this.threads, plan.batches.length);
    const thread = threadOfMicroBatch(
      plan.batches.map((mb) => mb.prefixes.length * Math.max(0, ...mb.prefixes.map((p) => p.length)) + mb.rows.length * mb.T),
      n,
    );
    const ofThread = (j: number) => plan.batches.map((_, b) => b).filter((b) => thread[b] === j);
    const remote = Array.from({ length: n - 1 }, (_, j): Promise<MicroGrads[]> =>
      this.helpers()[j].call('microGrads', [{ checkpoint, reference, kind, seqs, hp, batches: ofThread(j + 1) }]),
    );
    const local = await settleWith(remote, () =>
      ofThread(0).map((b) => {
        stopIfCancelled();
        return microBatchGrads(tr.model, plan, b, refModel);
      }),
    );
    const helped = await Promise.all(remote);
    stopIfCancelled();
    const results = [local, ...helped];
    const parts = plan.batches.map((_, b) => results[thread[b]][ofThread(thread[b]).indexOf(b)]);
    return applyStep(tr, plan, parts, started);
  }

  /**
   * One step from `checkpoint` to `out`. If `out` already holds a finished step (its metrics.json is written last),
   * that step is returned as it is: a retried activity finds its checkpoint instead of training twice. Once
   * `cancelled` says yes, nothing more is published.
   */
  private async train(
    checkpoint: string,
    out: string,
    reference: string | undefined,
    cancelled: () => boolean,
    step: (tr: Trainee, ref?: Trainee['model']) => Promise<TrainMetrics>,
  ): Promise<TrainMetrics> {
    const stopIfCancelled = () => {
      if (cancelled()) throw cancelledError(`${out}: the step was cancelled; no checkpoint is published`);
    };
    if (checkpoint === out) throw new Error(`out '${out}' must differ from checkpoint`);
    const metricsKey = `${out}/metrics.json`;
    if ((await this.store.exists(metricsKey)) && (await checkpointExists(this.store, out))) {
      this.log(`${out} already trained; returning its metrics`);
      return TrainMetrics.parse(JSON.parse(await getText(this.store, metricsKey)));
    }
    const ref = reference ? await this.loadReference(reference) : undefined;
    const tr = await this.load(checkpoint, { optimizer: true });
    stopIfCancelled();
    let metrics: TrainMetrics;
    try {
      metrics = await step(tr, ref?.model);
      await saveCheckpoint(this.store, out, tr, { beforePublish: stopIfCancelled });
    } catch (err) {
      this.setCurrent(undefined); // the in-memory model may be updated but not published
      throw err;
    }
    this.current = { key: out, tr };
    this.shareWithHelpers(out, tr);
    await this.store.put(metricsKey, JSON.stringify(metrics));
    this.log(
      `${out}: step ${metrics.step} loss ${metrics.loss.toFixed(4)} tokens ${metrics.tokens} ` + `in ${metrics.seconds.toFixed(2)} s`,
    );
    return metrics;
  }

  /** The model of checkpoint `key`, resident or loaded; `optimizer`: with the checkpoint's AdamW moments too. */
  private async load(key: string, o: { optimizer?: boolean } = {}): Promise<Trainee> {
    await this.backend();
    if (this.current?.key === key && !(o.optimizer && this.current.paramsOnly)) return this.current.tr;
    this.setCurrent(undefined);
    this.setCurrent(key, await loadCheckpoint(this.store, key));
    this.log(`loaded ${key} (step ${this.current!.tr.step}, tensors ${tf.memory().numTensors})`);
    return this.current!.tr;
  }

  private async loadReference(key: string): Promise<Trainee> {
    await this.backend();
    if (this.reference?.key === key) return this.reference.tr;
    if (this.reference) this.dispose(this.reference.tr);
    this.reference = undefined;
    this.reference = { key, tr: await loadCheckpoint(this.store, key) };
    return this.reference.tr;
  }

  /** Sends the published `key`'s parameters to the helpers already started (each its own copy, transferred). */
  private shareWithHelpers(key: string, tr: Trainee): void {
    (this.helperThreads ?? []).forEach((h, i) => {
      const weights = namedParams(tr.model.params).map(([, v]) => ownBuffer(v.dataSync() as Float32Array));
      h.call(
        'adopt',
        [key, tr.model.config, weights],
        weights.map((w) => w.buffer as ArrayBuffer),
      ).catch((err: Error) => this.log(`[helper ${i + 1}] did not take ${key}: ${err.message} (it loads it from the store when asked)`));
    });
  }

  private setCurrent(key: string | undefined, tr?: Trainee): void {
    if (this.current && this.current.tr !== tr) this.dispose(this.current.tr);
    this.current = key && tr ? { key, tr } : undefined;
  }

  private dispose(tr: Trainee): void {
    disposeModel(tr.model);
    disposeAdam(tr.adam);
  }
}

/**
 * `values` in a buffer of their own, safe to transfer to another thread: dataSync gives a fresh copy on wasm and
 * tfjs-node, but the cpu backend's is the tensor's storage.
 */
function ownBuffer(values: Float32Array): Float32Array {
  return tf.getBackend() === 'cpu' ? values.slice() : values;
}

/** Runs `local` while `remote` calls are in flight; if it throws, waits for them to settle (no stray rejection), then throws. */
async function settleWith<T>(remote: Promise<unknown>[], local: () => T): Promise<T> {
  try {
    return local();
  } catch (err) {
    await Promise.allSettled(remote);
    throw err;
  }
}
