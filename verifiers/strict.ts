// Strict verifier (the ablation): a sample earns 1 only when it is the expert's action, letter for letter
// after trimming surrounding whitespace. No sandbox.
import type { Verdict, VerifierKind } from '../core/schemas';
import { throwIfAborted } from '../core/abort';
import type { VerifyBatchOptions, VerifyItem, Verifier } from './verifier';

export class StrictVerifier implements Verifier {
  readonly kind: VerifierKind = 'strict';

  async verifyBatch(items: VerifyItem[], opts: VerifyBatchOptions = {}): Promise<Verdict[]> {
    const verdicts: Verdict[] = [];
    let done = 0;
    for (const { turn, samples } of items) {
      throwIfAborted(opts.signal);
      const expert = turn.expert.trim();
      for (const s of samples) {
        const action = s.text.trim();
        const base = { turnId: turn.id, index: s.index };
        if (action === '') verdicts.push({ ...base, reward: 0, reason: 'empty_action', detail: '' });
        else if (action === expert) verdicts.push({ ...base, reward: 1, reason: 'exact_match', detail: '' });
        else verdicts.push({ ...base, reward: 0, reason: 'not_exact', detail: '' });
      }
      opts.onProgress?.(++done);
    }
    return verdicts;
  }
}
