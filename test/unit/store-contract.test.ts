// One contract for both artefact stores: the local directory and S3 (a real versitygw on a free 127.0.0.1 port, posix
// backend in a temporary folder). Round trips, sorted prefix listing, atomic visibility (a reader polling during a
// large put never sees a partial object), idempotent re-put; for S3 also the set-up errors (missing bucket, refused
// credentials: never retried) and an endpoint that is down (retryable, and the same put succeeds once it is back).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { ensureApplicationFailure } from '@temporalio/common';
import {
  LocalStore,
  MissingArtefactError,
  ObjectStoreSetupError,
  ObjectStoreUnavailableError,
  S3Store,
  S3StoreConfig,
  openStore,
  type ArtefactStore,
} from '../../store';
import { STAGE_OPTIONS } from '../../workflows/stages';
import { startVersitygw, versitygwPath, type TestObjectStore } from '../../harness/versitygw';
import { tempDir } from '../../harness/temp-dir';

const MiB = 1024 * 1024;
const BUCKET = 'contract';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let s3: TestObjectStore | undefined;
const s3Missing = existsSync(versitygwPath())
  ? false
  : `S3 half skipped: no versitygw at ${versitygwPath()} (deploy/prod/binaries.sh builds it)`;

before(async () => {
  if (s3Missing) return;
  s3 = await startVersitygw();
  Object.assign(process.env, s3.env);
  await s3.createBucket(BUCKET);
});
after(async () => s3?.stop());

// Small parts for S3, so the large put of the atomicity test goes up as a multipart upload.
const s3Config = (o: Partial<S3StoreConfig> = {}) => S3StoreConfig.parse({ kind: 's3', bucket: BUCKET, endpoint: s3!.endpoint, ...o });
const backends: { name: string; skip: string | false; blocking?: boolean; open: () => ArtefactStore }[] = [
  { name: 'local', skip: false, open: () => new LocalStore(tempDir('pivotrl-contract-')) },
  { name: 'local (blocking)', skip: false, blocking: true, open: () => new LocalStore(tempDir('pivotrl-contract-'), { blocking: true }) },
  {
    name: 's3',
    skip: s3Missing,
    open: () =>
      new S3Store(s3Config({ prefix: `run-${randomBytes(4).toString('hex')}` }), { multipartThreshold: 8 * MiB, partSize: 5 * MiB }),
  },
];

