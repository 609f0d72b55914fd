// Words of free text, for comparisons that tolerate paraphrase: lower case, stop words dropped, a light stemmer
// (cancelled = canceled = cancel), numbers normalised (42.50 = 42.5). Ids, emails and decimals stay one word.

const STOP_WORDS = new Set(
  (
    'a an the and or but so of to for in on at by with from as into onto is are was were be been being has have had do does did ' +
    'it its this that these those i me my we our you your he she they them their his her there here now just also please ' +
    'will would can could should shall may might must not no yes ok okay done all any some then than very'
  ).split(' '),
);

const TOKEN = /[a-z0-9]+(?:[.@'_-][a-z0-9]+)*/g;
const NUMBER = /^\d+(?:\.\d+)?$/;

/** A light stemmer: enough for inflections of the same word to meet (shipped/ships/shipping -> ship). */
function stem(word: string): string {
  if (word.length <= 4 || /[0-9@.]/.test(word)) return word;
  let w = word;
  for (const suffix of ['ing', 'ed', 'es', 's']) {
    if (w.endsWith(suffix) && w.length - suffix.length >= 3 && !(suffix === 's' && w.endsWith('ss'))) {
      w = w.slice(0, -suffix.length);
      break;
    }
  }
  if (w.length >= 4 && w[w.length - 1] === w[w.length - 2] && !'aeiousl'.includes(w[w.length - 1])) w = w.slice(0, -1);
  if (w.endsWith('ll') && w.length >= 6) w = w.slice(0, -1);
  return w;
}

/** A number's canonical text (so 3, 3.0 and 03 are one word), or the word itself. */
export function normaliseWord(word: string): string {
  return NUMBER.test(word) ? String(Number(word)) : stem(word);
}

/** Every word of the text, normalised, stop words included. */
export function allWords(text: string): string[] {
  return (text.toLowerCase().match(TOKEN) ?? []).map((w) => w.replace(/'s$/, '')).map(normaliseWord);
}

/** The content words of the text (stop words dropped, unless nothing else is left). */
export function contentWords(text: string): string[] {
  const all = allWords(text);
  const content = all.filter((w) => !STOP_WORDS.has(w));
  return content.length > 0 ? content : all;
}

/** F1 of the two texts' content-word multisets: 1 for the same words in any order, 0 for none shared. */
export function wordOverlap(a: string, b: string): number {
  const wa = contentWords(a);
  const wb = contentWords(b);
  if (wa.length === 0 && wb.length === 0) return 1;
  if (wa.length === 0 || wb.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const w of wa) counts.set(w, (counts.get(w) ?? 0) + 1);
  let shared = 0;
  for (const w of wb) {
    const n = counts.get(w) ?? 0;
    if (n > 0) {
      shared++;
      counts.set(w, n - 1);
    }
  }
  if (shared === 0) return 0;
  const precision = shared / wb.length;
  const recall = shared / wa.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Words that carry data (ids, amounts, emails: anything with a digit or an @): a paraphrase must keep them all. */
export function factWords(text: string): string[] {
  return [...new Set(allWords(text).filter((w) => /[0-9@]/.test(w)))];
}

/** The facts (each a word or a few words) that the text does not contain, compared word by word. */
export function missingFacts(text: string, facts: readonly string[]): string[] {
  const have = new Set(allWords(text));
  return facts.filter((f) => !allWords(f).every((w) => have.has(w)));
}

/** Default threshold of wordOverlap for free text (replies, long string arguments, notes). */
export const DEFAULT_WORD_OVERLAP = 0.6;
