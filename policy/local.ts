// The policy engine's implementation, in the calling thread. openPolicyEngine() runs this in a worker thread;
// openInProcessPolicyEngine() runs it here (tests, benchmarks).
import * as tf from '@tensorflow/tfjs-core';
import { ArtefactStore, StoreConfig, getText, openStore } from '../store';
import { initBackend } from './backend';
import { cancelledError } from '../core/abort';
import { checkpointExists, checkpointHash, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { disposeModel, initParams, makeModel, paramsFrom } from './model';
import { sample } from './sample';
import {
  Completion,
  GrpoRequest,
  InitRequest,
  NllRequest,
  SampleOptions,
  SampleRequest,
  SequenceNll,
  SftExample,
  SftRequest,
  TrainMetrics,
} from './schemas';
import { charTokenizer } from './tokenizer';
import { Trainee, completionNll, disposeAdam, trainStep, zeroAdam } from './train';

export class LocalEngine {
  private readonly store: ArtefactStore;
  private readonly log: (msg: string) => void;
  private queue: Promise<unknown> = Promise.resolve();
  /** The last loaded (or trained) model, by checkpoint prefix. */
  private current: { key: string; tr: Trainee } | undefined;
  private reference: { key: string; tr: Trainee } | undefined;

  constructor(opts: { store: StoreConfig; onLog?: (msg: string) => void }) {
    this.store = openStore(StoreConfig.parse(opts.store));
    this.log = opts.onLog ?? (() => {});
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
      const out = sample(tr.model, r.prompts, r.opts);
      const s = (performance.now() - t0) / 1000;
      this.log(
        `sampled ${out.tokens} tokens for ${r.prompts.length}x${r.opts.n} in ${s.toFixed(2)} s ` +
          `(${(out.tokens / s).toFixed(0)} tok/s)${out.truncated ? `, ${out.truncated} prompts truncated` : ''}`,
      );
      return out.completions;
    });
  }

  /** `cancelled` (asked between micro-batches and before publishing) stops the step: no checkpoint is written. */
  trainSft(req: SftRequest, cancelled: () => boolean = () => false): Promise<TrainMetrics> {
    return this.serial(async () => {
      const r = SftRequest.parse(req);
      return this.train(r.checkpoint, r.out, undefined, cancelled, (tr) => trainStep(tr, 'sft', r.examples, r.hp, undefined, cancelled));
    });
  }

  trainGrpo(req: GrpoRequest, cancelled: () => boolean = () => false): Promise<TrainMetrics> {
    return this.serial(async () => {
      const r = GrpoRequest.parse(req);
      if (r.hp.beta > 0 && !r.reference) throw new Error('hp.beta > 0 (KL penalty) needs a reference checkpoint');
      const ref = r.hp.beta > 0 ? r.reference : undefined;
      return this.train(r.checkpoint, r.out, ref, cancelled, (tr, refModel) => trainStep(tr, 'grpo', r.items, r.hp, refModel, cancelled));
    });
  }

  sequenceNll(checkpoint: string, sequences: SftExample[]): Promise<SequenceNll[]> {
    return this.serial(async () => {
      const r = NllRequest.parse({ checkpoint, sequences });
      const tr = await this.load(r.checkpoint);
      return completionNll(tr.model, r.sequences);
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
    });
  }

  // ---- plumbing

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
    step: (tr: Trainee, ref?: Trainee['model']) => TrainMetrics,
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
    const tr = await this.load(checkpoint);
    stopIfCancelled();
    let metrics: TrainMetrics;
    try {
      metrics = step(tr, ref?.model);
      await saveCheckpoint(this.store, out, tr, { beforePublish: stopIfCancelled });
    } catch (err) {
      this.setCurrent(undefined); // the in-memory model may be updated but not published
      throw err;
    }
    this.current = { key: out, tr };
    await this.store.put(metricsKey, JSON.stringify(metrics));
    this.log(
      `${out}: step ${metrics.step} loss ${metrics.loss.toFixed(4)} tokens ${metrics.tokens} ` + `in ${metrics.seconds.toFixed(2)} s`,
    );
    return metrics;
  }

  private async load(key: string): Promise<Trainee> {
    await this.backend();
    if (this.current?.key === key) return this.current.tr;
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

  private setCurrent(key: string | undefined, tr?: Trainee): void {
    if (this.current && this.current.tr !== tr) this.dispose(this.current.tr);
    this.current = key && tr ? { key, tr } : undefined;
  }

  private dispose(tr: Trainee): void {
    disposeModel(tr.model);
    disposeAdam(tr.adam);
  }
}
