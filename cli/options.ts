// Checked parsers for the CLI's number options: each refuses text that is not the number its option needs, saying what
// it needs (commander prints "error: option '--train <n>' argument 'abc' is invalid: a positive integer", exit 2).
import { InvalidArgumentError } from 'commander';

/** The number `text` spells, NaN for blank text (which `Number` would read as 0). */
const numberOf = (text: string): number => (text.trim() === '' ? NaN : Number(text));

/** An integer of at least `min`. */
export const integerFrom =
  (min: number, what = `an integer, ${min} or more`) =>
  (text: string): number => {
    const n = numberOf(text);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(what);
    return n;
  };

export const positiveInteger = integerFrom(1, 'a positive integer');
export const wholeNumber = integerFrom(0, 'a whole number (0 or more)');

/** A finite number: a value whose range someone else checks (the workflow's Update validator for `pivotrl set`). */
export function finiteNumber(text: string): number {
  const n = numberOf(text);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('a number');
  return n;
}

export function positiveNumber(text: string): number {
  const n = numberOf(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number');
  return n;
}

/** A number in (low, high]. */
export const numberAbove =
  (low: number, high: number) =>
  (text: string): number => {
    const n = numberOf(text);
    if (!(n > low && n <= high)) throw new InvalidArgumentError(`a number above ${low} and at most ${high}`);
    return n;
  };
