// Static checks of the cluster deployments that cannot run here: the compose file, the Kubernetes manifests and the
// values for Temporal's Helm chart parse, name every service, route GPU workers only to GPU nodes, point each worker
// at its task queue, probe liveness where the workers answer it, and agree with each other and with the code
// (versions, ports, namespace, search attributes, mTLS certificates), export the workers' metrics where Prometheus finds
// them, and the Grafana dashboard shows every campaign metric the code emits and no metric the code does not. Also the
// workers' liveness endpoint itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import type { State } from '@temporalio/worker';
import { CampaignConfig } from '../../core/config';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { HEALTH_PATH, serveHealth } from '../../workers/health';

const REPO = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(resolve(REPO, path), 'utf8');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

const compose: Doc = parse(read('deploy/compose/compose.yaml'));
const k8s: Doc[] = parseAllDocuments(read('deploy/k8s/workers.yaml')).map((d) => {
  assert.equal(d.errors.length, 0, `deploy/k8s/workers.yaml: ${d.errors.join('; ')}`);
  return d.toJS();
});
const codecK8s: Doc[] = parseAllDocuments(read('deploy/k8s/codec-server.yaml')).map((d) => {
  assert.equal(d.errors.length, 0, `deploy/k8s/codec-server.yaml: ${d.errors.join('; ')}`);
  return d.toJS();
});
const helm: Doc = parse(read('deploy/k8s/temporal-values.yaml'));
const kustomization: Doc = parse(read('deploy/k8s/kustomization.yaml'));
const dockerfile = read('deploy/worker.Dockerfile');
const dashboard: Doc = JSON.parse(read('deploy/grafana/pivotrl.json'));

// The queues a campaign uses unless its config names others.
const { cpuQueue, gpuQueue } = CampaignConfig.shape.temporal.parse(undefined);
const services = compose.services as Record<string, Doc>;
const deployments = k8s.filter((d) => d.kind === 'Deployment');
const containerOf = (d: Doc) => d.spec.template.spec.containers[0];
const k8sEnv = (d: Doc): Record<string, string> => {
  const c = containerOf(d);
  const out: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    // Secrets are created by the operator (kubectl create secret), never committed.
    if (from.secretRef) continue;
    const doc = k8s.find((x) => x.kind === 'ConfigMap' && x.metadata.name === from.configMapRef.name);
    assert.ok(doc, `${d.metadata.name}: envFrom names ${from.configMapRef.name}, which is defined`);
    Object.assign(out, doc.data);
  }
  for (const e of c.env ?? []) out[e.name] = e.value ?? `<${JSON.stringify(e.valueFrom)}>`;
  return out;
};
const imageTag = (image: string) => image.slice(image.lastIndexOf(':') + 1);

/** `--name X --type T` pairs of a `temporal operator search-attribute create` command. */
function searchAttributesIn(script: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of script.replace(/\\\n/g, ' ').matchAll(/--name (\S+) --type (\S+)/g)) out[m[1]] = m[2];
  return out;
}
const expectedAttributes = Object.fromEntries(
  ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, { KEYWORD: 'Keyword', INT: 'Int', DOUBLE: 'Double' }[k.type as string]]),
);

test('compose: every service is named, with its image or build', () => {
  for (const name of [
    'postgresql',
    'temporal-schema',
    'temporal',
    'temporal-namespace',
    'temporal-ui',
    's3',
    's3-bucket',
    'cpu-worker',
    'gpu-worker',
  ]) {
    assert.ok(services[name], `compose.yaml: service ${name}`);
    assert.ok(services[name].image, `compose.yaml: ${name}: an image`);
  }
  assert.match(services.s3.image, /^versity\/versitygw:/);
  assert.match(services.postgresql.image, /^postgres:/);
  for (const [name, s] of Object.entries(services)) {
    for (const dep of Object.keys(s.depends_on ?? {}).concat(Array.isArray(s.depends_on) ? s.depends_on : [])) {
      if (!/^\d+$/.test(dep)) assert.ok(services[dep], `compose.yaml: ${name} depends on ${dep}, which exists`);
    }
  }
});

