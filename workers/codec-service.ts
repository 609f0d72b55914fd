// Temporal's codec-server protocol over node:http, for the Web UI and the temporal CLI: POST /encode and /decode with
// {"payloads": [{metadata: {name: base64}, data: base64}]}, only with `Authorization: Bearer <token>`; CORS for the UI's
// origins (the browser sends Content-Type, X-Namespace and, with the UI's passAccessToken, Authorization).
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { firstIssue } from '../core/zod-errors';

/** Larger bodies are refused (413): a history's payloads come a few at a time, each under Temporal's 2 MiB limit. */
export const MAX_BODY_BYTES = 16 << 20;

const JsonPayload = z.object({
  metadata: z.record(z.string(), z.base64()).nullish(),
  data: z.base64().nullish(),
});
const CodecRequest = z.object({ payloads: z.array(JsonPayload) });
type JsonPayload = z.infer<typeof JsonPayload>;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: p.data ? Buffer.from(p.data, 'base64') : undefined,
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: p.data ? Buffer.from(p.data).toString('base64') : undefined,
});

export interface CodecServiceOptions {
  codec: PayloadCodec;
  /** The bearer token every encode/decode request must carry. */
  token: string;
  /** Origins (e.g. the Web UI's https://host:port) whose browsers may call it. */
  allowOrigins: readonly string[];
  log?: (line: string) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function createCodecService(opts: CodecServiceOptions): Server {
  const expected = digest(`Bearer ${opts.token}`);
  const authorised = (req: IncomingMessage) => timingSafeEqual(digest(req.headers.authorization ?? ''), expected);

  const cors = (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    if (!origin || !opts.allowOrigins.includes(origin)) return false;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Namespace');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Vary', 'Origin');
    return true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const allowedOrigin = cors(req, res);
    const path = new URL(req.url ?? '/', 'http://codec').pathname;
    const op = path === '/encode' ? 'encode' : path === '/decode' ? 'decode' : undefined;
    if (!op) throw new HttpError(404, `no ${path} here: POST /encode or /decode`);
    if (req.method === 'OPTIONS') {
      // A preflight carries no credentials; what it allows is still checked on the request itself.
      res.writeHead(allowedOrigin ? 204 : 403).end();
      return;
    }
    if (req.method !== 'POST') throw new HttpError(405, `${req.method} ${path}: only POST`);
    if (!authorised(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new HttpError(401, 'missing or wrong Authorization: Bearer token');
    }
    const parsed = CodecRequest.safeParse(await jsonBody(req));
    if (!parsed.success) throw new HttpError(400, `request body: ${firstIssue(parsed.error)}`);
    let payloads: Payload[];
    try {
      payloads = await opts.codec[op](parsed.data.payloads.map(fromJson));
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
    opts.log?.(`${op} ${payloads.length} payload(s) for namespace ${req.headers['x-namespace'] ?? '(none)'}`);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ payloads: payloads.map(toJson) }));
  };

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof HttpError ? err.message : 'internal error';
      if (status === 500) opts.log?.(`error: ${(err as Error).stack}`);
      if (!res.headersSent) res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: message }));
      req.resume(); // drain what is left of a refused body
    });
  });
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body: not JSON');
  }
}
