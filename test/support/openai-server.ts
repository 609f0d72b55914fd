// An OpenAI-compatible chat-completions server that serves OUR model (a checkpoint folder such as models/pi0)
// through the policy engine: the endpoint the served-model sampler (policy/openai.ts) is tested against.
//
//   npx tsx test/support/openai-server.ts --port 8000 --model models/pi0 [--name pi0] [--api-key-env PIVOTRL_API_KEY]
//
// POST /v1/chat/completions takes one user message (a rendered state: the sampler's promptFormat 'text') or a
// conversation with tools (promptFormat 'chat': chat-template.ts renders it to the same prompt, generation ends at the
// action's stop, and the action comes back as `tool_calls` or content, as from a server with a tool-call parser),
// n, temperature, top_p, max_tokens, stop, seed and logprobs, and answers in the OpenAI shape. `seed` is the prompt's seed of the
// local engine (SampleOptions.promptSeeds), so the same seed gives the samples the local engine gives.
// logprobs.content has one entry per generated token, the stop's included (as vLLM reports the token that hit it).
// GET /v1/models lists the model. With an API key, requests need `Authorization: Bearer <key>`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { rmSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ChatMessage, ToolDefinition } from '../../core/schemas';
import { ACTION_STOP } from '../../tasks/actions';
import { promptOfConversation, replyOfAction } from './chat-template';
import { LocalStore } from '../../store';
import { importCheckpointDir } from '../../policy/checkpoint';
import { openPolicyEngine } from '../../policy/engine';
import { generatedText } from '../../policy/schemas';
import { charTokenizer } from '../../policy/tokenizer';
import { tempDir } from '../../harness/temp-dir';

const ChatRequest = z.object({
  model: z.string(),
  messages: z.array(ChatMessage).min(1),
  tools: z.array(ToolDefinition).optional(),
  tool_choice: z.enum(['auto', 'none']).optional(),
  parallel_tool_calls: z.boolean().optional(),
  n: z.number().int().positive().max(128).default(1),
  temperature: z.number().min(0).max(2).default(1),
  top_p: z.number().gt(0).max(1).default(1),
  max_tokens: z.number().int().positive().default(48),
  stop: z
    .union([z.string(), z.array(z.string().min(1)).max(4)])
    .nullable()
    .optional(),
  seed: z.number().int().default(0),
  logprobs: z.boolean().default(false),
});

export interface OpenAIServerOptions {
  /** A checkpoint folder (model.json + weights.bin). */
  modelDir: string;
  /** The model id clients name (default: the folder's name). */
  name?: string;
  /** 0 or absent: a free port. */
  port?: number;
  apiKey?: string;
  onLog?: (msg: string) => void;
}

export interface OpenAIServer {
  /** The base URL clients configure, e.g. http://127.0.0.1:8000/v1 */
  baseUrl: string;
  model: string;
  /** Chat-completion requests received (failed ones included). */
  requests(): number;
  /** The next `count` chat-completion requests fail with `status` (fault injection for retry tests). */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

const CHECKPOINT = 'served';

export async function startOpenAIServer(opts: OpenAIServerOptions): Promise<OpenAIServer> {
  const model = opts.name ?? basename(resolve(opts.modelDir));
  const log = opts.onLog ?? (() => {});
  const dir = tempDir('pivotrl-openai-server-');
  await importCheckpointDir(opts.modelDir, new LocalStore(dir), CHECKPOINT);
  // A worker thread: sampling must not block this server's event loop (nor a test's workers sharing it).
  const engine = openPolicyEngine({ store: { kind: 'local', root: dir }, onLog: log });
  const tok = charTokenizer();
  let received = 0;
  let failures: { count: number; status: number } = { count: 0, status: 500 };

  const completions = async (body: unknown, res: ServerResponse) => {
    const parsed = ChatRequest.safeParse(body);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      return sendError(res, 400, `${i.path.join('.') || '(body)'}: ${i.message}`, 'invalid_request_error');
    }
    const r = parsed.data;
    if (r.model !== model)
      return sendError(res, 404, `The model '${r.model}' does not exist (this server serves '${model}')`, 'model_not_found');
    const single = r.messages.length === 1 && r.messages[0].role === 'user' ? r.messages[0].content : null;
    const conversation = single === null ? promptOfConversation(r.messages) : null;
    if (conversation && 'error' in conversation) return sendError(res, 400, conversation.error, 'invalid_request_error');
    const prompt = conversation?.prompt ?? single ?? '';
    // A conversation's turn ends where the model's action does; a single message ends at the request's stops.
    const stop = conversation ? [ACTION_STOP] : r.stop == null ? [] : typeof r.stop === 'string' ? [r.stop] : r.stop;
    const [group] = await engine.sample(CHECKPOINT, [prompt], {
      n: r.n,
      temperature: r.temperature,
      topP: r.top_p,
      maxTokens: r.max_tokens,
      stop,
      seed: r.seed,
      promptSeeds: [r.seed],
    });
    let completionTokens = 0;
    const choices = group.map((c, index) => {
      const ids = tok.encode(generatedText(c));
      completionTokens += ids.length;
      const message = conversation ? replyOfAction(c.text, conversation.domain) : { role: 'assistant', content: c.text };
      return {
        index,
        message,
        finish_reason: c.stop === null ? 'length' : 'tool_calls' in message ? 'tool_calls' : 'stop',
        logprobs: r.logprobs
          ? { content: ids.map((id, j) => ({ token: tok.decode([id]), logprob: c.logprobs[j], bytes: null, top_logprobs: [] })) }
          : null,
      };
    });
    const promptTokens = tok.encode(prompt).length + 1;
    sendJson(res, 200, {
      id: `chatcmpl-${received}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices,
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/v1/chat/completions') received++;
    if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      return sendError(res, 401, 'Incorrect API key provided', 'invalid_api_key');
    }
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: [{ id: model, object: 'model', created: 0, owned_by: 'pivotrl' }] });
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      const raw = await readBody(req);
      if (failures.count > 0) {
        failures = { ...failures, count: failures.count - 1 };
        return sendError(res, failures.status, `injected failure (${failures.count} more to come)`, 'server_error');
      }
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return sendError(res, 400, 'the body is not JSON', 'invalid_request_error');
      }
      return completions(body, res);
    }
    sendError(res, 404, `no route ${req.method} ${path}`, 'not_found');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      log(`error: ${err.stack ?? err.message}`);
      if (!res.headersSent) sendError(res, 500, err.message, 'server_error');
      else res.end();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    model,
    requests: () => received,
    failNext: (count, status) => void (failures = { count, status }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, message: string, code: string): void {
  sendJson(res, status, { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code } });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8000' },
      model: { type: 'string', default: 'models/pi0' },
      name: { type: 'string' },
      'api-key-env': { type: 'string' },
    },
  });
  const keyEnv = values['api-key-env'];
  const apiKey = keyEnv ? process.env[keyEnv] : undefined;
  if (keyEnv && !apiKey) throw new Error(`--api-key-env ${keyEnv}: the variable is not set`);
  const server = await startOpenAIServer({
    modelDir: values.model,
    name: values.name,
    port: Number(values.port),
    apiKey,
    onLog: (m) => console.log(`[policy] ${m}`),
  });
  console.log(
    `serving '${server.model}' at ${server.baseUrl} (POST /chat/completions, GET /models)${apiKey ? ', bearer key required' : ''}`,
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