test('compose: GPU devices are reserved for the GPU workers only; each worker polls its own queue', () => {
  const devices = services['gpu-worker'].deploy?.resources?.reservations?.devices ?? [];
  assert.ok(
    devices.some((d: Doc) => d.driver === 'nvidia' && d.capabilities?.includes('gpu')),
    'gpu-worker reserves an NVIDIA GPU',
  );
  assert.equal(services['cpu-worker'].deploy?.resources?.reservations?.devices, undefined, 'cpu-worker reserves no GPU');
  const cpu = services['cpu-worker'].environment;
  const gpu = services['gpu-worker'].environment;
  assert.equal(cpu.PIVOTRL_CPU_QUEUE, cpuQueue);
  assert.equal(cpu.PIVOTRL_GPU_QUEUE, undefined);
  assert.equal(gpu.PIVOTRL_GPU_QUEUE, gpuQueue);
  assert.equal(gpu.PIVOTRL_CPU_QUEUE, undefined);
  assert.ok(services['cpu-worker'].deploy.replicas >= 2, 'several CPU workers');
  // The engine's socket only in the socket proxy; the CPU worker reaches the engine through the proxy's socket.
  const engineSocket = '/var/run/docker.sock:/var/run/docker.sock';
  assert.ok(!services['cpu-worker'].volumes.includes(engineSocket), "the CPU worker never mounts the engine's socket");
  assert.equal(services['cpu-worker'].environment.DOCKER_HOST, 'unix:///run/pivotrl/docker.sock');
  assert.ok(services['cpu-worker'].volumes.includes('docker-proxy:/run/pivotrl'), "the CPU worker mounts the proxy's socket");
  assert.deepEqual(services['docker-proxy'].volumes, [engineSocket, 'docker-proxy:/run/pivotrl']);
  assert.equal(services['docker-proxy'].build.target, 'docker-proxy');
  assert.match(dockerfile, /^FROM scratch AS docker-proxy$/m, 'the proxy image is the static binary alone');
  for (const [name, svc] of Object.entries<Doc>(services)) {
    if (name !== 'docker-proxy') assert.ok(!(svc.volumes ?? []).includes(engineSocket), `${name} does not mount the engine's socket`);
  }
  assert.equal(services['cpu-worker'].build.target, 'cpu');
  assert.equal(services['gpu-worker'].build.target, 'gpu');
  assert.equal(resolve(REPO, 'deploy/compose', services['cpu-worker'].build.context), REPO, 'built from the repository root');
  for (const stage of ['cpu', 'gpu']) {
    assert.match(
      dockerfile,
      new RegExp(`^FROM \\S+ AS ${stage}$[\\s\\S]*?^CMD \\["npx", "tsx", "workers/${stage}\\.ts"\\]$`, 'm'),
      `Dockerfile stage ${stage}`,
    );
  }
});

