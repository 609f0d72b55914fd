// The listing of /work the runner answers (find's records and sha256sum's), parsed into sorted entries.
import { createHash } from 'node:crypto';

export type EntryKind = 'f' | 'd' | 'l' | 'o';

export interface ManifestEntry {
  /** Relative to /work. */
  path: string;
  /** f = regular file, d = directory, l = symbolic link, o = anything else (fifo, socket, device). */
  kind: EntryKind;
  /** Permission bits, including setuid/setgid/sticky. */
  mode: number;
  /** sha256 of a file's content, of a link's target text; null for directories and others. */
  sha256: string | null;
}

export function parseManifest(m: Buffer, h: Buffer): ManifestEntry[] {
  const hashes = new Map<string, string>();
  for (const rec of h.toString('utf8').split('\0')) {
    if (!rec) continue;
    const sp = rec.indexOf('  ');
    const path = rec.slice(sp + 2);
    hashes.set(path.startsWith('/work/') ? path.slice(6) : path, rec.slice(0, sp).replace(/^\\/, ''));
  }
  const fields = m.toString('utf8').split('\0');
  const out: ManifestEntry[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const head = fields[i];
    const target = fields[i + 1];
    const s1 = head.indexOf(' ');
    const s2 = head.indexOf(' ', s1 + 1);
    const y = head.slice(0, s1);
    const mode = parseInt(head.slice(s1 + 1, s2), 8);
    const path = head.slice(s2 + 1);
    const kind: EntryKind = y === 'f' || y === 'd' || y === 'l' ? y : 'o';
    const sha256 =
      kind === 'f' ? (hashes.get(path) ?? null) : kind === 'l' ? createHash('sha256').update(target, 'utf8').digest('hex') : null;
    out.push({ path, kind, mode, sha256 });
  }
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}
