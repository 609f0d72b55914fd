// The payload codec's AES-256 keys from the environment: PIVOTRL_PAYLOAD_KEYS="id1:base64key,id2:base64key".
// The first key encrypts; every key decrypts, so a new key goes first and the old ones stay until no history needs them.
import { ConfigError } from '../pipeline/config-file';

export const PAYLOAD_KEYS_VARIABLE = 'PIVOTRL_PAYLOAD_KEYS';
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface PayloadKeys {
  /** Id of the key new payloads are encrypted with (the first one listed). */
  current: string;
  /** Every key by id. */
  byId: ReadonlyMap<string, Buffer>;
}

/**
 * The keys in `value` (the variable's content), or undefined when it is unset or empty: no codec. A bad entry is an
 * ConfigError naming the variable (unless `variable` is empty), the entry's position and its id, never the key itself.
 */
export function parsePayloadKeys(value: string | undefined, variable = PAYLOAD_KEYS_VARIABLE): PayloadKeys | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const byId = new Map<string, Buffer>();
  value.split(',').forEach((entry, i) => {
    const where = variable ? `${variable}: entry ${i + 1}` : `entry ${i + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new ConfigError(`${where}: expected ID:BASE64KEY (e.g. k1:$(openssl rand -base64 32))`);
    const id = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) throw new ConfigError(`${where}: the key id must be 1-64 letters, digits, ".", "_" or "-"`);
    if (byId.has(id)) throw new ConfigError(`${where}: key id ${id} is listed twice`);
    const key = Buffer.from(encoded, 'base64');
    // Buffer.from skips what is not base64; a round trip tells a typo from a key.
    if (key.toString('base64') !== encoded) throw new ConfigError(`${where} (id ${id}): the key is not base64`);
    if (key.length !== KEY_BYTES) {
      throw new ConfigError(`${where} (id ${id}): the key must be ${KEY_BYTES} bytes (openssl rand -base64 32), got ${key.length}`);
    }
    byId.set(id, key);
  });
  return { current: byId.keys().next().value!, byId };
}