test('compose: workers, UI and namespace job reach the server, S3 and the health endpoint on the ports they listen on', () => {
  const temporalPort = services.temporal.ports.map((p: string) => p.split(':').at(-1));
  for (const name of ['cpu-worker', 'gpu-worker', 'temporal-ui', 'temporal-namespace']) {
    const [host, port] = services[name].environment.TEMPORAL_ADDRESS.split(':');
    assert.equal(host, 'temporal', `${name} talks to the temporal service`);
    assert.ok(temporalPort.includes(port), `${name}: port ${port} is the server's`);
  }
  for (const name of ['cpu-worker', 'gpu-worker']) {
    const env = services[name].environment;
    assert.equal(env.TEMPORAL_NAMESPACE, 'pivotrl');
    assert.match(env.AWS_ACCESS_KEY_ID, /^\$\{PIVOTRL_S3_WORKER_ACCESS_KEY:\?/, `${name}: the workers' key, not the root's`);
    assert.match(env.AWS_SECRET_ACCESS_KEY, /^\$\{PIVOTRL_S3_WORKER_SECRET_KEY:\?/, `${name}: the workers' secret`);
    assert.equal(services['s3-bucket'].environment.WORKER_ACCESS_KEY, env.AWS_ACCESS_KEY_ID, `${name}: the user s3-bucket makes`);
    const probe = services[name].healthcheck.test.join(' ');
    assert.ok(probe.includes(`127.0.0.1:${env.PIVOTRL_HEALTH_PORT}${HEALTH_PATH}`), `${name}: health check on PIVOTRL_HEALTH_PORT`);
  }
  const s3Port = services.s3.environment.VGW_PORT.replace(/^.*:/, '');
  assert.ok(services.s3.ports.includes(`\${PIVOTRL_BIND_ADDRESS:-127.0.0.1}:${s3Port}:${s3Port}`));
  assert.ok(services['s3-bucket'].command[0].includes(`http://s3:${s3Port}`));
  assert.equal(services.temporal.environment.DB, 'postgres12');
  assert.equal(imageTag(services.temporal.image), imageTag(services['temporal-schema'].image), 'schema tools of the server version');
  assert.deepEqual(searchAttributesIn(services['temporal-namespace'].command[0]), expectedAttributes);
  assert.match(services['temporal-namespace'].command[0], /--namespace pivotrl --retention 7d/);
});

test('kubernetes: one worker Deployment per task queue; GPU workers only on GPU nodes, with GPU requests', () => {
  const byQueue = (key: string) => deployments.filter((d) => k8sEnv(d)[key] !== undefined);
  assert.deepEqual(
    byQueue('PIVOTRL_CPU_QUEUE').map((d) => d.metadata.name),
    ['pivotrl-cpu-worker'],
  );
  assert.deepEqual(
    byQueue('PIVOTRL_GPU_QUEUE').map((d) => d.metadata.name),
    ['pivotrl-gpu-worker'],
  );
  assert.equal(deployments.length, 2);
  const cpu = deployments.find((d) => d.metadata.name === 'pivotrl-cpu-worker');
  const gpu = deployments.find((d) => d.metadata.name === 'pivotrl-gpu-worker');
  assert.equal(k8sEnv(cpu).PIVOTRL_CPU_QUEUE, cpuQueue);
  assert.equal(k8sEnv(gpu).PIVOTRL_GPU_QUEUE, gpuQueue);

  const gpuSpec = gpu.spec.template.spec;
  assert.equal(gpuSpec.nodeSelector['nvidia.com/gpu.present'], 'true', 'GPU workers select GPU nodes');
  assert.ok(
    gpuSpec.tolerations.some((t: Doc) => t.key === 'nvidia.com/gpu'),
    'and tolerate their taint',
  );
  const res = containerOf(gpu).resources;
  assert.ok(res.requests['nvidia.com/gpu'] >= 1 && res.limits['nvidia.com/gpu'] >= 1, 'GPU requested and limited');
  assert.equal(Number(k8sEnv(gpu).PIVOTRL_GPUS), res.limits['nvidia.com/gpu'], 'the worker runs as many GPU activities as it has GPUs');

  const cpuSpec = cpu.spec.template.spec;
  const gpuWord = /gpu|nvidia/i;
  assert.ok(!Object.keys(cpuSpec.nodeSelector ?? {}).some((k) => gpuWord.test(k)), 'CPU workers do not select GPU nodes');
  assert.ok(!(cpuSpec.tolerations ?? []).some((t: Doc) => gpuWord.test(t.key)), 'nor tolerate the GPU taint');
  const cpuRes = containerOf(cpu).resources;
  assert.ok(![...Object.keys(cpuRes.requests ?? {}), ...Object.keys(cpuRes.limits ?? {})].some((k) => gpuWord.test(k)), 'nor request GPUs');
  // The node engine's socket is mounted by the docker-proxy sidecar only; the worker gets the proxy's socket.
  const mountsOf = (c: Doc): string[] => (c.volumeMounts ?? []).map((m: Doc) => m.name);
  const [worker, proxy] = cpuSpec.containers;
  assert.ok(cpuSpec.volumes.some((v: Doc) => v.name === 'docker-socket' && v.hostPath?.path === '/var/run/docker.sock'));
  assert.equal(proxy.name, 'docker-proxy');
  assert.deepEqual(mountsOf(proxy).sort(), ['docker-proxy', 'docker-socket']);
  assert.ok(!mountsOf(worker).includes('docker-socket'), "the worker container never mounts the engine's socket");
  assert.ok(mountsOf(worker).includes('docker-proxy'));
  assert.equal(k8sEnv(cpu).DOCKER_HOST, 'unix:///run/pivotrl/docker.sock');
});

test('kubernetes: liveness from the health endpoint, object store config from the Secret, images as in compose', () => {
  for (const d of deployments) {
    const c = containerOf(d);
    const env = k8sEnv(d);
    const probe = c.livenessProbe?.httpGet;
    assert.ok(probe, `${d.metadata.name}: a liveness probe`);
    assert.equal(probe.path, HEALTH_PATH);
    const port = typeof probe.port === 'number' ? probe.port : c.ports.find((p: Doc) => p.name === probe.port)?.containerPort;
    assert.equal(String(port), env.PIVOTRL_HEALTH_PORT, `${d.metadata.name}: probes the port the worker serves`);
    assert.ok(
      c.envFrom.some((f: Doc) => f.secretRef?.name === 'pivotrl-object-store'),
      `${d.metadata.name}: credentials from the Secret`,
    );
    assert.equal(env.AWS_REGION, 'us-east-1');
    assert.equal(env.TEMPORAL_NAMESPACE, 'pivotrl');
    // The Helm release `temporal` names its frontend service temporal-frontend.
    assert.equal(env.TEMPORAL_ADDRESS, 'temporal-frontend:7233');
    const kind = d.metadata.name.includes('gpu') ? 'gpu' : 'cpu';
    assert.equal(c.image, services[`${kind}-worker`].image, `${d.metadata.name}: the image compose builds`);
    assert.deepEqual(c.command, ['npx', 'tsx', `workers/${kind}.ts`]);
    assert.deepEqual(d.spec.selector.matchLabels, d.spec.template.metadata.labels, `${d.metadata.name}: selector matches its pods`);
  }
  const job = k8s.find((d) => d.kind === 'Job' && d.metadata.name === 'pivotrl-search-attributes');
  assert.deepEqual(searchAttributesIn(job.spec.template.spec.containers[0].args[0]), expectedAttributes);
  assert.deepEqual(kustomization.resources, ['workers.yaml', 'codec-server.yaml']);
});

test('payload codec: workers and the codec server share the keys from a secret, never a committed value; the UI points at it', () => {
  const required = /^\$\{PIVOTRL_PAYLOAD_KEYS:\?[^}]+\}$/;
  for (const name of ['cpu-worker', 'gpu-worker', 'codec-server']) {
    assert.match(services[name].environment.PIVOTRL_PAYLOAD_KEYS, required, `compose ${name}: the keys, refused when unset`);
  }
  const codec = services['codec-server'];
  assert.match(codec.environment.PIVOTRL_CODEC_TOKEN, /^\$\{PIVOTRL_CODEC_TOKEN:\?[^}]+\}$/);
  assert.deepEqual(codec.command, ['npx', 'tsx', 'workers/codec-server.ts']);
  assert.deepEqual(
    codec.ports,
    [`127.0.0.1:${codec.environment.PIVOTRL_CODEC_PORT}:${codec.environment.PIVOTRL_CODEC_PORT}`],
    'loopback only',
  );
  assert.equal(services['temporal-ui'].environment.TEMPORAL_CODEC_ENDPOINT, `http://127.0.0.1:${codec.environment.PIVOTRL_CODEC_PORT}`);
  const uiPort = services['temporal-ui'].ports[0].split(':').at(-2); // [address:]host-port:container-port
  assert.equal(codec.environment.PIVOTRL_CODEC_CORS_ORIGINS, `http://127.0.0.1:${uiPort}`, 'CORS for the UI as browsers reach it');

  for (const d of deployments) {
    const keys = containerOf(d).env.find((e: Doc) => e.name === 'PIVOTRL_PAYLOAD_KEYS');
    assert.deepEqual(keys?.valueFrom, { secretKeyRef: { name: 'pivotrl-payload-codec', key: 'PIVOTRL_PAYLOAD_KEYS' } }, d.metadata.name);
  }
  const server = codecK8s.find((d) => d.kind === 'Deployment');
  assert.deepEqual(containerOf(server).envFrom, [{ secretRef: { name: 'pivotrl-payload-codec' } }]);
  assert.deepEqual(containerOf(server).command, ['npx', 'tsx', 'workers/codec-server.ts']);
  assert.ok(![...k8s, ...codecK8s].some((d) => d.kind === 'Secret' && d.metadata.name === 'pivotrl-payload-codec'), 'no committed key');
  const web = helm.web.additionalEnv.find((e: Doc) => e.name === 'TEMPORAL_CODEC_ENDPOINT');
  assert.match(web?.value ?? '', /^https:\/\//, 'the UI decodes through an https route');
});

test('helm values: PostgreSQL for both stores, schema set-up, web UI, the pivotrl namespace; versions as in compose', () => {
  const p = helm.server.config.persistence;
  for (const [store, db] of [
    ['default', 'temporal'],
    ['visibility', 'temporal_visibility'],
  ]) {
    assert.equal(p[store].driver, 'sql', `${store} store on SQL`);
    assert.equal(p[store].sql.driver, 'postgres12', `${store} store on PostgreSQL`);
    assert.equal(p[store].sql.database, db);
    assert.equal(p[store].sql.port, 5432);
    assert.ok(p[store].sql.existingSecret, `${store}: the password from a Secret`);
  }
  assert.equal(helm.web.enabled, true);
  assert.equal(helm.schema.setup.enabled && helm.schema.update.enabled && helm.schema.createDatabase.enabled, true);
  for (const off of ['cassandra', 'mysql', 'postgresql', 'elasticsearch']) assert.equal(helm[off].enabled, false, `${off} sub-chart off`);
  assert.deepEqual(helm.server.config.namespaces.namespace, [{ name: 'pivotrl', retention: '7d' }]);
  assert.equal(helm.server.image.tag, imageTag(services.temporal.image), 'the same server version as compose');
  assert.equal(helm.web.image.tag, imageTag(services['temporal-ui'].image), 'the same UI version as compose');
  assert.equal(helm.admintools.image.tag, imageTag(services['temporal-schema'].image));
});

/** The port of a PIVOTRL_METRICS_ADDRESS that listens on every interface (host:port). */
const metricsPort = (address: string | undefined, where: string) => {
  assert.match(address ?? '', /^0\.0\.0\.0:\d+$/, `${where}: PIVOTRL_METRICS_ADDRESS on every interface of the container`);
  return address!.split(':')[1];
};

test('metrics: workers export on PIVOTRL_METRICS_ADDRESS, compose on its network only, Kubernetes pods annotated for Prometheus', () => {
  for (const name of ['cpu-worker', 'gpu-worker']) {
    const port = metricsPort(services[name].environment.PIVOTRL_METRICS_ADDRESS, `compose ${name}`);
    assert.deepEqual(services[name].expose, [port], `compose ${name}: the metrics port on the compose network`);
    assert.ok(!(services[name].ports ?? []).some((p: string) => p.endsWith(`:${port}`)), `compose ${name}: not published on the host`);
  }
  for (const d of deployments) {
    const port = metricsPort(k8sEnv(d).PIVOTRL_METRICS_ADDRESS, d.metadata.name);
    const annotations = d.spec.template.metadata.annotations ?? {};
    assert.equal(annotations['prometheus.io/scrape'], 'true', `${d.metadata.name}: scraped`);
    assert.equal(annotations['prometheus.io/port'], port, `${d.metadata.name}: on the port the worker serves`);
    assert.equal(annotations['prometheus.io/path'], '/metrics');
    assert.ok(
      containerOf(d).ports.some((p: Doc) => p.name === 'metrics' && String(p.containerPort) === port),
      `${d.metadata.name}: the metrics port is declared`,
    );
  }
  assert.equal(helm.prometheus.enabled, true, "the chart's Prometheus is on");
  assert.equal(helm.grafana.enabled, true, "the chart's Grafana is on");
  assert.equal(helm.server.metrics.annotations.enabled, true, "the server's pods are annotated for it");
});

/** Metric names the code registers (`create<Kind>('pivotrl_...'`), as Prometheus names them (counters end in _total). */
function codeMetrics(): Set<string> {
  const names = new Set<string>();
  for (const file of ['workflows/metrics.ts', 'workers/metrics.ts']) {
    for (const m of read(file).matchAll(/create(Counter|Gauge)\(\s*'(pivotrl_\w+)'/g))
      names.add(m[1] === 'Counter' ? `${m[2]}_total` : m[2]);
  }
  return names;
}

test('the Grafana dashboard: every campaign metric the code emits, SDK metrics by their exported names, one datasource variable', () => {
  const panels = (dashboard.panels as Doc[]).filter((p) => p.type !== 'row');
  const exprs = panels.flatMap((p) => (p.targets as Doc[]).map((t) => t.expr as string));
  assert.ok(
    panels.every((p) => p.targets.length > 0 && p.datasource.uid === '${datasource}'),
    'each panel queries the chosen Prometheus',
  );
  const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:pivotrl|temporal)_[a-z_]+)/g)].map((m) => m[1])));
  const emitted = codeMetrics();
  assert.ok(emitted.size >= 10, `the code's metrics: ${[...emitted].join(', ')}`);
  for (const name of emitted) assert.ok(used.has(name), `the dashboard shows ${name}`);
  for (const name of used) {
    if (name.startsWith('pivotrl_')) assert.ok(emitted.has(name), `${name} is a metric the code emits`);
    else assert.match(name, /^temporal_(activity|workflow|worker)_\w+?(_bucket|_total)?$/, `${name}: an SDK worker metric`);
  }
  assert.deepEqual(
    dashboard.templating.list.map((v: Doc) => v.name),
    ['datasource', 'campaign'],
  );
  assert.ok(new Set(panels.map((p) => p.id)).size === panels.length, 'panel ids are unique');
});

