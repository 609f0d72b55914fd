// The functional verifier of a campaign: each turn goes to the verifier of its domain (a replayed terminal
// trajectory that names its own sandbox image, to a terminal verifier of that image); verdicts come back in input
// order. A new domain adds its verifier here.
import type { Domain, Turn, Verdict, VerifierKind } from '../core/schemas';
import { DEFAULT_IMAGE } from '../sandboxes/sandbox';
import type { VerifyBatchOptions, VerifyItem, Verifier, VerifierDeps } from './verifier';
import { TerminalVerifier } from './terminal';
import { SweVerifier } from './swe';
import { ToolVerifier } from './tool';

export class FunctionalVerifier implements Verifier {
  readonly kind: VerifierKind = 'functional';
  private readonly byDomain: Record<Domain, Verifier>;
  /** Terminal verifiers of the images replayed trajectories name, made when first needed. */
  private readonly byImage = new Map<string, Verifier>();

  constructor(private readonly deps: VerifierDeps = {}) {
    this.byDomain = { terminal: new TerminalVerifier(deps), swe: new SweVerifier(deps), tool: new ToolVerifier(deps) };
  }

  private verifierOf(turn: Turn): Verifier {
    const image = turn.domain === 'terminal' && turn.task.kind === 'replay' ? turn.task.image : undefined;
    if (image === undefined || image === (this.deps.image ?? DEFAULT_IMAGE)) return this.byDomain[turn.domain];
    let verifier = this.byImage.get(image);
    if (!verifier) this.byImage.set(image, (verifier = new TerminalVerifier({ ...this.deps, image })));
    return verifier;
  }

  async verifyBatch(items: VerifyItem[], opts: VerifyBatchOptions = {}): Promise<Verdict[]> {
    const groups = new Map<Verifier, number[]>();
    items.forEach((item, i) => {
      const verifier = this.verifierOf(item.turn);
      groups.set(verifier, [...(groups.get(verifier) ?? []), i]);
    });
    const verdicts: Verdict[][] = new Array(items.length);
    let done = 0;
    for (const [verifier, indices] of groups) {
      const before = done;
      const out = await verifier.verifyBatch(
        indices.map((i) => items[i]),
        { ...opts, onProgress: (n) => opts.onProgress?.(before + n) },
      );
      // Each verifier returns its verdicts turn by turn, samples in order.
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
