// The out-of-domain suite: short non-agentic tasks scored by exact match, to measure forgetting.
import { Rng, seedOf } from '../core/rng';
import type { OodItem } from '../core/schemas';

const WORDS = ['cat', 'dog', 'sun', 'tree', 'milk', 'road', 'blue', 'fish', 'rain', 'lamp', 'star', 'book'];

type Kind = { name: string; make(rng: Rng): { prompt: string; answer: string } };

const KINDS: Kind[] = [
  {
    name: 'add',
    make(rng) {
      const a = rng.int(0, 9);
      const b = rng.int(0, 9);
      return { prompt: `add ${a} ${b}`, answer: String(a + b) };
    },
  },
  {
    name: 'reverse',
    make(rng) {
      const w = rng.pick(WORDS);
      return { prompt: `reverse ${w}`, answer: [...w].reverse().join('') };
    },
  },
  {
    name: 'upper',
    make(rng) {
      const w = rng.pick(WORDS);
      return { prompt: `upper ${w}`, answer: w.toUpperCase() };
    },
  },
  {
    name: 'first',
    make(rng) {
      const [a, b, c] = rng.sample(WORDS, 3);
      return { prompt: `first ${a} ${b} ${c}`, answer: a };
    },
  },
  {
    name: 'next',
    make(rng) {
      const n = rng.int(0, 98);
      return { prompt: `next ${n}`, answer: String(n + 1) };
    },
  },
];

export function generateOodSuite(opts: { seed: number; n: number }): OodItem[] {
  return Array.from({ length: opts.n }, (_, i) => {
    const kind = KINDS[i % KINDS.length];
    const { prompt, answer } = kind.make(new Rng(seedOf(opts.seed, 'ood', i)));
    return { id: `ood-${opts.seed}-${i}`, kind: kind.name, prompt, answer };
  });
}

export const renderOodPrompt = (item: OodItem): string => `Q: ${item.prompt}\nA: `;
export const renderOodAnswer = (item: OodItem): string => `${item.answer}\n`;

/** Exact match after trimming. */
export const oodCorrect = (item: OodItem, completion: string): boolean => completion.trim() === item.answer;
