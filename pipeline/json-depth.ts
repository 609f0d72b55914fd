// How deeply a JSON text nests, found by one pass over its characters: a record nested deeper than anything real
// (a tool schema 20,000 levels deep) is refused before the schemas and JSON.stringify recurse into it and overflow.

/** Deepest nesting of arrays and objects a record may have; real records (tool schemas included) stay far below. */
export const MAX_JSON_DEPTH = 128;

/** True when `text` opens more than `max` arrays or objects inside one another (brackets inside strings do not count). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
