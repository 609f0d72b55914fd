// The verifier loop shared by the domains whose actions execute in a Docker sandbox (terminal, SWE): each sampled
// action is executed at the true state of its turn (task files + expert prefix, in a sandbox) and its effect is
// compared with the expert action's effect there. A domain supplies its image, how a turn's state opens, how an
// effect is measured, and the comparison (an ExecutionDomain).
//
// Per turn: the state is opened ONCE (on a warm sandbox from a pool), the expert's effect is taken, then each
// DISTINCT sampled action runs from the restored snapshot (identical strings share one verdict; a sample equal
// to the expert's action is 1 without running). An infrastructure failure (SandboxInfraError) retries that
// action once on a fresh sandbox (state re-opened, expert effect re-taken); a second failure gives reward null
// with reason 'infrastructure' (masked by the trainer, never 0). If the image is missing or the engine is down
// when the batch starts, verifyBatch throws instead: that is a deployment problem, not a masked sample.
//
// With a memo (VerifierDeps.memo, one per worker process), a verdict already measured for the same state, expert
// action, sample, image and limits is reused without a sandbox; a turn whose samples are all known opens none.
// Verdicts that depended on the wall clock (an action that timed out) or on the infrastructure are never memoised.
import { throwIfAborted } from '../core/abort';
import { Memo } from '../core/memo';
import { connectEngine, ensureImage, isSandboxInfraError, toInfraError, withEngineTimeout, type DockerClient } from '../sandboxes/engine';
import type { Sample, Turn, Verdict, VerifierKind } from '../core/schemas';
import { DEFAULT_ACTION_TIMEOUT_MS } from '../sandboxes/limits';
import { SandboxPool } from '../sandboxes/pool';
import type { Sandbox } from '../sandboxes/sandbox';
import type { Effect } from '../sandboxes/terminal';
import { failureOf, type Comparison } from './effects';
import type { VerifierDeps, VerifyBatchOptions, VerifyItem, Verifier } from './verifier';

/** A turn's state, open in a sandbox: measures actions from it (each from the restored snapshot). */
export interface OpenTurn<E extends Effect> {
  /** The expert action's effect. */
  expert(action: string): Promise<E>;
  /** A sampled action's effect (given the expert's, so that work the comparison cannot use is skipped). */
  sample(action: string, expert: E): Promise<E>;
}

export interface ExecutionDomain<E extends Effect> {
  /** Opens the state of `turn` on `sandbox` (a fresh or reset sandbox of the domain's image). */
  open(turn: Turn, sandbox: Sandbox, opts: { actionTimeoutMs: number }): Promise<OpenTurn<E>>;
  compare(expert: E, sample: E): Comparison;
}

export interface ExecutingVerifierStats {
  turns: number;
  /** Turn states opened (sandbox reset + files + prefix replay + snapshot), retries included. */
  statesOpened: number;
  openMs: number;
  /** Actions measured (expert and distinct samples), retries included. */
  actionsRun: number;
  actionMs: number;
  /** Samples answered from the per-turn cache or by identity with the expert action. */
  samplesReused: number;
  /** Distinct actions answered from the memo (no sandbox run). */
  memoHits: number;
  infraRetries: number;
  masked: number;
  sandboxesCreated: number;
}

const emptyStats = (): ExecutingVerifierStats => ({
  turns: 0,
  statesOpened: 0,
  openMs: 0,
  actionsRun: 0,
  actionMs: 0,
  samplesReused: 0,
  memoHits: 0,
  infraRetries: 0,
  masked: 0,
  sandboxesCreated: 0,
});

/** A verdict without its turn and sample index: what the memo keeps. */
export type VerdictOutcome = Pick<Verdict, 'reward' | 'reason' | 'detail'>;

export class ExecutingVerifier<E extends Effect> implements Verifier {
  readonly kind: VerifierKind = 'functional';
  private readonly docker: DockerClient;
  private readonly concurrency: number;
  private readonly actionTimeoutMs: number;
  /** Counters of the last verifyBatch call (for benchmarks and logs). */
  stats: ExecutingVerifierStats = emptyStats();

  constructor(
    private readonly domain: ExecutionDomain<E>,
    /** The sandbox image of the domain. */
    private readonly image: string,
    private readonly deps: VerifierDeps = {},
  ) {
    this.docker = deps.docker ?? connectEngine();
    this.concurrency = Math.max(1, Math.floor(deps.concurrency ?? 2));
    this.actionTimeoutMs = deps.actionTimeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS;
  }

