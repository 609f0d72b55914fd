// The UI's login proxy (deploy/ui-proxy/) in front of a stand-in UI server on loopback: no page or API call without a
// login, viewers read (and query) but are refused write calls, ops pass, sessions live in Secure HttpOnly SameSite
// cookies that never reach the UI server, and a user removed from the users file is locked out at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { mayPass } from '../../deploy/ui-proxy/access';
import { createUiProxy, LOGIN_PATH } from '../../deploy/ui-proxy/proxy';
import { SESSION_COOKIE } from '../../deploy/ui-proxy/sessions';
import { hashPassword, parseUsers, UserDirectory, writeUsers } from '../../deploy/ui-proxy/users';
import { httpsCall, type Answer } from '../support/https';
import { tempDir } from '../../harness/temp-dir';

const dir = tempDir('pivotrl-ui-proxy-');
const usersFile = join(dir, 'users');
const PASSWORDS = { viewer: 'viewer-password-0123456789', ops: 'ops-password-0123456789abc' };
const seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
const codecSeen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
const CODEC_TOKEN = 'codec-token-0123456789abcdef';
let upstream: Server;
let codecServer: Server;
let proxy: Server;
let base: string;
let ca: Buffer;

before(async () => {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=test',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key'), '-out', join(dir, 'crt'),
  ], { stdio: 'ignore' }); // prettier-ignore
  ca = readFileSync(join(dir, 'crt'));
  writeUsers(usersFile, [await hashPassword('viewer', 'viewer', PASSWORDS.viewer), await hashPassword('ops', 'ops', PASSWORDS.ops)]);
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ upstream: `${req.method} ${req.url}` }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  codecServer = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      codecSeen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ payloads: [] }));
    });
  });
  await new Promise<void>((r) => codecServer.listen(0, '127.0.0.1', r));
  proxy = createUiProxy({
    codec: { upstream: new URL(`http://127.0.0.1:${(codecServer.address() as AddressInfo).port}`), token: CODEC_TOKEN },
    upstream: new URL(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`),
    users: new UserDirectory(usersFile),
    tls: { cert: ca, key: readFileSync(join(dir, 'key')) },
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

after(() => {
  proxy?.close();
  upstream?.close();
  codecServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = (method: string, path: string, headers: Record<string, string> = {}, body = '') =>
  httpsCall(base, ca, method, path, headers, body);

async function login(user: string, password: string, next = '/'): Promise<Answer> {
  const form = new URLSearchParams({ user, password, next }).toString();
  return call('POST', LOGIN_PATH, { 'content-type': 'application/x-www-form-urlencoded' }, form);
}

async function sessionOf(user: keyof typeof PASSWORDS): Promise<string> {
  const answer = await login(user, PASSWORDS[user]);
  assert.equal(answer.status, 303);
  const cookie = String(answer.headers['set-cookie']);
  return cookie.slice(0, cookie.indexOf(';'));
}

test('without a login, pages redirect to the login form and API calls get 401; nothing reaches the UI server', async () => {
  seen.length = 0;
  const page = await call('GET', '/namespaces/pivotrl/workflows?query=x', { accept: 'text/html' });
  assert.equal(page.status, 303);
  assert.equal(page.headers.location, `${LOGIN_PATH}?next=${encodeURIComponent('/namespaces/pivotrl/workflows?query=x')}`);
  assert.equal((await call('GET', '/api/v1/namespaces/pivotrl/workflows')).status, 401);
  assert.equal((await call('POST', '/api/v1/namespaces/pivotrl/workflows/w/terminate')).status, 401);
  const forged = `${SESSION_COOKIE}=${'A'.repeat(43)}`;
  assert.equal((await call('GET', '/api/v1/settings', { cookie: forged })).status, 401, 'a made-up session');
  assert.equal((await call('GET', '/api/v1/settings', { authorization: `Basic ${btoa(`ops:${PASSWORDS.ops}`)}` })).status, 401);
  assert.equal((await call('GET', LOGIN_PATH)).status, 200, 'the login form');
  assert.deepEqual(seen, []);
});

test('a wrong password or an unknown user is refused; a login sets a Secure, HttpOnly, SameSite=Strict session cookie', async () => {
  assert.equal((await login('viewer', 'wrong-password-0123456789')).status, 401);
  assert.equal((await login('nobody', PASSWORDS.viewer)).status, 401);
  const ok = await login('viewer', PASSWORDS.viewer, '/namespaces/pivotrl/workflows');
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.location, '/namespaces/pivotrl/workflows');
  const cookie = String(ok.headers['set-cookie']);
  assert.match(cookie, new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; `));
  for (const flag of ['Secure', 'HttpOnly', 'SameSite=Strict', 'Path=/']) assert.ok(cookie.includes(`; ${flag}`), `${flag} in ${cookie}`);
  assert.equal((await login('viewer', PASSWORDS.viewer, 'https://evil.example/')).headers.location, '/', 'no redirect off the site');
  assert.equal((await login('viewer', PASSWORDS.viewer, '//evil.example/')).headers.location, '/');
});