/** Where a TEMPORAL_TLS_* path of a compose service comes from: one of the service's own secrets, by name. */
const composeSecretOf = (name: string, path: string) => {
  const m = /^\/run\/secrets\/(.+)$/.exec(path);
  assert.ok(m, `${name}: ${path} is a mounted secret`);
  assert.ok(services[name].secrets.includes(m[1]), `${name}: mounts secret ${m[1]}`);
  return compose.secrets[m[1]].file as string;
};

test('compose: mTLS, the frontend requires a certificate of the CA; each client presents its own and holds only its key', () => {
  const server = services.temporal.environment;
  assert.equal(server.TEMPORAL_TLS_REQUIRE_CLIENT_AUTH, 'true');
  const ca = composeSecretOf('temporal', server.TEMPORAL_TLS_SERVER_CA_CERT);
  assert.match(ca, /\/ca\.pem$/);
  for (const key of ['TEMPORAL_TLS_CLIENT1_CA_CERT', 'TEMPORAL_TLS_CLIENT2_CA_CERT'])
    assert.equal(composeSecretOf('temporal', server[key]), ca);
  for (const key of ['TEMPORAL_TLS_SERVER_CERT', 'TEMPORAL_TLS_FRONTEND_CERT']) {
    assert.match(composeSecretOf('temporal', server[key]), /\/server\.pem$/);
  }
  assert.ok(services.temporal.healthcheck.test.includes('--tls-cert-path'), 'the health check presents a certificate');

  const identities: Record<string, string> = { 'cpu-worker': 'worker', 'gpu-worker': 'worker', 'temporal-namespace': 'cli' };
  for (const [name, cert] of Object.entries(identities)) {
    const env = services[name].environment;
    assert.equal(composeSecretOf(name, env.TEMPORAL_TLS_SERVER_CA_CERT_PATH), ca, `${name}: trusts the stack's CA`);
    assert.match(composeSecretOf(name, env.TEMPORAL_TLS_CLIENT_CERT_PATH), new RegExp(`/${cert}\\.pem$`), name);
    assert.match(composeSecretOf(name, env.TEMPORAL_TLS_CLIENT_KEY_PATH), new RegExp(`/${cert}\\.key$`), name);
  }
  const ui = services['temporal-ui'].environment;
  assert.equal(composeSecretOf('temporal-ui', ui.TEMPORAL_TLS_CA), ca);
  assert.match(composeSecretOf('temporal-ui', ui.TEMPORAL_TLS_KEY), /\/ui\.key$/);
  assert.equal(ui.TEMPORAL_TLS_ENABLE_HOST_VERIFICATION, 'true');
  for (const [name, service] of Object.entries(services)) {
    const keys = (service.secrets ?? []).filter((s: string) => compose.secrets[s].file.endsWith('.key'));
    assert.ok(keys.length <= 1, `${name} holds at most one private key: ${keys.join(', ')}`);
  }
});

