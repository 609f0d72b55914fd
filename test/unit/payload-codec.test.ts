// The payload codec (AES-256-GCM, keys from PIVOTRL_PAYLOAD_KEYS) and the codec server's protocol: a round trip, a
// tampered payload, an unknown key id, rotation, bad key settings, and the server's token, CORS and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../workers/payload-codec';
import { parsePayloadKeys, type PayloadKeys } from '../../workers/payload-keys';
import { dataConverterFromEnv } from '../../workers/data-converter';
import { createCodecService } from '../../workers/codec-service';

const MARKER = 'proprietary-trajectory-7f3a';
const key = () => randomBytes(32).toString('base64');
const keys = (value: string): PayloadKeys => parsePayloadKeys(value)!;
const payload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value)!;
const valueOf = (p: Payload) => defaultPayloadConverter.fromPayload(p);
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

test('a payload round-trips, and what is stored is ciphertext labelled with the encoding and key id', async () => {
  const codec = new AesGcmCodec(keys(`k1:${key()}`));
  const input = { goal: MARKER, turns: [1, 2, 3] };
  const [sealed] = await codec.encode([payload(input)]);
  assert.equal(text(sealed.metadata!.encoding), ENCRYPTED_ENCODING);
  assert.equal(text(sealed.metadata![KEY_ID_METADATA]), 'k1');
  assert.ok(!Buffer.from(sealed.data!).includes(MARKER), 'no plaintext in the stored bytes');
  assert.ok(!JSON.stringify(sealed).includes(MARKER));
  const [opened] = await codec.decode([sealed]);
  assert.deepEqual(valueOf(opened), input);
  assert.equal(text(opened.metadata!.encoding), 'json/plain', 'the original metadata comes back');
});

test('the same payload sealed twice differs (a fresh nonce each time)', async () => {
  const codec = new AesGcmCodec(keys(`k1:${key()}`));
  const [a, b] = await codec.encode([payload(MARKER), payload(MARKER)]);
  assert.notDeepEqual(Buffer.from(a.data!), Buffer.from(b.data!));
  assert.notDeepEqual(Buffer.from(a.data!).subarray(0, 12), Buffer.from(b.data!).subarray(0, 12));
});

test('a flipped bit anywhere in a sealed payload fails authentication with a clear error', async () => {
  const codec = new AesGcmCodec(keys(`k1:${key()}`));
  const [sealed] = await codec.encode([payload(MARKER)]);
  const data = Buffer.from(sealed.data!);
  for (const at of [0, 12, data.length - 1]) {
    const altered = Buffer.from(data);
    altered[at] ^= 1;
    await assert.rejects(codec.decode([{ ...sealed, data: altered }]), /key id k1\) failed authentication: it was altered/);
  }
  await assert.rejects(codec.decode([{ ...sealed, data: data.subarray(0, 20) }]), /truncated/);
});

test('a payload sealed with a key id this codec does not hold is refused, naming the id and the ids it has', async () => {
  const [sealed] = await new AesGcmCodec(keys(`old:${key()}`)).encode([payload(MARKER)]);
  await assert.rejects(
    new AesGcmCodec(keys(`k2:${key()},k3:${key()}`)).decode([sealed]),
    /encrypted with key id old, which PIVOTRL_PAYLOAD_KEYS does not hold \(it has: k2, k3\)/,
  );
  // The same id with another key: authentication fails rather than garbage coming out.
  await assert.rejects(new AesGcmCodec(keys(`old:${key()}`)).decode([sealed]), /failed authentication/);
});

test('rotation: the first key encrypts, an old key listed after it still decrypts', async () => {
  const oldKey = key();
  const [before] = await new AesGcmCodec(keys(`2025:${oldKey}`)).encode([payload('sealed last year')]);
  const rotated = new AesGcmCodec(keys(`2026:${key()},2025:${oldKey}`));
  const [after] = await rotated.encode([payload('sealed now')]);
  assert.equal(text(after.metadata![KEY_ID_METADATA]), '2026');
  assert.deepEqual((await rotated.decode([before, after])).map(valueOf), ['sealed last year', 'sealed now']);
});

test('payloads in clear (written before the codec was turned on) pass through decode unchanged', async () => {
  const codec = new AesGcmCodec(keys(`k1:${key()}`));
  const plain = payload({ a: 1 });
  assert.deepEqual(await codec.decode([plain]), [plain]);
});

