// Where the CLI, the workers and the harness find Temporal: one set of settings, in Temporal's own conventions.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from '@temporalio/client';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import { ConfigError } from '../pipeline/config-file';

type Env = Record<string, string | undefined>;

export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

/** Deprecated names still read when the TEMPORAL_* one is unset (the production stack wrote them before). */
const ALIASES = { TEMPORAL_ADDRESS: 'PIVOTRL_TEMPORAL_ADDRESS', TEMPORAL_NAMESPACE: 'PIVOTRL_TEMPORAL_NAMESPACE' } as const;

/**
 * A setting that cannot work (a missing certificate, an address without a port...); the message names its source.
 * A ConfigError, so the CLI exits with status 2 on it.
 */
export class ConnectionSettingsError extends ConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionSettingsError';
  }
}

/** The campaign config's `temporal` fields that name the server; when present they win over everything below. */
export interface ExplicitTarget {
  address?: string;
  namespace?: string;
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** Whether the connection uses TLS (certificates, an API key, or TEMPORAL_TLS=true). */
  tls: boolean;
  /** For `Connection.connect` (clients) and `NativeConnection.connect` (workers): address, TLS, API key, gRPC metadata. */
  connection: ConnectionOptions & NativeConnectionOptions;
  /** Deprecated variables that were used, each with its replacement, for the caller to warn about. */
  deprecated: string[];
}

/** The profile file envconfig reads: TEMPORAL_CONFIG_FILE, else $XDG_CONFIG_HOME or ~/.config /temporalio/temporal.toml. */
function profileFile(env: Env): string {
  if (env.TEMPORAL_CONFIG_FILE) return env.TEMPORAL_CONFIG_FILE;
  const dir = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, '.config') : '~/.config');
  return join(dir, 'temporalio', 'temporal.toml');
}

const BOOLEAN = new Set(['1', 'true', '0', 'false']);
const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/**
 * Resolves the connection settings. Precedence, first wins: the campaign config's `temporal.address`/`namespace`
 * when the config names them; the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TEMPORAL_TLS, TEMPORAL_TLS_*; the deprecated PIVOTRL_TEMPORAL_ADDRESS/NAMESPACE when the TEMPORAL_* one is unset);
 * the profile TEMPORAL_PROFILE (default "default") of the TOML file TEMPORAL_CONFIG_FILE (default
 * ~/.config/temporalio/temporal.toml); then 127.0.0.1:7233, namespace `default`, no TLS.
 */
