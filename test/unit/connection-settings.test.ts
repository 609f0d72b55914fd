// The one set of Temporal connection settings (workers/connection.ts): precedence of the campaign config, the
// environment, the profile file and the defaults; the deprecated aliases; TLS files; errors that name the variable.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { ConnectionSettingsError, temporalSettings, temporalUiUrl } from '../../workers/connection';
import { ConfigError } from '../../pipeline/config-file';
import { tempDir } from '../../harness/temp-dir';

const dir = tempDir('pivotrl-conn-');
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const cert = file('cli.pem', 'CERT');
const key = file('cli-key.pem', 'KEY');
const ca = file('ca.pem', 'CA');
const profiles = file(
  'temporal.toml',
  `[profile.default]\naddress = "file-host:7000"\nnamespace = "from-file"\n\n` +
    `[profile.prod]\naddress = "prod-host:7243"\nnamespace = "pivotrl"\n[profile.prod.tls]\n` +
    `client_cert_path = "${cert}"\nclient_key_path = "${key}"\nserver_ca_cert_path = "${ca}"\n\n` +
    `[profile.broken]\naddress = "x:1"\n[profile.broken.tls]\nclient_cert_path = "${join(dir, 'gone.pem')}"\nclient_key_path = "${key}"\n`,
);
// No profile file unless a test names one: HOME is an empty folder.
const bare = { HOME: join(dir, 'home') };

const errorOf = (fn: () => unknown): ConnectionSettingsError => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConnectionSettingsError, String(err));
    return err;
  }
  assert.fail('expected a ConnectionSettingsError');
};

test('with nothing set: the dev server on 127.0.0.1:7233, namespace default, no TLS', () => {
  const s = temporalSettings({}, bare);
  assert.deepEqual([s.address, s.namespace, s.tls, s.connection.tls], ['127.0.0.1:7233', 'default', false, undefined]);
  assert.equal(s.connection.address, '127.0.0.1:7233');
});

test('precedence: the config names the server > TEMPORAL_* > the profile > the default', () => {
  const fromFile = temporalSettings({}, { ...bare, TEMPORAL_CONFIG_FILE: profiles });
  assert.deepEqual([fromFile.address, fromFile.namespace], ['file-host:7000', 'from-file']);

  const env = { ...bare, TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_ADDRESS: 'env-host:7233', TEMPORAL_NAMESPACE: 'env-ns' };
  const fromEnv = temporalSettings({}, env);
  assert.deepEqual([fromEnv.address, fromEnv.namespace], ['env-host:7233', 'env-ns']);

  // A config that names neither (the default of core/config.ts) leaves the choice to the environment...
  const unnamed = temporalSettings({ address: undefined, namespace: undefined }, env);
  assert.deepEqual([unnamed.address, unnamed.namespace], ['env-host:7233', 'env-ns']);
  // ...and one that names them wins, field by field; TLS still comes from the environment or profile.
  const named = temporalSettings({ address: 'config-host:7999' }, env);
  assert.deepEqual([named.address, named.connection.address, named.namespace], ['config-host:7999', 'config-host:7999', 'env-ns']);
});

test('TEMPORAL_PROFILE picks a profile with its TLS files; the environment overrides single fields of it', () => {
  const s = temporalSettings({}, { ...bare, TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'other' });
  assert.deepEqual([s.address, s.namespace, s.tls], ['prod-host:7243', 'other', true]);
  const tls = s.connection.tls as TLSConfig;
  assert.equal(Buffer.from(tls.clientCertPair!.crt).toString(), 'CERT');
  assert.equal(Buffer.from(tls.clientCertPair!.key).toString(), 'KEY');
  assert.equal(Buffer.from(tls.serverRootCACertificate!).toString(), 'CA');

  const e = errorOf(() => temporalSettings({}, { ...bare, TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'nope' }));
  assert.equal(e.message, `TEMPORAL_PROFILE: no profile "nope" in ${profiles}`);
  const bad = errorOf(() => temporalSettings({}, { ...bare, TEMPORAL_CONFIG_FILE: file('bad.toml', '[profile.default\n') }));
  assert.match(bad.message, new RegExp(`^TEMPORAL_CONFIG_FILE ${join(dir, 'bad.toml')}: `));
});

test('mTLS from the environment: client certificate, key, CA and server name', () => {
  const s = temporalSettings(
    {},
    {
      ...bare,
      TEMPORAL_ADDRESS: '127.0.0.1:7243',
      TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: key,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    },
  );
  assert.equal(s.tls, true);
  const tls = s.connection.tls as TLSConfig;
  assert.equal(tls.serverNameOverride, 'localhost');
  assert.equal(Buffer.from(tls.clientCertPair!.crt).toString(), 'CERT');
  assert.equal(temporalSettings({}, { ...bare, TEMPORAL_TLS: 'true' }).tls, true);
  assert.equal(temporalSettings({}, { ...bare, TEMPORAL_TLS: 'false' }).tls, false);
});

