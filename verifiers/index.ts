// The verifier of each kind: the factory the verify activity, the CLI and the benches call.
import type { VerifierKind } from '../core/schemas';
import { FunctionalVerifier } from './functional';
import { StrictVerifier } from './strict';
import type { Verifier, VerifierDeps } from './verifier';

export function createVerifier(kind: VerifierKind, deps: VerifierDeps = {}): Verifier {
  switch (kind) {
    case 'strict':
      return new StrictVerifier();
    case 'functional':
      return new FunctionalVerifier(deps);
    default: {
      const never: never = kind;
      throw new Error(`unknown verifier kind ${String(never)}`);
    }
  }
}