test('kubernetes and helm: mTLS on the frontend; workers and the job present their own certificates from Secrets', () => {
  assert.equal(helm.server.tls.frontend.enabled, true);
  assert.equal(helm.server.tls.frontend.requireClientAuth, true);
  assert.equal(helm.server.tls.internode.enabled, true);
  assert.equal(helm.web.tls.enabled, true);
  assert.equal(helm.web.tls.enableHostVerification, true);
  assert.notEqual(helm.web.tls.secretName, helm.server.tls.frontend.secretName, 'the UI has its own certificate');
  const job = k8s.find((d) => d.kind === 'Job' && d.metadata.name === 'pivotrl-search-attributes').spec.template.spec;
  const pods: [string, Doc, Record<string, string>, string][] = [
    ...deployments.map((d): [string, Doc, Record<string, string>, string] => [
      d.metadata.name,
      d.spec.template.spec,
      k8sEnv(d),
      'pivotrl-worker-tls',
    ]),
    ['pivotrl-search-attributes', job, Object.fromEntries(job.containers[0].env.map((e: Doc) => [e.name, e.value])), 'pivotrl-cli-tls'],
  ];
  for (const [name, spec, env, secret] of pods) {
    assert.equal(env.TEMPORAL_TLS_SERVER_NAME, helm.server.tls.frontend.serverName, `${name}: checks the frontend's name`);
    const mount = spec.containers[0].volumeMounts.find((m: Doc) => env.TEMPORAL_TLS_CLIENT_CERT_PATH.startsWith(m.mountPath + '/'));
    assert.ok(mount?.readOnly, `${name}: the certificate's folder is mounted read-only`);
    const volume = spec.volumes.find((v: Doc) => v.name === mount.name);
    assert.equal(volume.secret.secretName, secret, `${name}: its own certificate`);
    for (const key of ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH']) {
      assert.ok(env[key]?.startsWith(mount.mountPath + '/'), `${name}: ${key} in the mounted Secret`);
    }
  }
});