test('a viewer reads and queries; write calls are refused 403 before the UI server', async () => {
  const viewer = await sessionOf('viewer');
  seen.length = 0;
  const list = await call('GET', '/api/v1/namespaces/pivotrl/workflows?query=x', { cookie: `${viewer}; _csrf=abc` });
  assert.equal(list.status, 200);
  assert.deepEqual(JSON.parse(list.body), { upstream: 'GET /api/v1/namespaces/pivotrl/workflows?query=x' });
  const query = await call('POST', '/api/v1/namespaces/pivotrl/workflows/w1/query/__stack_trace', { cookie: viewer }, '{}');
  assert.equal(query.status, 200);
  for (const [method, path] of [
    ['POST', '/api/v1/namespaces/pivotrl/workflows/w1/terminate'],
    ['POST', '/api/v1/namespaces/pivotrl/workflows/w1/signal/pause'],
    ['POST', '/api/v1/namespaces/pivotrl/workflows/w1/cancel'],
    ['POST', '/api/v1/namespaces/pivotrl/workflows/w1/reset'],
    ['POST', '/api/v1/namespaces/pivotrl/workflows/w1/update/set'],
    ['DELETE', '/api/v1/namespaces/pivotrl/workflows/w1'],
    ['PUT', '/api/v1/namespaces/pivotrl'],
    ['POST', '/api/v1/namespaces/pivotrl/workflows/w1/query/x/../../terminate'],
    ['POST', '/api/v1/namespaces/pivotrl/workflows/w1/query/%2e%2e'],
  ]) {
    const refused = await call(method, path, { cookie: viewer }, '{}');
    assert.equal(refused.status, 403, `${method} ${path}`);
    assert.match(refused.body, /write actions need the ops role/);
  }
  assert.deepEqual(
    seen.map((s) => `${s.method} ${s.url}`),
    ['GET /api/v1/namespaces/pivotrl/workflows?query=x', 'POST /api/v1/namespaces/pivotrl/workflows/w1/query/__stack_trace'],
  );
  assert.equal(seen[0].headers.cookie, '_csrf=abc', 'the UI server gets its own cookies, never the session');
  seen.length = 0;
  assert.equal((await call('GET', '//example.invalid/x', { cookie: viewer })).status, 200);
  assert.equal(seen[0]?.url, '//example.invalid/x', 'a path that looks like a host still goes to the UI server');
  assert.equal(seen[0].headers['x-forwarded-proto'], 'https');
});

test('ops pass write calls through, body and CSRF header included; the Authorization header never does', async () => {
  const ops = await sessionOf('ops');
  seen.length = 0;
  const answer = await call(
    'POST',
    '/api/v1/namespaces/pivotrl/workflows/w1/terminate',
    { cookie: `_csrf=t1; ${ops}`, 'x-csrf-token': 't1', 'content-type': 'application/json', authorization: 'Bearer x' },
    '{"reason":"ops"}',
  );
  assert.equal(answer.status, 200);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].body, '{"reason":"ops"}');
  assert.equal(seen[0].headers['x-csrf-token'], 't1');
  assert.equal(seen[0].headers.cookie, '_csrf=t1');
  assert.equal(seen[0].headers.authorization, undefined, 'the UI server skips CSRF checks for requests with Authorization');
});

