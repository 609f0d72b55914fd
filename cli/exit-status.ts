// What the `pivotrl` command's exit status means, and which status (and message) an error a command threw gets.
import { ConfigError } from '../pipeline/config-file';
import { BadInputError } from '../pipeline/jsonl-reader';

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** The Temporal server did not answer (cli/connect.ts). */
export class TemporalUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalUnreachableError';
  }
}

/** Errors that are bugs in this program: their stack is worth printing. */
const BUGS = [TypeError, RangeError, ReferenceError, SyntaxError];

/** The exit status of an error a command threw, and what to print for it (a Temporal failure with its cause). */
export function outcomeOf(err: unknown): { status: number; message: string } {
  if (!(err instanceof Error)) return { status: EXIT.failed, message: String(err) };
  if (err instanceof ConfigError || err instanceof BadInputError) return { status: EXIT.usage, message: err.message };
  if (err instanceof TemporalUnreachableError) return { status: EXIT.unreachable, message: err.message };
  if (BUGS.some((bug) => err instanceof bug)) return { status: EXIT.failed, message: err.stack ?? err.message };
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return { status: EXIT.failed, message: err.message + cause };
}
