// The UI login proxy as a process (deploy/prod/ui-proxy.sh starts it): its settings from the environment, no secret on
// its command line (the users file holds scrypt hashes; the TLS key is a file).
import { readFileSync } from 'node:fs';
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
});

const parsed = Settings.safeParse(process.env);
if (!parsed.success) throw new Error(`ui-proxy: environment variable ${firstIssue(parsed.error)}`);
const s = parsed.data;
const server = createUiProxy({
  upstream: new URL(s.PIVOTRL_UI_PROXY_UPSTREAM),
  users: new UserDirectory(s.PIVOTRL_UI_PROXY_USERS),
  tls: { cert: readFileSync(s.PIVOTRL_UI_PROXY_CERT), key: readFileSync(s.PIVOTRL_UI_PROXY_KEY) },
});
server.listen(s.PIVOTRL_UI_PROXY_PORT, s.PIVOTRL_UI_PROXY_HOST, () => {
  console.error(`ui-proxy: https://${s.PIVOTRL_UI_PROXY_HOST}:${s.PIVOTRL_UI_PROXY_PORT} -> ${s.PIVOTRL_UI_PROXY_UPSTREAM}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
