// Benchmark of the artefact store backends on checkpoints (run: `npx tsx bench/store.ts [--rounds 10]`).
//
// The shipped pi0 with its AdamW moments (what every update step writes) is saved, hashed and loaded `rounds` times
// on S3 (a versitygw started here on a free 127.0.0.1 port, posix backend in a temp dir) and, as the baseline in
// the same run, on a local directory. Prints the median milliseconds per operation, S3/local ratios, and the
// object-store bytes of one checkpoint (with and without the moments). The last line printed is one JSON object.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../policy/backend';
import { checkpointHash, importCheckpointDir, loadCheckpoint, saveCheckpoint } from '../policy/checkpoint';
import { disposeModel } from '../policy/model';
import { disposeAdam } from '../policy/train';
import { LocalStore, S3Store, S3StoreConfig, type ArtefactStore } from '../store';
import { PI0 } from '../harness/campaign';
import { startVersitygw } from '../harness/versitygw';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '10' } } });
const rounds = Number(values.rounds);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn: () => Promise<unknown>) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};
const bytesUnder = async (store: ArtefactStore, prefix: string) => {
  let n = 0;
  for (const key of await store.list(`${prefix}/`)) n += (await store.get(key)).length;
  return n;
};

interface Result {
  save_ms: number;
  hash_ms: number;
  load_ms: number;
  checkpoint_bytes: number;
  pi0_bytes: number;
}

async function measure(store: ArtefactStore): Promise<Result> {
  await importCheckpointDir(PI0, store, 'pi0');
  const tr = await loadCheckpoint(store, 'pi0');
  const save: number[] = [];
  const hash: number[] = [];
  const load: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const prefix = `bench/step-${i}`;
    save.push(await time(() => saveCheckpoint(store, prefix, tr)));
    hash.push(await time(() => checkpointHash(store, prefix)));
    load.push(
      await time(async () => {
        const back = await loadCheckpoint(store, prefix);
        disposeModel(back.model);
        disposeAdam(back.adam);
      }),
    );
  }
  const result = {
    save_ms: median(save),
    hash_ms: median(hash),
    load_ms: median(load),
    checkpoint_bytes: await bytesUnder(store, 'bench/step-0'),
    pi0_bytes: await bytesUnder(store, 'pi0'),
  };
  disposeModel(tr.model);
  disposeAdam(tr.adam);
  return result;
}

const backend = await initBackend(() => {});
const dir = mkdtempSync(join(tmpdir(), 'pivotrl-bench-store-'));
const s3 = await startVersitygw();
try {
  Object.assign(process.env, s3.env);
  await s3.createBucket('bench');
  const local = await measure(new LocalStore(dir));
  const s3Store = new S3Store(S3StoreConfig.parse({ kind: 's3', bucket: 'bench', endpoint: s3.endpoint }));
  const remote = await measure(s3Store);
  s3Store.close();
  const ratio = (k: 'save_ms' | 'hash_ms' | 'load_ms') => Number((remote[k] / local[k]).toFixed(2));
  const fmt = (r: Result) => `save ${r.save_ms.toFixed(1)} ms, hash ${r.hash_ms.toFixed(1)} ms, load ${r.load_ms.toFixed(1)} ms`;
  console.log(`backend ${backend}, ${rounds} rounds, medians`);
  console.log(`local: ${fmt(local)}`);
  console.log(`s3:    ${fmt(remote)}  (versitygw posix on the same disk)`);
  console.log(`s3/local: save x${ratio('save_ms')}, hash x${ratio('hash_ms')}, load x${ratio('load_ms')}`);
  console.log(`bytes per checkpoint: ${remote.checkpoint_bytes} with AdamW moments, ${remote.pi0_bytes} for pi0 as shipped`);
  console.log(
    JSON.stringify({
      bench: 'store',
      rounds,
      local,
      s3: remote,
      ratio_s3_over_local: { save: ratio('save_ms'), hash: ratio('hash_ms'), load: ratio('load_ms') },
      tensors_left: tf.memory().numTensors,
    }),
  );
} finally {
  await s3.stop();
  rmSync(dir, { recursive: true, force: true });
}
