// Character-level tokenizer: printable ASCII, tab and newline, plus PAD/BOS/EOS/UNK.
// The interface is what a BPE tokenizer would implement too (encode/decode/specials/vocabSize).

export interface Tokenizer {
  /** Stored in checkpoints; a checkpoint refuses to load with a different tokenizer. */
  readonly name: string;
  readonly vocabSize: number;
  readonly pad: number;
  readonly bos: number;
  readonly eos: number;
  readonly unk: number;
  /** Token ids the policy never emits (their logits are masked in the model head). */
  readonly neverEmit: readonly number[];
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/** What an unknown character decodes to (re-encoding it gives UNK again, so text round-trips). */
export const PLACEHOLDER = '\uFFFD';

const SPECIALS = ['<pad>', '<bos>', '<eos>', '<unk>'] as const;
const CHARS = ['\t', '\n', ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i))];

export function charTokenizer(): Tokenizer {
  const toId = new Map(CHARS.map((c, i) => [c, SPECIALS.length + i]));
  const [pad, bos, eos, unk] = [0, 1, 2, 3];
  return {
    name: 'char-ascii-v1',
    vocabSize: SPECIALS.length + CHARS.length,
    pad,
    bos,
    eos,
    unk,
    neverEmit: [pad, bos, eos],
    encode(text) {
      const ids: number[] = [];
      for (const ch of text) ids.push(toId.get(ch) ?? unk);
      return ids;
    },
    decode(ids) {
      let s = '';
      for (const id of ids) {
        if (id === unk) s += PLACEHOLDER;
        else if (id >= SPECIALS.length && id < SPECIALS.length + CHARS.length) s += CHARS[id - SPECIALS.length];
      }
      return s;
    },
  };
}

export function tokenizerByName(name: string): Tokenizer {
  if (name === 'char-ascii-v1') return charTokenizer();
  throw new Error(`unknown tokenizer '${name}'`);
}
