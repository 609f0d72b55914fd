// The login proxy in front of the Temporal UI server: a login form, sessions, and each request passed on only when the
// user's role allows it (access.ts). Unauthenticated pages are sent to the login form, API calls get 401.
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { mayPass } from './access';
import { clearedSessionCookie, parseCookies, SESSION_COOKIE, sessionCookie, Sessions, withoutSessionCookie } from './sessions';
import { UserDirectory, verifyPassword } from './users';

export const LOGIN_PATH = '/_pivotrl/login';
export const LOGOUT_PATH = '/_pivotrl/logout';
/** The codec server's route: the UI's codec.endpoint is https://<proxy>/codec. */
export const CODEC_PREFIX = '/codec/';
const MAX_FORM_BYTES = 8 << 10;

export interface ProxyOptions {
  /** The UI server, e.g. http://127.0.0.1:8244. */
  upstream: URL;
  users: UserDirectory;
  tls: { cert: string | Buffer; key: string | Buffer };
  sessions?: Sessions;
  /**
   * The codec server (workers/codec-server.ts) and its bearer token: `/codec/*` is passed to it, prefix stripped, with
   * `Authorization: Bearer <token>`, for every logged-in user (decoding is a POST but not a write).
   */
  codec?: { upstream: URL; token: string };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** Only a path of this site: a login link cannot send the user elsewhere. */
const safeNext = (next: string | null) => (next && /^\/(?![/\\])/.test(next) ? next : '/');

const OWN_PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

function loginPage(res: ServerResponse, status: number, next: string, error?: string): void {
  res.writeHead(status, OWN_PAGE_HEADERS);
  res.end(`<!doctype html><html><head><title>pivotrl: log in</title></head>
<body style="font-family: sans-serif; max-width: 22em; margin: 4em auto">
<h1>pivotrl</h1><p>Log in to the Temporal UI.</p>${error ? `<p style="color: #b00">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${LOGIN_PATH}">
<input type="hidden" name="next" value="${escapeHtml(next)}">
<p><label>User <input name="user" autocomplete="username" required autofocus></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Log in</button></p>
</form></body></html>`);
}

function json(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_FORM_BYTES) req.destroy(new Error('login form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function forward(req: IncomingMessage, res: ServerResponse, upstream: URL, path = req.url ?? '/', authorization?: string): void {
  const headers: OutgoingHttpHeaders = { ...req.headers };
  // The UI server skips its CSRF check for requests with an Authorization header; it never needs one from here. The
  // codec server gets the proxy's own token, never one the browser sent.
  delete headers.authorization;
  if (authorization !== undefined) headers.authorization = authorization;
  delete headers.connection;
  headers.cookie = withoutSessionCookie(req.headers.cookie);
  if (headers.cookie === undefined) delete headers.cookie;
  headers['x-forwarded-proto'] = 'https';
  headers['x-forwarded-for'] = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
  // The path as sent, to the upstream's host: a URL would let `//host/path` name another server.
  const target = { hostname: upstream.hostname, port: upstream.port, path, method: req.method, headers };
  const out = httpRequest(target, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  out.on('error', (err) => {
    if (!res.headersSent) json(res, 502, { error: `the upstream server does not answer: ${err.message}` });
    else res.destroy();
  });
  req.pipe(out);
}

export function createUiProxy(options: ProxyOptions): Server {
  const sessions = options.sessions ?? new Sessions();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://proxy.invalid');
    // Roles are checked on the path as sent (URL parsing would resolve its dot segments; the UI server gets it as sent).
    const rawPath = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const token = parseCookies(req.headers.cookie).get(SESSION_COOKIE);

    if (url.pathname === LOGIN_PATH) {
      if (method !== 'POST') return loginPage(res, 200, safeNext(url.searchParams.get('next')));
      const form = await readForm(req);
      const next = safeNext(form.get('next'));
      const user = await verifyPassword(options.users.current(), form.get('user') ?? '', form.get('password') ?? '');
      if (!user) return loginPage(res, 401, next, 'Unknown user or wrong password.');
      sessions.close(token);
      res.writeHead(303, { location: next, 'set-cookie': sessionCookie(sessions.open(user.name)), 'cache-control': 'no-store' });
      return res.end();
    }
    if (url.pathname === LOGOUT_PATH) {
      sessions.close(token);
      res.writeHead(303, { location: LOGIN_PATH, 'set-cookie': clearedSessionCookie() });
      return res.end();
    }

    const user = sessions.userOf(token);
    // A request refused below is answered without its body: drain it, so the connection can carry the next request.
    const refuse = (status: number, body: object) => (req.resume(), json(res, status, body));
    const role = user === undefined ? undefined : options.users.roleOf(user);
    if (role === undefined) {
      if ((method === 'GET' || method === 'HEAD') && req.headers.accept?.includes('text/html')) {
        res.writeHead(303, { location: `${LOGIN_PATH}?next=${encodeURIComponent(url.pathname + url.search)}` });
        return res.end();
      }
      return refuse(401, { error: `log in first: ${LOGIN_PATH}` });
    }
    if (options.codec && rawPath.startsWith(CODEC_PREFIX)) {
      // Only /codec/encode and /codec/decode, the codec server's two routes (the UI posts to them, same origin).
      const rest = (req.url ?? '/').slice(CODEC_PREFIX.length - 1);
      if (!/^\/(encode|decode)(\?|$)/.test(rest)) return refuse(404, { error: `no such codec route: ${rawPath}` });
      return forward(req, res, options.codec.upstream, rest, `Bearer ${options.codec.token}`);
    }
    if (!mayPass(role, method, rawPath)) {
      return refuse(403, { error: `user ${user} (role ${role}) may not ${method} ${rawPath}: write actions need the ops role` });
    }
    forward(req, res, options.upstream);
  };
  return createHttpsServer({ ...options.tls, minVersion: 'TLSv1.2' }, (req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) json(res, 500, { error: err.message });
      else res.destroy(err);
    });
  });
}
