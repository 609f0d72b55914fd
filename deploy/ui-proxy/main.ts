// The UI login proxy as a process (deploy/prod/ui-proxy.sh starts it): its settings from the environment, no secret on
// its command line (the users file holds scrypt hashes; the TLS key is a file).
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { firstIssue } from '../../core/zod-errors';
import { createUiProxy } from './proxy';
import { UserDirectory } from './users';

const Settings = z.object({
  PIVOTRL_UI_PROXY_HOST: z.ipv4(),
  PIVOTRL_UI_PROXY_PORT: z.coerce.number().int().min(1).max(65535),
  PIVOTRL_UI_PROXY_UPSTREAM: z.url(),
  PIVOTRL_UI_PROXY_CERT: z.string().min(1),
  PIVOTRL_UI_PROXY_KEY: z.string().min(1),
  PIVOTRL_UI_PROXY_USERS: z.string().min(1),
  /** The codec server (http://127.0.0.1:8248) behind /codec/, and the token it wants (from codec.env, not a flag). */
  PIVOTRL_UI_PROXY_CODEC_UPSTREAM: z.url().optional(),
  PIVOTRL_CODEC_TOKEN: z.string().min(16).optional(),
});

const parsed = Settings.safeParse(process.env);
if (!parsed.success) throw new Error(`ui-proxy: environment variable ${firstIssue(parsed.error)}`);
const s = parsed.data;
if ((s.PIVOTRL_UI_PROXY_CODEC_UPSTREAM === undefined) !== (s.PIVOTRL_CODEC_TOKEN === undefined)) {
  throw new Error('ui-proxy: PIVOTRL_UI_PROXY_CODEC_UPSTREAM and PIVOTRL_CODEC_TOKEN go together (the /codec/ route)');
}
const server = createUiProxy({
  upstream: new URL(s.PIVOTRL_UI_PROXY_UPSTREAM),
  users: new UserDirectory(s.PIVOTRL_UI_PROXY_USERS),
  tls: { cert: readFileSync(s.PIVOTRL_UI_PROXY_CERT), key: readFileSync(s.PIVOTRL_UI_PROXY_KEY) },
  codec:
    s.PIVOTRL_UI_PROXY_CODEC_UPSTREAM === undefined || s.PIVOTRL_CODEC_TOKEN === undefined
      ? undefined
      : { upstream: new URL(s.PIVOTRL_UI_PROXY_CODEC_UPSTREAM), token: s.PIVOTRL_CODEC_TOKEN },
});
server.listen(s.PIVOTRL_UI_PROXY_PORT, s.PIVOTRL_UI_PROXY_HOST, () => {
  console.error(`ui-proxy: https://${s.PIVOTRL_UI_PROXY_HOST}:${s.PIVOTRL_UI_PROXY_PORT} -> ${s.PIVOTRL_UI_PROXY_UPSTREAM}`);
});
// tls.sh re-issues the certificate before it expires: take the new pair within a minute, as the Temporal server does.
const stamp = () => `${statSync(s.PIVOTRL_UI_PROXY_CERT).mtimeMs}/${statSync(s.PIVOTRL_UI_PROXY_KEY).mtimeMs}`;
let seen = stamp();
setInterval(() => {
  try {
    const now = stamp();
    if (now === seen) return;
    server.setSecureContext({
      cert: readFileSync(s.PIVOTRL_UI_PROXY_CERT),
      key: readFileSync(s.PIVOTRL_UI_PROXY_KEY),
      minVersion: 'TLSv1.2',
    });
    seen = now;
    console.error('ui-proxy: took the re-issued TLS certificate');
  } catch (err) {
    console.error(`ui-proxy: keeping the current TLS certificate: ${(err as Error).message}`);
  }
}, 60_000).unref();
process.on('SIGTERM', () => server.close(() => process.exit(0)));
