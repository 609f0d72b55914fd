// The one interface the verify activity calls, with batches of turns and their samples (verifiers/index.ts makes one).
import type { DockerClient } from '../sandboxes/engine';
import type { Sample, Turn, Verdict, VerifierKind } from '../core/schemas';
import type { SandboxLimits } from '../sandboxes/limits';
import type { Memo } from '../core/memo';

export interface VerifyItem {
  turn: Turn;
  samples: Sample[];
}

export interface VerifyBatchOptions {
  /** Aborting stops the batch: sandboxes are destroyed and verifyBatch rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called with the number of turns finished so far. */
  onProgress?(done: number): void;
}

export interface Verifier {
  readonly kind: VerifierKind;
  /**
   * One verdict per sample, in input order (turn by turn, samples in their order). A verdict's reward is null
   * (reason 'infrastructure') when the sandbox failed twice for that sample: mask it, never score it 0.
   */
  verifyBatch(items: VerifyItem[], opts?: VerifyBatchOptions): Promise<Verdict[]>;
}

export interface VerifierDeps {
  docker?: DockerClient;
  /** Sandbox image of the terminal domain (default pivotrl/terminal:latest). */
  image?: string;
  /** Sandbox image of the SWE domain (default pivotrl/swe:latest). */
  sweImage?: string;
  /** Turns verified at the same time, one sandbox each (default 2). */
  concurrency?: number;
  /** Wall-clock limit of one action in the sandbox (default 10 s). */
  actionTimeoutMs?: number;
  limits?: Partial<SandboxLimits>;
  /** pivotrl.owner label of the sandboxes (default: host name). */
  owner?: string;
  /** Verdicts already measured, shared by the verifiers of a worker process (verifiers/executing.ts). */
  memo?: Memo<Pick<Verdict, 'reward' | 'reason' | 'detail'>>;
  /** Tool use: word-overlap threshold (F1 of content words) for replies and free-text arguments (default 0.6). */
  wordOverlap?: number;
}
