// Codec server: decodes (and encodes) payloads for the Web UI and the temporal CLI of authorised users, with the keys of
// PIVOTRL_PAYLOAD_KEYS; every request needs `Authorization: Bearer $PIVOTRL_CODEC_TOKEN`. Run by deploy/prod (codec.sh).
import { z } from 'zod';
import { formatZodIssues } from '../core/zod-errors';
import { createCodecService } from './codec-service';
import { payloadCodecFromEnv } from './data-converter';

const CodecServerEnv = z.object({
  PIVOTRL_PAYLOAD_KEYS: z.string({ error: "required: ID:BASE64KEY[,ID:BASE64KEY...] (the workers' keys)" }).min(1),
  PIVOTRL_CODEC_TOKEN: z
    .string({ error: 'required: the bearer token clients must send (openssl rand -hex 32)' })
    .min(32, 'at least 32 characters (openssl rand -hex 32)'),
  PIVOTRL_CODEC_HOST: z.string().default('127.0.0.1'),
  PIVOTRL_CODEC_PORT: z.coerce.number().int().min(1).max(65535).default(8248),
  /** Comma-separated origins of the Web UI (as the browser shows them) allowed to call it. */
  PIVOTRL_CODEC_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url())),
});

const parsed = CodecServerEnv.safeParse(process.env);
if (!parsed.success) {
  console.error(formatZodIssues('environment', parsed.error));
  process.exit(2);
}
const env = parsed.data;
const codec = (() => {
  try {
    return payloadCodecFromEnv()!;
  } catch (err) {
    console.error(`environment: ${(err as Error).message}`);
    process.exit(2);
  }
})();
const log = (line: string) => console.log(`[codec-server] ${line}`);
const server = createCodecService({ codec, token: env.PIVOTRL_CODEC_TOKEN, allowOrigins: env.PIVOTRL_CODEC_CORS_ORIGINS, log });
server.listen(env.PIVOTRL_CODEC_PORT, env.PIVOTRL_CODEC_HOST, () => {
  log(
    `listening on http://${env.PIVOTRL_CODEC_HOST}:${env.PIVOTRL_CODEC_PORT} (CORS: ${env.PIVOTRL_CODEC_CORS_ORIGINS.join(', ') || 'none'})`,
  );
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close(() => process.exit(0)));
