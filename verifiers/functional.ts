// The functional verifier of a campaign: each turn goes to the verifier of its domain; verdicts come back in
// input order. A new domain adds its verifier here.
import type { Domain, Verdict, VerifierKind } from '../core/schemas';
import type { VerifyBatchOptions, VerifyItem, Verifier, VerifierDeps } from './verifier';
import { TerminalVerifier } from './terminal';
import { SweVerifier } from './swe';
import { ToolVerifier } from './tool';

export class FunctionalVerifier implements Verifier {
  readonly kind: VerifierKind = 'functional';
  private readonly byDomain: Record<Domain, Verifier>;

  constructor(deps: VerifierDeps = {}) {
    this.byDomain = { terminal: new TerminalVerifier(deps), swe: new SweVerifier(deps), tool: new ToolVerifier(deps) };
  }

  async verifyBatch(items: VerifyItem[], opts: VerifyBatchOptions = {}): Promise<Verdict[]> {
    const groups = new Map<Domain, number[]>();
    items.forEach((item, i) => groups.set(item.turn.domain, [...(groups.get(item.turn.domain) ?? []), i]));
    const verdicts: Verdict[][] = new Array(items.length);
    let done = 0;
    for (const [domain, indices] of groups) {
      const before = done;
      const out = await this.byDomain[domain].verifyBatch(
        indices.map((i) => items[i]),
        { ...opts, onProgress: (n) => opts.onProgress?.(before + n) },
      );
      // Each domain verifier returns its verdicts turn by turn, samples in order.
      let k = 0;
      for (const i of indices) {
        verdicts[i] = out.slice(k, k + items[i].samples.length);
        k += items[i].samples.length;
      }
      done += indices.length;
    }
    return verdicts.flat();
  }
}
