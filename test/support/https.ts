// Tests only: https requests to the UI's login proxy, trusting only its certificate, with a small cookie jar.
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request with the path as written (a URL would resolve its dot segments before sending). */
export function httpsCall(
  base: string,
  ca: string | Buffer,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<Answer> {
  const { hostname, port } = new URL(base);
  // With its length: Node sends a DELETE's body unframed otherwise.
  const framed = { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers: framed, ca }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A browser's view of the proxy: cookies kept from every answer and sent with every request. */
export class HttpsSession {
  readonly cookies = new Map<string, string>();

  constructor(
    private readonly base: string,
    private readonly ca: string | Buffer,
  ) {}

  async call(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<Answer> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const answer = await httpsCall(this.base, this.ca, method, path, cookie ? { cookie, ...headers } : headers, body);
    for (const line of answer.headers['set-cookie'] ?? []) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return answer;
  }

  login(user: string, password: string): Promise<Answer> {
    const form = new URLSearchParams({ user, password, next: '/' }).toString();
    return this.call('POST', '/_pivotrl/login', { 'content-type': 'application/x-www-form-urlencoded' }, form);
  }
}
