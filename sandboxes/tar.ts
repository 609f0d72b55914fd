// A minimal tar writer (ustar + pax headers for long names): files written into /work, owned by the agent.
import { AGENT_UID } from './limits';

export interface FileToWrite {
  path: string;
  content: string | Buffer;
  mode?: number;
}

function tarHeader(name: string, size: number, mode: number, type: '0' | '5' | 'x', mtime: number): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number) => h.write(s, off, Math.min(len, Buffer.byteLength(s)), 'utf8');
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(oct(mode & 0o7777, 8), 100, 8);
  put(oct(AGENT_UID, 8), 108, 8);
  put(oct(AGENT_UID, 8), 116, 8);
  put(oct(size, 12), 124, 12);
  put(oct(mtime, 12), 136, 12);
  put('        ', 148, 8);
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('agent', 265, 32);
  put('agent', 297, 32);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  len += String(len).length;
  if (String(len).length !== String(len - String(len).length).length) len++;
  return `${len}${body}`;
}

const pad512 = (n: number) => Buffer.alloc((512 - (n % 512)) % 512, 0);

/** Fixed modification time of written files (2024-01-01T00:00:00Z), so `ls -l` is reproducible. */
export const FILE_MTIME = 1704067200;

export function buildTar(files: FileToWrite[], dirs: string[] = []): Buffer {
  const parts: Buffer[] = [];
  const entry = (name: string, data: Buffer, mode: number, type: '0' | '5') => {
    if (Buffer.byteLength(name) > 100) {
      const pax = Buffer.from(paxRecord('path', name));
      parts.push(tarHeader('PaxHeader', pax.length, 0o644, 'x', FILE_MTIME), pax, pad512(pax.length));
    }
    parts.push(tarHeader(name, data.length, mode, type, FILE_MTIME), data, pad512(data.length));
  };
  const norm = (p: string) => {
    const clean = p.replace(/^\.\/+/, '').replace(/\/+$/, '');
    if (!clean || clean.startsWith('/') || clean.split('/').includes('..')) throw new Error(`path must stay inside /work: ${p}`);
    return clean;
  };
  // Every directory gets an entry (parents included) so its mtime is FILE_MTIME too, not the time of writing.
  const allDirs = new Set<string>();
  const addParents = (p: string) => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) allDirs.add(parts.slice(0, i).join('/'));
  };
  for (const d of dirs) {
    addParents(norm(d));
    allDirs.add(norm(d));
  }
  for (const f of files) addParents(norm(f.path));
  for (const d of [...allDirs].sort()) entry(d + '/', Buffer.alloc(0), 0o755, '5');
  for (const f of files) {
    const data = typeof f.content === 'string' ? Buffer.from(f.content, 'utf8') : f.content;
    entry(norm(f.path), data, f.mode ?? 0o644, '0');
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}
