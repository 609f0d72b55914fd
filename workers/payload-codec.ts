// AES-256-GCM payload codec: every payload Temporal stores (inputs, results, summaries, details, heartbeats) is the
// original Payload (protobuf) sealed under a random 96-bit nonce, labelled with its encoding and key id.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { PAYLOAD_KEYS_VARIABLE, type PayloadKeys } from './payload-keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER = 'aes-256-gcm';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ProtoPayload = proto.temporal.api.common.v1.Payload;

const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly keys: PayloadKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.seal(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.open(payload));
  }

  /** data = nonce | ciphertext | tag */
  private seal(payload: Payload): Payload {
    const { current, byId } = this.keys;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(CIPHER, byId.get(current)!, nonce, { authTagLength: TAG_BYTES });
    const plain = ProtoPayload.encode(payload).finish();
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: Buffer.from(current),
      },
      data: Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]),
    };
  }

  /** Payloads this codec did not encrypt (e.g. written before it was turned on) pass through unchanged. */
  private open(payload: Payload): Payload {
    if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
    if (!keyId) throw new ValueError(`an encrypted payload has no ${KEY_ID_METADATA}`);
    const key = this.keys.byId.get(keyId);
    if (!key) {
      const known = [...this.keys.byId.keys()].join(', ');
      throw new ValueError(`a payload is encrypted with key id ${keyId}, which ${PAYLOAD_KEYS_VARIABLE} does not hold (it has: ${known})`);
    }
    const data = Buffer.from(payload.data ?? []);
    if (data.length < NONCE_BYTES + TAG_BYTES) throw new ValueError(`an encrypted payload (key id ${keyId}) is truncated`);
    const decipher = createDecipheriv(CIPHER, key, data.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new ValueError(
        `an encrypted payload (key id ${keyId}) failed authentication: it was altered, or key ${keyId} is not the one it was sealed with`,
      );
    }
    const { metadata, data: original } = ProtoPayload.decode(plain);
    return { metadata, data: original };
  }
}