test('PIVOTRL_PAYLOAD_KEYS: unset means no codec; a bad value names the variable, the entry and its id, never the key', () => {
  assert.equal(dataConverterFromEnv({}), undefined);
  assert.equal(dataConverterFromEnv({ PIVOTRL_PAYLOAD_KEYS: ' ' }), undefined);
  assert.equal(dataConverterFromEnv({ PIVOTRL_PAYLOAD_KEYS: `k1:${key()}` })?.payloadCodecs?.length, 1);
  const short = randomBytes(16).toString('base64');
  const cases: [string, RegExp][] = [
    [`k1:${short}`, /^PIVOTRL_PAYLOAD_KEYS: entry 1 \(id k1\): the key must be 32 bytes \(openssl rand -base64 32\), got 16$/],
    [`k1:${key()},k2:not base64!`, /^PIVOTRL_PAYLOAD_KEYS: entry 2 \(id k2\): the key is not base64$/],
    [`k1:${key()},k1:${key()}`, /^PIVOTRL_PAYLOAD_KEYS: entry 2: key id k1 is listed twice$/],
    [key(), /^PIVOTRL_PAYLOAD_KEYS: entry 1: expected ID:BASE64KEY/],
    [`bad id:${key()}`, /^PIVOTRL_PAYLOAD_KEYS: entry 1: the key id must be/],
  ];
  for (const [value, message] of cases) {
    assert.throws(
      () => dataConverterFromEnv({ PIVOTRL_PAYLOAD_KEYS: value }),
      (err: Error) => {
        assert.match(err.message, message);
        assert.ok(!err.message.includes(short), 'the key is not in the message');
        return true;
      },
    );
  }
});

// The codec server's protocol, served from this process on an ephemeral port.
async function withService(fn: (url: string, token: string) => Promise<void>) {
  const token = randomBytes(32).toString('hex');
  const codec = new AesGcmCodec(keys(`k1:${key()}`));
  const server = createCodecService({ codec, token, allowOrigins: ['https://ui.example:8443'] });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, token);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
const jsonPayload = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data!).toString('base64'),
});
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

test('codec server: encode then decode with the bearer token; without it, or with another, 401', async () => {
  await withService(async (url, token) => {
    const auth = { authorization: `Bearer ${token}`, 'x-namespace': 'pivotrl' };
    const body = { payloads: [jsonPayload(payload({ goal: MARKER }))] };
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: token }] as Record<string, string>[]) {
      const refused = await post(`${url}/decode`, body, headers);
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
      assert.ok(!(await refused.text()).includes(MARKER));
    }
    const encoded = await post(`${url}/encode`, body, auth);
    assert.equal(encoded.status, 200);
    const sealed = (await encoded.json()) as { payloads: ReturnType<typeof jsonPayload>[] };
    assert.ok(!JSON.stringify(sealed).includes(MARKER));
    assert.equal(Buffer.from(sealed.payloads[0].metadata.encoding, 'base64').toString(), ENCRYPTED_ENCODING);
    const decoded = await post(`${url}/decode`, sealed, auth);
    assert.equal(decoded.status, 200);
    assert.deepEqual(await decoded.json(), body);
  });
});

test('codec server: CORS for the UI origin only, bad requests named, a tampered payload 400', async () => {
  await withService(async (url, token) => {
    const preflight = await fetch(`${url}/decode`, { method: 'OPTIONS', headers: { origin: 'https://ui.example:8443' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://ui.example:8443');
    assert.match(preflight.headers.get('access-control-allow-headers')!, /Authorization, Content-Type, X-Namespace/);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
    const other = await fetch(`${url}/decode`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    assert.equal(other.status, 403);
    assert.equal(other.headers.get('access-control-allow-origin'), null);

    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await post(`${url}/nope`, {}, auth)).status, 404);
    assert.equal((await fetch(`${url}/decode`, { headers: auth })).status, 405);
    const notJson = await fetch(`${url}/decode`, { method: 'POST', headers: auth, body: '{' });
    assert.equal(notJson.status, 400);
    assert.match(((await notJson.json()) as { error: string }).error, /not JSON/);
    const badShape = await post(`${url}/decode`, { payloads: [{ data: '***' }] }, auth);
    assert.equal(badShape.status, 400);
    assert.match(((await badShape.json()) as { error: string }).error, /^request body: payloads\.0\.data: /);

    const sealed = (await (await post(`${url}/encode`, { payloads: [jsonPayload(payload(MARKER))] }, auth)).json()) as {
      payloads: { metadata: Record<string, string>; data: string }[];
    };
    const data = Buffer.from(sealed.payloads[0].data, 'base64');
    data[20] ^= 1;
    sealed.payloads[0].data = data.toString('base64');
    const tampered = await post(`${url}/decode`, sealed, auth);
    assert.equal(tampered.status, 400);
    assert.match(((await tampered.json()) as { error: string }).error, /failed authentication/);
  });
});