for (const backend of backends) {
  describe(`${backend.name} store contract`, { skip: backend.skip }, () => {
    test('put, get, exists, list (sorted, by prefix), delete', async () => {
      const store = backend.open();
      const bytes = randomBytes(1000);
      await store.put('a/b/weights.bin', bytes);
      await store.put('a/b/model.json', '{"x":1}');
      await store.put('a/c.jsonl', 'row\n');
      await store.put('z', '');
      assert.deepEqual(await store.get('a/b/weights.bin'), bytes);
      assert.equal((await store.get('a/b/model.json')).toString('utf8'), '{"x":1}');
      assert.equal((await store.get('z')).length, 0);
      assert.equal(await store.exists('a/b/model.json'), true);
      assert.equal(await store.exists('a/b'), false, 'a prefix is not an object');
      assert.equal(await store.exists('nope'), false);
      assert.deepEqual(await store.list('a/'), ['a/b/model.json', 'a/b/weights.bin', 'a/c.jsonl']);
      assert.deepEqual(await store.list('a/b'), ['a/b/model.json', 'a/b/weights.bin']);
      assert.deepEqual(await store.list(''), ['a/b/model.json', 'a/b/weights.bin', 'a/c.jsonl', 'z']);
      await assert.rejects(store.get('a/missing'), (err) => err instanceof MissingArtefactError && /a\/missing/.test(err.message));
      await store.delete('a/c.jsonl');
      await store.delete('a/c.jsonl'); // deleting what is gone is not an error
      assert.equal(await store.exists('a/c.jsonl'), false);
      assert.deepEqual(await store.list('a/'), ['a/b/model.json', 'a/b/weights.bin']);
      await assert.rejects(store.put('../escape', 'x'), /invalid artefact key/);
    });

    test('idempotent by key: a re-put leaves one object, the last one written', async () => {
      const store = backend.open();
      const first = randomBytes(4096);
      await store.put('ckpt/weights.bin', first);
      await store.put('ckpt/weights.bin', first);
      assert.deepEqual(await store.list('ckpt/'), ['ckpt/weights.bin']);
      assert.deepEqual(await store.get('ckpt/weights.bin'), first);
      const second = randomBytes(100);
      await store.put('ckpt/weights.bin', second);
      assert.deepEqual(await store.list('ckpt/'), ['ckpt/weights.bin']);
      assert.deepEqual(await store.get('ckpt/weights.bin'), second);
    });

    test(
      'atomic: a reader polling during a large put sees nothing, then the old object or the new one, whole',
      { timeout: 120_000, skip: backend.blocking && 'a blocking put lets no reader in this thread run; see below' },
      async () => {
        const store = backend.open();
        const old = randomBytes(2 * MiB);
        const big = randomBytes(24 * MiB);
        const seen = { missing: 0, old: 0, whole: 0 };
        const poll = async (key: string, done: () => boolean, allowed: Map<string, keyof typeof seen>) => {
          while (!done()) {
            let got: Buffer;
            try {
              got = await store.get(key);
            } catch (err) {
              assert.ok(err instanceof MissingArtefactError, `only "missing" may fail a read: ${String(err)}`);
              seen.missing++;
              continue;
            }
            const what = allowed.get(sha(got));
            assert.ok(what, `a read returned ${got.length} bytes that are neither object (partial write visible)`);
            seen[what]++;
          }
        };
        // A new key: missing until the put completes, then whole.
        let finished = false;
        const put = store.put('big/new.bin', big).finally(() => (finished = true));
        await Promise.all([put, poll('big/new.bin', () => finished, new Map([[sha(big), 'whole' as const]]))]);
        assert.ok(seen.missing > 0, 'the reader polled while the put was in flight');
        // An existing key overwritten: the old object until the new one is complete.
        await store.put('big/over.bin', old);
        finished = false;
        const over = store.put('big/over.bin', big).finally(() => (finished = true));
        await Promise.all([
          over,
          poll(
            'big/over.bin',
            () => finished,
            new Map([
              [sha(old), 'old' as const],
              [sha(big), 'whole' as const],
            ]),
          ),
        ]);
        assert.ok(seen.old > 0, 'the reader saw the old object while the new one was being written');
        assert.equal(sha(await store.get('big/over.bin')), sha(big));
        assert.deepEqual(await store.list('big/'), ['big/new.bin', 'big/over.bin'], 'no temporary object is listed');
      },
    );
  });
}

