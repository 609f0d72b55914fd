// The login proxy's users file: one `name:role:salt:hash` line per user (scrypt hashes, never passwords), mode 600.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { z } from 'zod';
import { firstIssue } from '../../core/zod-errors';

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;
const KEY_BYTES = 32;

/** viewer: reads; ops: also the UI's write actions (terminate, signal, cancel, reset, ...). */
export const Role = z.enum(['viewer', 'ops']);
export type Role = z.infer<typeof Role>;

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes} bytes in hex`);
export const UserName = z.string().regex(/^[a-z0-9_.-]{1,64}$/, 'expected 1 to 64 of a-z 0-9 _ . -');
export const UserLine = z.object({ name: UserName, role: Role, salt: hex(16), hash: hex(KEY_BYTES) });
export type User = z.infer<typeof UserLine>;

export function parseUsers(text: string, file: string): User[] {
  const users: User[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const [name, role, salt, hash, ...rest] = line.split(':');
    if (rest.length > 0) throw new Error(`${file}:${i + 1}: expected name:role:salt:hash`);
    const parsed = UserLine.safeParse({ name, role, salt, hash });
    if (!parsed.success) throw new Error(`${file}:${i + 1}: ${firstIssue(parsed.error)}`);
    if (users.some((u) => u.name === parsed.data.name)) throw new Error(`${file}:${i + 1}: user ${parsed.data.name} listed twice`);
    users.push(parsed.data);
  });
  return users;
}

export const readUsers = (file: string): User[] => (existsSync(file) ? parseUsers(readFileSync(file, 'utf8'), file) : []);

/** Writes the file whole (mode 600), through a temporary file, so the proxy never reads half of it. */
export function writeUsers(file: string, users: User[]): void {
  const text = users.map((u) => `${u.name}:${u.role}:${u.salt}:${u.hash}\n`).join('');
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export async function hashPassword(name: string, role: Role, password: string): Promise<User> {
  const salt = randomBytes(16);
  return { name, role, salt: salt.toString('hex'), hash: (await scrypt(password, salt, KEY_BYTES)).toString('hex') };
}

const DECOY = { salt: '00'.repeat(16), hash: '00'.repeat(KEY_BYTES) };

/** The user when the password is theirs; an unknown name costs the same scrypt as a known one. */
export async function verifyPassword(users: User[], name: string, password: string): Promise<User | undefined> {
  const user = users.find((u) => u.name === name);
  const { salt, hash } = user ?? DECOY;
  const derived = await scrypt(password, Buffer.from(salt, 'hex'), KEY_BYTES);
  return user && timingSafeEqual(derived, Buffer.from(hash, 'hex')) ? user : undefined;
}

/** The users file as the proxy sees it: read again whenever it changes, so a removed user is locked out at once. */
export class UserDirectory {
  private users: User[] = [];
  private stamp = '';

  constructor(private readonly file: string) {
    this.current();
  }

  current(): User[] {
    const s = statSync(this.file, { throwIfNoEntry: false });
    const stamp = s ? `${s.mtimeMs}:${s.size}:${s.ino}` : 'missing';
    if (stamp !== this.stamp) {
      if (s && (s.mode & 0o077) !== 0) throw new Error(`${this.file}: must be readable by its owner only (chmod 600)`);
      this.users = readUsers(this.file);
      this.stamp = stamp;
    }
    return this.users;
  }

  roleOf(name: string): Role | undefined {
    return this.current().find((u) => u.name === name)?.role;
  }
}