export function temporalSettings(explicit: ExplicitTarget = {}, env: Env = process.env): TemporalSettings {
  const deprecated: string[] = [];
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) vars[k] = v;
  for (const [name, alias] of Object.entries(ALIASES)) {
    if (vars[name] === undefined && vars[alias] !== undefined) {
      vars[name] = vars[alias];
      deprecated.push(`${alias} is deprecated: set ${name}`);
    }
  }
  if (vars.TEMPORAL_TLS !== undefined && !BOOLEAN.has(vars.TEMPORAL_TLS)) {
    throw new ConnectionSettingsError(`TEMPORAL_TLS: expected true, false, 1 or 0, got ${JSON.stringify(vars.TEMPORAL_TLS)}`);
  }

  const file = profileFile(vars);
  const profileName = vars.TEMPORAL_PROFILE ?? 'default';
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (err) {
    const why = (err as Error).message;
    if (/Profile '.*' not found/.test(why)) {
      throw new ConnectionSettingsError(`TEMPORAL_PROFILE: no profile "${profileName}" in ${file}`);
    }
    throw new ConnectionSettingsError(`${vars.TEMPORAL_CONFIG_FILE ? 'TEMPORAL_CONFIG_FILE' : 'Temporal profile file'} ${file}: ${why}`);
  }

  const fromProfile = `profile "${profileName}" of ${file}`;
  const sourceOf = (name: keyof typeof ALIASES, field: string) =>
    env[name] !== undefined ? name : env[ALIASES[name]] !== undefined ? ALIASES[name] : `${field} of ${fromProfile}`;

  let address = profile.address ?? DEFAULT_ADDRESS;
  let addressSource = profile.address === undefined ? 'the default address' : sourceOf('TEMPORAL_ADDRESS', 'address');
  if (explicit.address !== undefined) [address, addressSource] = [explicit.address, 'the campaign config temporal.address'];
  const port = ADDRESS.exec(address)?.[2];
  if (!port || Number(port) < 1 || Number(port) > 65535) {
    throw new ConnectionSettingsError(`${addressSource}: expected host:port (e.g. 127.0.0.1:7233), got ${JSON.stringify(address)}`);
  }

  let namespace = profile.namespace ?? DEFAULT_NAMESPACE;
  let namespaceSource = sourceOf('TEMPORAL_NAMESPACE', 'namespace');
  if (explicit.namespace !== undefined) [namespace, namespaceSource] = [explicit.namespace, 'the campaign config temporal.namespace'];
  if (namespace.trim() === '') throw new ConnectionSettingsError(`${namespaceSource}: the namespace is empty`);

  checkTlsFiles(profile, env, fromProfile);
  const { connectionOptions } = toClientOptions({ ...profile, address, namespace });
  const tls = connectionOptions.tls !== undefined && connectionOptions.tls !== false;
  return { address, namespace, tls, connection: { ...connectionOptions, address }, deprecated };
}

/** Certificate and key files must exist and come as a pair; errors name the variable (or profile key) that set them. */
function checkTlsFiles(profile: ClientConfigProfile, env: Env, fromProfile: string): void {
  const tls = profile.tls;
  if (!tls || tls.disabled) return;
  const files = [
    ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'tls.client_cert_path', tls.clientCert],
    ['TEMPORAL_TLS_CLIENT_KEY_PATH', 'tls.client_key_path', tls.clientKey],
    ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'tls.server_ca_cert_path', tls.serverCACert],
  ] as const;
  const nameOf = (variable: string, key: string) => (env[variable] !== undefined ? variable : `${key} of ${fromProfile}`);
  for (const [variable, key, source] of files) {
    if (!source || !('path' in source)) continue;
    try {
      accessSync(source.path, constants.R_OK);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot read it';
      throw new ConnectionSettingsError(`${nameOf(variable, key)}: ${why}: ${source.path}`);
    }
  }
  if (!tls.clientCert !== !tls.clientKey) {
    const [given, missing] = tls.clientCert ? [files[0], files[1]] : [files[1], files[0]];
    const name = env[given[0]] !== undefined ? missing[0] : `${missing[1]} of ${fromProfile}`;
    throw new ConnectionSettingsError(`${name} is unset: a client certificate needs its key and the key its certificate`);
  }
}

/**
 * The settings for an entry point: on a bad setting, prints it and exits with status 2; prints a warning for each
 * deprecated variable used.
 */
export function temporalSettingsOrExit(explicit: ExplicitTarget = {}, env: Env = process.env): TemporalSettings {
  try {
    const settings = temporalSettings(explicit, env);
    for (const line of settings.deprecated) console.error(`warning: ${line}`);
    return settings;
  } catch (err) {
    if (!(err instanceof ConnectionSettingsError)) throw err;
    console.error(`Temporal connection settings: ${err.message}`);
    process.exit(2);
  }
}

/** The Temporal Web UI's base URL: PIVOTRL_UI_URL (TEMPORAL_UI_URL is accepted as an alias), else the dev server's UI. */
export function temporalUiUrl(env: Env = process.env): string {
  const url = env.PIVOTRL_UI_URL ?? env.TEMPORAL_UI_URL ?? `http://127.0.0.1:${env.TEMPORAL_UI_PORT ?? '8233'}`;
  return url.replace(/\/+$/, '');
}