describe('s3 store set-up errors', { skip: s3Missing }, () => {
  const nonRetryable = STAGE_OPTIONS.update.retry!.nonRetryableErrorTypes!;
  /** How the campaign's retry policy treats an activity that fails with `err`. */
  const retried = (err: Error) => !nonRetryable.includes(ensureApplicationFailure(err).type!);

  test('a missing bucket is named, with what to do, and is not retried', async () => {
    const store = openStore(s3Config({ bucket: 'no-such-bucket' }));
    const check = (err: unknown) => {
      assert.ok(err instanceof ObjectStoreSetupError, String(err));
      assert.equal(err.message, `bucket no-such-bucket does not exist at endpoint ${s3!.endpoint}: create it or fix store.bucket`);
      assert.equal(retried(err), false);
      return true;
    };
    await assert.rejects(store.put('k', 'v'), check);
    await assert.rejects(store.exists('k'), check, 'exists() does not answer "false" for a missing bucket');
    await assert.rejects(store.list(''), check);
  });

  test('refused credentials are named and not retried', async () => {
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret';
    try {
      const store = new S3Store(s3Config());
      await assert.rejects(store.put('k', 'v'), (err) => {
        assert.ok(err instanceof ObjectStoreSetupError, String(err));
        assert.match(err.message, /refused bucket contract \(HTTP 403\): check AWS_ACCESS_KEY_ID \/ AWS_SECRET_ACCESS_KEY/);
        assert.equal(retried(err), false);
        return true;
      });
      store.close();
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = saved;
    }
  });

  test('an endpoint that is down fails retryably; the same put succeeds once it is back', { timeout: 60_000 }, async () => {
    const store = new S3Store(s3Config({ prefix: 'down' }));
    await store.put('before', 'x'); // the bucket check is behind us: the failure below is the put itself
    await s3!.stop();
    try {
      const body = randomBytes(64 * 1024);
      await assert.rejects(store.put('ckpt/weights.bin', body), (err) => {
        assert.ok(err instanceof ObjectStoreUnavailableError, String(err));
        assert.match(err.message, new RegExp(`the object store at ${s3!.endpoint} is unavailable \\(put 'ckpt/weights.bin'\\)`));
        assert.equal(retried(err), true);
        return true;
      });
      await assert.rejects(store.get('before'), ObjectStoreUnavailableError);
      await s3!.start();
      await store.put('ckpt/weights.bin', body);
      assert.deepEqual(await store.get('ckpt/weights.bin'), body);
      assert.deepEqual(await store.list('ckpt/'), ['ckpt/weights.bin']);
    } finally {
      await s3!.start().catch(() => {});
    }
  });
});

// A blocking put holds its thread, so the reader polls from another thread, reading the files as another process would.
const POLLER = `
const { workerData, parentPort } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
const flags = new Int32Array(workerData.flags); // [stop, rounds polled]
const seen = workerData.paths.map(() => ({}));
while (Atomics.load(flags, 0) === 0) {
  workerData.paths.forEach((path, i) => {
    let what;
    try { what = createHash('sha256').update(readFileSync(path)).digest('hex'); }
    catch (err) { if (err.code !== 'ENOENT') throw err; what = 'missing'; }
    seen[i][what] = (seen[i][what] ?? 0) + 1;
  });
  Atomics.add(flags, 1, 1);
}
parentPort.postMessage(seen);`;

test('local (blocking) store is atomic too: a reader in another thread sees nothing, then the old object or the new one, whole', async () => {
  const root = tempDir('pivotrl-contract-');
  const store = new LocalStore(root, { blocking: true });
  const old = randomBytes(2 * MiB);
  const big = randomBytes(24 * MiB);
  const flags = new Int32Array(new SharedArrayBuffer(8));
  // Two more rounds: the second of them started after the last put and ended before the next one.
  const twoRounds = async () => {
    const from = Atomics.load(flags, 1);
    while (Atomics.load(flags, 1) < from + 2) await sleep(1);
  };
  const poller = new Worker(POLLER, {
    eval: true,
    workerData: { flags: flags.buffer, paths: ['big/new.bin', 'big/over.bin'].map((k) => join(root, k)) },
  });
  const seen = new Promise<Record<string, number>[]>((resolve, reject) => poller.once('message', resolve).once('error', reject));
  await twoRounds();
  await store.put('big/new.bin', big);
  await store.put('big/over.bin', old);
  await twoRounds();
  await store.put('big/over.bin', big);
  await twoRounds();
  Atomics.store(flags, 0, 1);
  const [atNew, atOver] = await seen;
  await poller.terminate();
  assert.ok(atNew.missing > 0 && atNew[sha(big)] > 0, `the reader saw the new key missing, then written: ${JSON.stringify(atNew)}`);
  assert.deepEqual(Object.keys(atNew).sort(), ['missing', sha(big)].sort(), 'nothing but missing or the whole object');
  assert.ok(atOver[sha(old)] > 0, 'the reader saw the old object');
  for (const what of Object.keys(atOver)) assert.ok(['missing', sha(old), sha(big)].includes(what), 'a partial object was visible');
  assert.deepEqual(await store.list('big/'), ['big/new.bin', 'big/over.bin'], 'no temporary object is listed');
});