test('/codec/: any logged-in user decodes through the codec server with its token; nobody else, and nothing else', async () => {
  seen.length = 0;
  codecSeen.length = 0;
  const json = { 'content-type': 'application/json', 'x-namespace': 'pivotrl' };
  assert.equal((await call('POST', '/codec/decode', json, '{"payloads":[]}')).status, 401);
  const viewer = await sessionOf('viewer');
  const forged = { ...json, cookie: viewer, authorization: 'Bearer from-the-browser' };
  const decoded = await call('POST', '/codec/decode', forged, '{"payloads":[]}');
  assert.equal(decoded.status, 200, decoded.body);
  assert.equal((await call('POST', '/codec/encode?x=1', { ...json, cookie: viewer }, '{"payloads":[]}')).status, 200);
  assert.equal((await call('POST', '/codec/../api/v1/namespaces/pivotrl/workflows/w/terminate', { ...json, cookie: viewer })).status, 404);
  assert.equal((await call('GET', '/codec/settings', { cookie: viewer })).status, 404);
  assert.deepEqual(
    codecSeen.map((r) => `${r.method} ${r.url}`),
    ['POST /decode', 'POST /encode?x=1'],
  );
  assert.equal(codecSeen[0].headers.authorization, `Bearer ${CODEC_TOKEN}`, "the proxy's token, not the browser's");
  assert.equal(codecSeen[0].body, '{"payloads":[]}');
  assert.ok(!String(codecSeen[0].headers.cookie ?? '').includes(SESSION_COOKIE), 'the session cookie stays with the proxy');
  assert.equal(seen.length, 0, 'the UI server sees none of it');
});

test('a user removed from the users file is locked out at once; a logout ends the session', async () => {
  const ops = await sessionOf('ops');
  const viewer = await sessionOf('viewer');
  const before = readFileSync(usersFile, 'utf8');
  try {
    writeUsers(
      usersFile,
      parseUsers(before, usersFile).filter((u) => u.name !== 'ops'),
    );
    assert.equal((await call('GET', '/api/v1/settings', { cookie: ops })).status, 401);
    assert.equal((await call('GET', '/api/v1/settings', { cookie: viewer })).status, 200);
  } finally {
    writeFileSync(usersFile, before, { mode: 0o600 });
  }
  assert.equal((await call('GET', '/_pivotrl/logout', { cookie: viewer })).status, 303);
  assert.equal((await call('GET', '/api/v1/settings', { cookie: viewer })).status, 401);
  assert.equal(statSync(usersFile).mode & 0o777, 0o600);
});

test('the users file: hashes only, and a bad line is named by file and line', async () => {
  const text = readFileSync(usersFile, 'utf8');
  assert.ok(!text.includes(PASSWORDS.ops) && !text.includes(PASSWORDS.viewer));
  assert.throws(() => parseUsers(`${text}eve:admin:00:00\n`, 'users'), /^Error: users:3: role: /);
  assert.throws(() => parseUsers('Eve:ops:a:b\n', 'users'), /^Error: users:1: name: /);
  assert.throws(() => parseUsers(`${text}${text.split('\n')[0]}\n`, 'users'), /users:3: user viewer listed twice/);
});

test('roles: viewers get GET, HEAD and workflow queries only; ops everything', () => {
  assert.ok(mayPass('viewer', 'GET', '/api/v1/namespaces/a/workflows'));
  assert.ok(mayPass('viewer', 'HEAD', '/'));
  assert.ok(mayPass('viewer', 'POST', '/api/v1/namespaces/a/workflows/w/query/__temporal_workflow_metadata'));
  assert.ok(!mayPass('viewer', 'POST', '/api/v1/namespaces/a/workflows/w/query'));
  assert.ok(!mayPass('viewer', 'POST', '/api/v1/namespaces/a/workflows/w/query/q/extra'));
  assert.ok(!mayPass('viewer', 'POST', '/api/v1/namespaces/a/workflows/%2E/query/q'));
  assert.ok(!mayPass('viewer', 'PATCH', '/api/v1/namespaces/a'));
  assert.ok(mayPass('ops', 'DELETE', '/api/v1/namespaces/a/workflows/w'));
});
