// The DataConverter of every client and worker: the AES-GCM payload codec when PIVOTRL_PAYLOAD_KEYS is set, Temporal's
// default (payloads in clear) otherwise. Failure messages and stack traces are not encoded (they name files, lines and
// fields, not data).
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { AesGcmCodec } from './payload-codec';
import { PAYLOAD_KEYS_VARIABLE, parsePayloadKeys } from './payload-keys';

/** The codec of PIVOTRL_PAYLOAD_KEYS, or undefined when it is unset; a bad value throws, naming the variable. */
export function payloadCodecFromEnv(env: NodeJS.ProcessEnv = process.env): PayloadCodec | undefined {
  const keys = parsePayloadKeys(env[PAYLOAD_KEYS_VARIABLE]);
  return keys && new AesGcmCodec(keys);
}

export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const codec = payloadCodecFromEnv(env);
  return codec && { payloadCodecs: [codec] };
}