test('the workers health endpoint answers from the worker state', async () => {
  let state: State = 'INITIALIZED';
  const server = serveHealth({ getState: () => state }, 0)!;
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const status = async (path = HEALTH_PATH) => (await fetch(url + path)).status;
    assert.equal(await status(), 200, 'starting');
    state = 'RUNNING';
    assert.equal(await status(), 200);
    assert.deepEqual(await (await fetch(url + HEALTH_PATH)).json(), { state: 'RUNNING' });
    state = 'FAILED';
    assert.equal(await status(), 503);
    state = 'STOPPED';
    assert.equal(await status(), 503);
    assert.equal(await status('/other'), 404);
  } finally {
    server.close();
  }
  assert.equal(serveHealth({ getState: () => state }, undefined), undefined, 'off without PIVOTRL_HEALTH_PORT');
});

// Every value that is a secret: compose takes each from the operator's environment and refuses to start without it
// (`${VAR:?how to set it}`, no `:-` default); Kubernetes and Helm name Secrets the operator creates.
const SECRET_KEY = /PASSWORD|PWD|SECRET|ACCESS_KEY/;

test('no secret is committed: compose requires each from the environment; no Secret or password in the k8s files', () => {
  const secrets: string[] = [];
  for (const [name, service] of Object.entries(services)) {
    for (const [key, value] of Object.entries((service.environment ?? {}) as Record<string, string>)) {
      if (!SECRET_KEY.test(key)) continue;
      secrets.push(`${name}.${key}`);
      assert.match(value, /^\$\{PIVOTRL_[A-Z0-9_]+:\?[^}]+\}$/, `compose.yaml: ${name}.${key} is required from the environment`);
    }
  }
  assert.ok(secrets.length >= 10, `compose.yaml: ${secrets.join(', ')}`);
  assert.doesNotMatch(read('deploy/compose/compose.yaml'), /\$\{PIVOTRL_[A-Z0-9_]*(PASSWORD|SECRET|KEY)[A-Z0-9_]*:-/, 'no default');
  assert.deepEqual(
    k8s.filter((d) => d.kind === 'Secret').map((d) => d.metadata.name),
    [],
    'workers.yaml: the Secret is created with kubectl',
  );
  for (const store of ['default', 'visibility']) assert.equal(helm.server.config.persistence[store].sql.password, undefined);
  for (const file of ['deploy/compose/compose.yaml', 'deploy/k8s/workers.yaml', 'deploy/k8s/temporal-values.yaml']) {
    assert.doesNotMatch(
      read(file),
      /replace-me|pivotrl-secret|--from-literal|--secret |--user /,
      `${file}: no secret value or secret flag`,
    );
  }
});

test('compose: the S3 root keys stay with the object store; services are published on loopback unless told otherwise', () => {
  for (const [name, service] of Object.entries(services)) {
    const env = JSON.stringify(service.environment ?? {});
    const holdsRoot = env.includes('PIVOTRL_S3_SECRET_KEY');
    assert.equal(holdsRoot, name === 's3' || name === 's3-bucket', `${name}: ${holdsRoot ? 'holds' : 'lacks'} the S3 root secret`);
    for (const port of (service.ports ?? []) as string[]) {
      assert.match(port, /^(\$\{PIVOTRL_BIND_ADDRESS:-127\.0\.0\.1\}|127\.0\.0\.1):\d+:\d+$/, `${name}: port ${port} on a chosen address`);
    }
  }
  assert.ok(
    services['temporal-ui'].ports.every((p: string) => p.startsWith('127.0.0.1:')),
    'the UI (no login) on loopback',
  );
  assert.equal(services.s3.environment.VGW_IAM_DIR, '/iam', 'versitygw keeps its users (the workers) in its IAM dir');
});