  async verifyBatch(items: VerifyItem[], opts: VerifyBatchOptions = {}): Promise<Verdict[]> {
    const { signal } = opts;
    throwIfAborted(signal);
    this.stats = emptyStats();
    if (items.every((it) => it.samples.every((s) => s.text.trim() === ''))) {
      return items.flatMap((it) => it.samples.map((s) => verdict(it.turn, s, { reward: 0, reason: 'empty_action', detail: '' })));
    }
    try {
      await withEngineTimeout(this.docker.ping(), 'ping', 10_000);
    } catch (err) {
      throw toInfraError(err, 'verify');
    }
    await ensureImage(this.docker, this.image);

    const pool = new SandboxPool({ docker: this.docker, image: this.image, limits: this.deps.limits, owner: this.deps.owner });
    // The first failure (or the abort) stops the batch: no new turn starts, the pool is closed so that running
    // actions end at once, and verifyBatch settles only after every worker has, with every sandbox removed.
    let failure: { error: unknown } | null = null;
    const stop = (error: unknown) => {
      failure ??= { error };
      void pool.close();
    };
    const onAbort = () => stop(signal?.reason ?? new DOMException('verification aborted', 'AbortError'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const results: Verdict[][] = new Array(items.length);
    let next = 0;
    let done = 0;
    try {
      const worker = async () => {
        while (!failure && next < items.length) {
          const i = next++;
          try {
            results[i] = await this.verifyTurn(items[i], pool, signal);
          } catch (err) {
            stop(err);
            return;
          }
          this.stats.turns++;
          opts.onProgress?.(++done);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, items.length) }, worker));
      if (failure) throw (failure as { error: unknown }).error;
      throwIfAborted(signal);
      return results.flat();
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.stats.sandboxesCreated = pool.created;
      await pool.close();
    }
  }

  private async verifyTurn({ turn, samples }: VerifyItem, pool: SandboxPool, signal?: AbortSignal): Promise<Verdict[]> {
    const expertAction = turn.expert.trim();
    const outcomes = new Map<string, VerdictOutcome>();
    const distinct: string[] = [];
    for (const s of samples) {
      const a = s.text.trim();
      if (a === '') outcomes.set(a, { reward: 0, reason: 'empty_action', detail: '' });
      else if (a === expertAction) outcomes.set(a, { reward: 1, reason: 'exact_match', detail: 'identical to the expert action' });
      else if (!outcomes.has(a) && !distinct.includes(a)) distinct.push(a);
    }
    this.stats.samplesReused += samples.length - distinct.length;
    const memo = this.deps.memo;
    // The state's part of the key (task files included) is hashed once per turn, not once per action.
    const stateKey = memo
      ? Memo.keyOf([
          this.image,
          this.actionTimeoutMs,
          this.deps.limits ?? null,
          turn.domain,
          turn.task,
          turn.history.map((h) => h.action),
          expertAction,
        ])
      : '';
    const keyOf = (action: string) => Memo.keyOf([stateKey, action]);
    const toRun = distinct.filter((action) => {
      const known = memo?.get(keyOf(action));
      if (known) {
        outcomes.set(action, known);
        this.stats.memoHits++;
      }
      return !known;
    });

    if (toRun.length > 0) {
      let sandbox: Sandbox | null = null;
      let state: { turn: OpenTurn<E>; expert: E } | null = null;
      let openFailures = 0;
      const discard = async () => {
        state = null;
        if (sandbox) await pool.release(sandbox, true);
        sandbox = null;
      };
      const open = async (): Promise<{ turn: OpenTurn<E>; expert: E }> => {
        sandbox = await pool.acquire();
        const t0 = performance.now();
        const opened = await this.domain.open(turn, sandbox, { actionTimeoutMs: this.actionTimeoutMs });
        this.stats.statesOpened++;
        this.stats.openMs += performance.now() - t0;
        const expert = await this.timed(() => opened.expert(expertAction));
        return { turn: opened, expert };
      };
      try {
        for (const action of toRun) {
          throwIfAborted(signal);
          let outcome: VerdictOutcome | null = null;
          let lastError = '';
          for (let attempt = 1; attempt <= 2 && !outcome; attempt++) {
            // After two failures to even open this turn's state, stop trying for its other samples.
            if (!state && openFailures >= 2) break;
            try {
              if (!state) {
                try {
                  state = await open();
                } catch (err) {
                  openFailures++;
                  throw err;
                }
              }
              const current: { turn: OpenTurn<E>; expert: E } = state;
              const effect = await this.timed(() => current.turn.sample(action, current.expert));
              outcome = toOutcome(this.domain.compare(current.expert, effect));
              // The reference itself did not finish here (e.g. an expert action that needs more time): say so.
              const expertFailure = failureOf(current.expert);
              if (expertFailure && !outcome.reward) outcome.detail = `expert action: ${expertFailure.detail}; ${outcome.detail}`;
              if (memo && !effect.timedOut && !current.expert.timedOut) memo.set(keyOf(action), outcome);
            } catch (err) {
              throwIfAborted(signal);
              if (!isSandboxInfraError(err)) throw err;
              lastError = err.message;
              if (attempt === 1) this.stats.infraRetries++;
              await discard();
            }
          }
          if (!outcome) {
            this.stats.masked++;
            outcome = { reward: null, reason: 'infrastructure', detail: lastError.slice(0, 300) || 'sandbox unavailable' };
          }
          outcomes.set(action, outcome);
        }
      } finally {
        if (sandbox) await pool.release(sandbox);
      }
    }
    return samples.map((s) => verdict(turn, s, outcomes.get(s.text.trim())!));
  }

  private async timed<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.stats.actionsRun++;
      this.stats.actionMs += performance.now() - t0;
    }
  }
}

const toOutcome = (c: Comparison): VerdictOutcome => ({ reward: c.equivalent ? 1 : 0, reason: c.reason, detail: c.detail });

const verdict = (turn: Turn, s: Sample, o: VerdictOutcome): Verdict => ({ turnId: turn.id, index: s.index, ...o });
