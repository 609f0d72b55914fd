// Renders the production stack's config files from their templates in deploy/prod/config/ (valid YAML holding the stack's
// defaults) with the settings deploy/prod/*.sh pass in the environment:
//   npx tsx deploy/prod/render-config.ts temporal OUT_DIR   -> production.yaml (mode 600: it holds the database password)
//                                                              and dynamicconfig.yaml
//   npx tsx deploy/prod/render-config.ts ui OUT_DIR         -> production.yaml
// Certificate file names in the templates are resolved against PROD_TLS_DIR (deploy/prod/tls.sh), which must hold them.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, visit, type Document } from 'yaml';
import { z } from 'zod';
import { firstIssue } from '../../core/zod-errors';

const TEMPLATES = join(import.meta.dirname, 'config');
const Port = z.coerce.number().int().min(1).max(65535);
const Ipv4 = z.ipv4();
const TemporalSettings = z.object({
  PROD_PG_ADDRESS: z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port'),
  PROD_PG_PASSWORD: z.string().min(1),
  PROD_TEMPORAL_PORT: Port,
  PROD_TEMPORAL_PORT_BASE: Port,
  PROD_TLS_DIR: z.string().refine(isAbsolute, 'an absolute path'),
  // The frontend listens there; the other services, and what they tell each other, on the client host (the same
  // address, or loopback when it is 0.0.0.0).
  PROD_BIND_ADDRESS: Ipv4,
  PROD_CLIENT_HOST: Ipv4,
});
const UiSettings = z.object({
  PROD_TEMPORAL_ADDRESS: z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port'),
  PROD_UI_BACKEND_PORT: Port,
  PROD_NAMESPACE: z.string().min(1),
  /** The codec server as the UI's browsers reach it (none: the UI shows encrypted payloads as they are stored). */
  PROD_CODEC_ENDPOINT: z.url().optional(),
  PROD_TLS_DIR: TemporalSettings.shape.PROD_TLS_DIR,
});

/** Keys whose values name certificate files, in the server's config (`global.tls`) and the UI server's (`tls`). */
const CERT_KEYS = new Set(['certFile', 'keyFile', 'clientCaFiles', 'rootCaFiles', 'caFile']);

/** Resolves every certificate file name under `node` against `dir`; a file that is not there is an error naming it. */
function resolveCertFiles(doc: Document, path: string[], dir: string): void {
  const node = doc.getIn(path, true);
  if (!isMap(node)) throw new Error(`render-config: the template has no ${path.join('.')} block`);
  visit(node, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || !CERT_KEYS.has(String(pair.key.value))) return;
      const names = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const name of names) {
        if (!isScalar(name)) continue;
        const file = join(dir, String(name.value));
        if (!existsSync(file)) throw new Error(`render-config: ${file} (${String(pair.key.value)}) is missing: run deploy/prod/tls.sh`);
        name.value = file;
      }
    },
  });
}

function settings<T extends z.ZodType>(schema: T): z.infer<T> {
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) throw new Error(`render-config: environment variable ${firstIssue(parsed.error)}`);
  return parsed.data;
}

function template(name: string): Document {
  const path = join(TEMPLATES, name);
  const doc = parseDocument(readFileSync(path, 'utf8'));
  if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0].message}`);
  return doc;
}

function renderTemporal(out: string): void {
  const s = settings(TemporalSettings);
  const doc = template('temporal.yaml');
  for (const store of ['postgres-default', 'postgres-visibility']) {
    doc.setIn(['persistence', 'datastores', store, 'sql', 'connectAddr'], s.PROD_PG_ADDRESS);
    doc.setIn(['persistence', 'datastores', store, 'sql', 'password'], s.PROD_PG_PASSWORD);
  }
  // frontend membership, then history, matching, worker (gRPC, membership) from the base port up
  doc.setIn(['services', 'frontend', 'rpc', 'grpcPort'], s.PROD_TEMPORAL_PORT);
  doc.setIn(['services', 'frontend', 'rpc', 'membershipPort'], s.PROD_TEMPORAL_PORT_BASE);
  doc.setIn(['services', 'frontend', 'rpc', 'bindOnIP'], s.PROD_BIND_ADDRESS);
  ['history', 'matching', 'worker'].forEach((service, i) => {
    doc.setIn(['services', service, 'rpc', 'grpcPort'], s.PROD_TEMPORAL_PORT_BASE + 1 + 2 * i);
    doc.setIn(['services', service, 'rpc', 'membershipPort'], s.PROD_TEMPORAL_PORT_BASE + 2 + 2 * i);
    if (s.PROD_CLIENT_HOST !== '127.0.0.1') {
      doc.deleteIn(['services', service, 'rpc', 'bindOnLocalHost']);
      doc.setIn(['services', service, 'rpc', 'bindOnIP'], s.PROD_CLIENT_HOST);
    }
  });
  doc.setIn(['global', 'membership', 'broadcastAddress'], s.PROD_CLIENT_HOST);
  doc.setIn(['clusterMetadata', 'clusterInformation', 'active', 'rpcAddress'], `${s.PROD_CLIENT_HOST}:${s.PROD_TEMPORAL_PORT}`);
  doc.setIn(['dynamicConfigClient', 'filepath'], join(out, 'dynamicconfig.yaml'));
  resolveCertFiles(doc, ['global', 'tls'], s.PROD_TLS_DIR);
  copyFileSync(join(TEMPLATES, 'dynamicconfig.yaml'), join(out, 'dynamicconfig.yaml'));
  writeFileSync(join(out, 'production.yaml'), doc.toString(), { mode: 0o600 });
  chmodSync(join(out, 'production.yaml'), 0o600);
}

function renderUi(out: string): void {
  const s = settings(UiSettings);
  const doc = template('ui.yaml');
  doc.set('temporalGrpcAddress', s.PROD_TEMPORAL_ADDRESS);
  doc.set('port', s.PROD_UI_BACKEND_PORT);
  doc.set('defaultNamespace', s.PROD_NAMESPACE);
  if (s.PROD_CODEC_ENDPOINT) doc.setIn(['codec', 'endpoint'], s.PROD_CODEC_ENDPOINT);
  resolveCertFiles(doc, ['tls'], s.PROD_TLS_DIR);
  writeFileSync(join(out, 'production.yaml'), doc.toString());
}

const [which, out] = process.argv.slice(2);
const renderers: Record<string, (out: string) => void> = { temporal: renderTemporal, ui: renderUi };
if (!renderers[which] || !out) throw new Error('usage: render-config.ts temporal|ui OUT_DIR');
mkdirSync(out, { recursive: true });
renderers[which](out);