test('PIVOTRL_TEMPORAL_ADDRESS/NAMESPACE are deprecated aliases; the TEMPORAL_* names win', () => {
  const alias = { ...bare, PIVOTRL_TEMPORAL_ADDRESS: 'old-host:7243', PIVOTRL_TEMPORAL_NAMESPACE: 'pivotrl' };
  const s = temporalSettings({}, alias);
  assert.deepEqual([s.address, s.namespace], ['old-host:7243', 'pivotrl']);
  assert.deepEqual(s.deprecated, [
    'PIVOTRL_TEMPORAL_ADDRESS is deprecated: set TEMPORAL_ADDRESS',
    'PIVOTRL_TEMPORAL_NAMESPACE is deprecated: set TEMPORAL_NAMESPACE',
  ]);
  const both = temporalSettings({}, { ...alias, TEMPORAL_ADDRESS: 'new-host:7233' });
  assert.equal(both.address, 'new-host:7233');
  assert.deepEqual(both.deprecated, ['PIVOTRL_TEMPORAL_NAMESPACE is deprecated: set TEMPORAL_NAMESPACE']);
  const e = errorOf(() => temporalSettings({}, { ...bare, PIVOTRL_TEMPORAL_ADDRESS: 'no-port' }));
  assert.match(e.message, /^PIVOTRL_TEMPORAL_ADDRESS: expected host:port/);
});

test('bad settings are errors naming the variable, the profile key or the config field', () => {
  const cases: [Parameters<typeof temporalSettings>, RegExp][] = [
    [
      [{}, { ...bare, TEMPORAL_ADDRESS: 'localhost' }],
      /^TEMPORAL_ADDRESS: expected host:port \(e\.g\. 127\.0\.0\.1:7233\), got "localhost"$/,
    ],
    [[{}, { ...bare, TEMPORAL_ADDRESS: 'h:99999' }], /^TEMPORAL_ADDRESS: expected host:port/],
    [[{ address: 'http://h:7233' }, bare], /^the campaign config temporal\.address: expected host:port/],
    [[{}, { ...bare, TEMPORAL_NAMESPACE: ' ' }], /^TEMPORAL_NAMESPACE: the namespace is empty$/],
    [[{}, { ...bare, TEMPORAL_TLS: 'yes' }], /^TEMPORAL_TLS: expected true, false, 1 or 0, got "yes"$/],
    [
      [{}, { ...bare, TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'missing.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: key }],
      new RegExp(`^TEMPORAL_TLS_CLIENT_CERT_PATH: no such file: ${join(dir, 'missing.pem')}$`),
    ],
    [[{}, { ...bare, TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'nope') }], /^TEMPORAL_TLS_SERVER_CA_CERT_PATH: no such file/],
    [[{}, { ...bare, TEMPORAL_TLS_CLIENT_CERT_PATH: cert }], /^TEMPORAL_TLS_CLIENT_KEY_PATH is unset: a client certificate needs its key/],
    [
      [{}, { ...bare, TEMPORAL_CONFIG_FILE: profiles, TEMPORAL_PROFILE: 'broken' }],
      new RegExp(`^tls\\.client_cert_path of profile "broken" of ${profiles}: no such file`),
    ],
  ];
  for (const [args, message] of cases) {
    const e = errorOf(() => temporalSettings(...args));
    assert.match(e.message, message);
    assert.ok(e instanceof ConfigError, 'the CLI exits with status 2 on it');
  }
});

test('the UI link: PIVOTRL_UI_URL, TEMPORAL_UI_URL as its alias, else the dev server UI', () => {
  assert.equal(temporalUiUrl({ PIVOTRL_UI_URL: 'https://ui.example/', TEMPORAL_UI_URL: 'http://other' }), 'https://ui.example');
  assert.equal(temporalUiUrl({ TEMPORAL_UI_URL: 'http://127.0.0.1:8243' }), 'http://127.0.0.1:8243');
  assert.equal(temporalUiUrl({ TEMPORAL_UI_PORT: '9000' }), 'http://127.0.0.1:9000');
  assert.equal(temporalUiUrl({}), 'http://127.0.0.1:8233');
});

test('a worker and the CLI exit with status 2 on a bad setting, naming the variable, before connecting', () => {
  const env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' };
  const worker = spawnSync('npx', ['tsx', 'workers/gpu.ts'], {
    encoding: 'utf8',
    env: { ...env, TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'gone.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: key },
    timeout: 60_000,
  });
  assert.equal(worker.status, 2, worker.stderr);
  assert.match(worker.stderr, /TEMPORAL_TLS_CLIENT_CERT_PATH: no such file: .*gone\.pem/);
  const cli = spawnSync('npx', ['tsx', 'cli/pivotrl.ts', 'status', 'some-id'], {
    encoding: 'utf8',
    env: { ...env, TEMPORAL_ADDRESS: 'no-port' },
    timeout: 60_000,
  });
  assert.equal(cli.status, 2, cli.stderr);
  assert.match(cli.stderr, /^error: TEMPORAL_ADDRESS: expected host:port/m);
});
