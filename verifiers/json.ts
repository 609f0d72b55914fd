// Functional comparison of JSON values (tool-call arguments): the same keys, the same types, the same list
// lengths; numbers within 1e-6; one-word strings exactly (once trimmed); longer strings by word overlap against a threshold.
// Lists are compared in order, or as multisets where the JSON schema says `uniqueItems` (order carries no meaning).
import type { JsonSchema } from '../core/domains/tool';
import { wordOverlap } from '../tasks/tool/words';
import { maxMatching } from './matching';

export interface JsonCompareOptions {
  /** Word-overlap threshold for strings of more than one word. */
  threshold: number;
  /** The expected value's JSON schema, if known. */
  schema?: JsonSchema;
  /** Absolute tolerance of numbers (relative for numbers above 1). Default 1e-6. */
  tolerance?: number;
}

export type JsonDifference = { path: string; why: string };

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
};

/** One word: no whitespace inside once trimmed. */
const isOneWord = (s: string): boolean => !/\s/.test(s.trim());

export function sameString(expected: string, actual: string, threshold: number): boolean {
  if (expected.trim() === actual.trim()) return true;
  if (isOneWord(expected)) return false;
  return wordOverlap(expected, actual) >= threshold;
}

/** The first difference that matters, or null when `actual` is functionally the `expected` value. */
export function compareJson(expected: unknown, actual: unknown, opts: JsonCompareOptions, path = '$'): JsonDifference | null {
  const tol = opts.tolerance ?? 1e-6;
  const [ke, ka] = [kind(expected), kind(actual)];
  if (ke !== ka) return { path, why: `expected a ${ke}, got a ${ka}` };
  switch (ke) {
    case 'number': {
      const [e, a] = [expected as number, actual as number];
      return Math.abs(e - a) <= tol * Math.max(1, Math.abs(e), Math.abs(a)) ? null : { path, why: `expected ${e}, got ${a}` };
    }
    case 'string':
      return sameString(expected as string, actual as string, opts.threshold)
        ? null
        : { path, why: `expected ${show(expected)}, got ${show(actual)}` };
    case 'array': {
      const [e, a] = [expected as unknown[], actual as unknown[]];
      if (e.length !== a.length) return { path, why: `expected ${e.length} items, got ${a.length}` };
      const item = { ...opts, schema: opts.schema?.items };
      if (opts.schema?.uniqueItems) {
        const m = maxMatching(e.length, a.length, (i, j) => compareJson(e[i], a[j], item) === null);
        const i = m.pairs.indexOf(-1);
        return i < 0 ? null : { path: `${path}[${i}]`, why: `no item matches ${show(e[i])} (order free)` };
      }
      for (let i = 0; i < e.length; i++) {
        const d = compareJson(e[i], a[i], item, `${path}[${i}]`);
        if (d) return d;
      }
      return null;
    }
    case 'object': {
      const [e, a] = [expected as Record<string, unknown>, actual as Record<string, unknown>];
      const missing = Object.keys(e).filter((k) => !Object.hasOwn(a, k));
      if (missing.length) return { path, why: `missing ${missing.join(', ')}` };
      const extra = Object.keys(a).filter((k) => !Object.hasOwn(e, k));
      if (extra.length) return { path, why: `unexpected ${extra.join(', ')}` };
      for (const k of Object.keys(e)) {
        const d = compareJson(e[k], a[k], { ...opts, schema: opts.schema?.properties?.[k] }, `${path}.${k}`);
        if (d) return d;
      }
      return null;
    }
    default:
      return expected === actual ? null : { path, why: `expected ${show(expected)}, got ${show(actual)}` };
  }
}
