// The out-of-domain suite: short non-agentic tasks scored by exact match, to measure forgetting.
import { Rng, seedOf } from '../core/rng';
import type { OodItem } from '../core/schemas';

const WORDS = ['cat', 'dog', 'sun', 'tree', 'milk', 'road', 'blue', 'fish', 'rain', 'lamp', 'star', 'book'];
/** Words the level-0 suite never uses: each level adds WORDS_PER_LEVEL of them to the vocabulary. */
const NEW_WORDS = [
  ['cup', 'hat', 'pen', 'box'],
  ['egg', 'ant', 'bed', 'car'],
  ['fox', 'owl', 'jam', 'map'],
  ['sky', 'wind', 'leaf', 'door'],
  ['ship', 'moon', 'bird', 'rock'],
  ['salt', 'corn', 'gold', 'rope'],
];

export const OOD_KINDS = ['add', 'reverse', 'upper', 'first', 'next'] as const;
export type OodKind = (typeof OOD_KINDS)[number];

/**
 * How far each kind's items reach beyond the suite pi0 was pretrained on (policy/pretrain.ts uses level 0). A level
 * widens the range items are drawn from (more words, larger operands) and keeps level 0's range inside it, so a
 * higher level mixes pretraining-like items with new ones; level 0 draws exactly the items it always drew.
 */
export type OodLevels = Record<OodKind, number>;
export const MAX_OOD_LEVEL = NEW_WORDS.length;

const vocabulary = (level: number) => [...WORDS, ...NEW_WORDS.slice(0, level).flat()];

const KINDS: Record<OodKind, (rng: Rng, level: number) => { prompt: string; answer: string }> = {
  add(rng, level) {
    const a = rng.int(0, 9 + level);
    const b = rng.int(0, 9 + level);
    return { prompt: `add ${a} ${b}`, answer: String(a + b) };
  },
  reverse(rng, level) {
    const w = rng.pick(vocabulary(level));
    return { prompt: `reverse ${w}`, answer: [...w].reverse().join('') };
  },
  upper(rng, level) {
    const w = rng.pick(vocabulary(level));
    return { prompt: `upper ${w}`, answer: w.toUpperCase() };
  },
  first(rng, level) {
    const [a, b, c] = rng.sample(vocabulary(level), 3);
    return { prompt: `first ${a} ${b} ${c}`, answer: a };
  },
  next(rng, level) {
    const n = rng.int(0, 98 + 10 * level);
    return { prompt: `next ${n}`, answer: String(n + 1) };
  },
};

/** Levels from '2' (every kind) or 'add:2,next:1' (kinds not named: 0); throws naming the bad part. */
export function parseOodLevels(text: string): OodLevels {
  const level = (value: string, what: string) => {
    if (!/^\d+$/.test(value) || Number(value) > MAX_OOD_LEVEL) throw new Error(`${what}: '${value}' is not a level (0..${MAX_OOD_LEVEL})`);
    return Number(value);
  };
  if (!text.includes(':')) {
    const all = level(text.trim(), 'ood level');
    return Object.fromEntries(OOD_KINDS.map((k) => [k, all])) as OodLevels;
  }
  const levels = Object.fromEntries(OOD_KINDS.map((k) => [k, 0])) as OodLevels;
  for (const part of text.split(',')) {
    const [kind, value = ''] = part.split(':').map((s) => s.trim());
    if (!OOD_KINDS.includes(kind as OodKind))
      throw new Error(`ood level '${part}': unknown kind '${kind}' (kinds: ${OOD_KINDS.join(', ')})`);
    levels[kind as OodKind] = level(value, `ood level of ${kind}`);
  }
  return levels;
}

/** `n` items, the kinds in turn; `levels` absent: level 0, the suite pi0 was pretrained on. */
export function generateOodSuite(opts: { seed: number; n: number; levels?: OodLevels }): OodItem[] {
  return Array.from({ length: opts.n }, (_, i) => {
    const kind = OOD_KINDS[i % OOD_KINDS.length];
    const { prompt, answer } = KINDS[kind](new Rng(seedOf(opts.seed, 'ood', i)), opts.levels?.[kind] ?? 0);
    return { id: `ood-${opts.seed}-${i}`, kind, prompt, answer };
  });
}

export const renderOodPrompt = (item: OodItem): string => `Q: ${item.prompt}\nA: `;
export const renderOodAnswer = (item: OodItem): string => `${item.answer}\n`;

/** Exact match after trimming. */
export const oodCorrect = (item: OodItem, completion: string): boolean => completion.trim() === item.answer;
