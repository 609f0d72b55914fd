// A byte-level JSON Lines reader with flat memory: splits on LF (a CR before it is dropped), checks each line is
// valid UTF-8 (readline would silently put U+FFFD in its place), never holds more than `maxLineBytes` of one line,
// and skips blank lines. A file that cannot be read at all is a BadInputError.
import { open } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';

/** Input that cannot be used at all (a missing or unreadable file): retrying will not help. */
export class BadInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}

/** Bytes of a bad line kept for the quarantine, so a report stays small whatever the line. */
export const RAW_LIMIT_BYTES = 1024;

/** The start of a line as text of at most RAW_LIMIT_BYTES in UTF-8 (bad bytes shown as U+FFFD, no character cut). */
export function headOf(data: Uint8Array | string): string {
  const cut = (bytes: Uint8Array) => new TextDecoder().decode(bytes.subarray(0, RAW_LIMIT_BYTES), { stream: true });
  const text = cut(typeof data === 'string' ? Buffer.from(data.slice(0, RAW_LIMIT_BYTES)) : data);
  return Buffer.byteLength(text) <= RAW_LIMIT_BYTES ? text : cut(Buffer.from(text)); // U+FFFD takes 3 bytes
}

export interface ReadLine {
  /** 1-based line number in the file (blank lines count). */
  line: number;
  /** Size of the line in bytes, without its line ending. */
  bytes: number;
  /** The decoded text, or undefined when the line is unusable (then `problem` says why). */
  text?: string;
  problem?: { field: string; reason: string };
  /** The first RAW_LIMIT_BYTES of the line, for the quarantine; set only with `problem`. */
  raw?: string;
}

const CR = 0x0d;
const LF = 0x0a;
const isJsonSpace = (b: number) => b === 0x20 || b === 0x09 || b === CR;

function isBlank(buf: Uint8Array): boolean {
  for (let i = 0; i < buf.length; i++) if (!isJsonSpace(buf[i])) return false;
  return true;
}

/** Byte offset of the first byte that is not part of a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Lead byte: sequence length and the allowed range of the second byte (no overlongs, no surrogates).
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + n >= buf.length) return i;
    if (buf[i + 1] < lo || buf[i + 1] > hi) return i;
    for (let k = 2; k <= n; k++) if (buf[i + k] < 0x80 || buf[i + k] > 0xbf) return i;
    i += n + 1;
  }
  return -1;
}

async function openReadable(file: string) {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new BadInputError(`${file}: cannot read: ${(err as Error).message}`);
  }
  const stat = await handle.stat();
  if (stat.isDirectory()) {
    await handle.close();
    throw new BadInputError(`${file}: cannot read: it is a directory`);
  }
  return handle;
}

export interface ReadOptions {
  /** Lines longer than this are reported (with their first bytes), never held whole. */
  maxLineBytes: number;
  /** Bytes read at a time. */
  chunkBytes?: number;
}

/** Yields every non-blank line of a JSON Lines file, decoded, or with the problem that makes it unusable. */
export async function* readJsonLines(file: string, opts: ReadOptions): AsyncGenerator<ReadLine> {
  const handle = await openReadable(file);
  const stream = handle.createReadStream({ highWaterMark: opts.chunkBytes ?? 1 << 20 });
  let parts: Buffer[] = [];
  let kept = 0; // bytes held in `parts`
  let size = 0; // bytes of the current line so far, held or not
  let last = -1; // the line's last byte so far (a CR there belongs to the line ending)
  let overflow = false; // the line is over the limit: only its head is held
  let lineNo = 1;
  const hold = opts.maxLineBytes + 1; // room for a CR

  const append = (piece: Buffer) => {
    if (piece.length === 0) return;
    size += piece.length;
    last = piece[piece.length - 1];
    if (!overflow && kept + piece.length <= hold) {
      parts.push(piece);
      kept += piece.length;
    } else if (!overflow) {
      // Over the limit: keep only the head for the report, and let the rest of the line go by.
      parts = [Buffer.concat([...parts, piece], Math.min(RAW_LIMIT_BYTES, kept + piece.length))];
      kept = parts[0].length;
      overflow = true;
    } else if (kept < RAW_LIMIT_BYTES) {
      parts = [Buffer.concat([parts[0], piece.subarray(0, RAW_LIMIT_BYTES - kept)])];
      kept = parts[0].length;
    }
  };

  const finish = (): ReadLine | null => {
    const bytes = size - (last === CR ? 1 : 0);
    let buf = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    if (buf.length > bytes) buf = buf.subarray(0, bytes); // the CR of a CRLF
    if (lineNo === 1 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3); // a UTF-8 BOM
    if (bytes > opts.maxLineBytes) {
      return {
        line: lineNo,
        bytes,
        raw: headOf(buf),
        problem: { field: '(record)', reason: `line is ${bytes} bytes, over the limit of ${opts.maxLineBytes} bytes` },
      };
    }
    if (isBlank(buf)) return null;
    if (!isUtf8(buf)) {
      const at = firstInvalidUtf8(buf);
      return { line: lineNo, bytes, raw: headOf(buf), problem: { field: '(record)', reason: `invalid UTF-8 at byte ${at} of the line` } };
    }
    return { line: lineNo, bytes, text: buf.toString('utf8') };
  };

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(LF, start);
        append(chunk.subarray(start, nl === -1 ? chunk.length : nl));
        if (nl === -1) break;
        const out = finish();
        if (out) yield out;
        parts = [];
        kept = 0;
        size = 0;
        last = -1;
        overflow = false;
        lineNo++;
        start = nl + 1;
      }
    }
    if (size > 0) {
      const out = finish();
      if (out) yield out;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'EACCES') throw new BadInputError(`${file}: cannot read: ${(err as Error).message}`);
    throw err;
  } finally {
    stream.destroy();
    await handle.close().catch(() => undefined);
  }
}
