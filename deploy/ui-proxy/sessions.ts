// Login sessions of the proxy: random tokens in memory (a restart logs everyone out), held in a Secure, HttpOnly,
// SameSite=Strict cookie.
import { randomBytes } from 'node:crypto';

export const SESSION_COOKIE = '__Host-pivotrl-session';
export const SESSION_SECONDS = 12 * 3600;

export class Sessions {
  private readonly byToken = new Map<string, { user: string; expires: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  open(user: string): string {
    const token = randomBytes(32).toString('base64url');
    this.byToken.set(token, { user, expires: this.now() + SESSION_SECONDS * 1000 });
    return token;
  }

  /** The session's user, or undefined when the token is unknown or expired. */
  userOf(token: string | undefined): string | undefined {
    const session = token === undefined ? undefined : this.byToken.get(token);
    if (!session) return undefined;
    if (session.expires <= this.now()) {
      this.byToken.delete(token!);
      return undefined;
    }
    return session.user;
  }

  close(token: string | undefined): void {
    if (token !== undefined) this.byToken.delete(token);
  }
}

export const sessionCookie = (token: string) =>
  `${SESSION_COOKIE}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${SESSION_SECONDS}`;
export const clearedSessionCookie = () => `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;

/** The cookies of a Cookie header, by name. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return cookies;
}

/** The Cookie header without the session cookie (the UI server never sees it), or undefined when nothing is left. */
export function withoutSessionCookie(header: string | undefined): string | undefined {
  const rest = (header ?? '')
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '' && !p.startsWith(`${SESSION_COOKIE}=`));
  return rest.length > 0 ? rest.join('; ') : undefined;
}
