// Checkpoints in the artefact store, through a TensorFlow.js IO handler:
//   <prefix>/model.json   config, tokenizer, step counters, weights manifest (tf.io format)
//   <prefix>/weights.bin  float32 parameters, then the AdamW moments (optional)
//   <prefix>/SHA256       `sha256sum -c` manifest of the two files, written last: a checkpoint exists once its
//                         manifest does, and loading checks both files against it.
// The checkpoint hash is the sha256 of that manifest text: same seed + same steps -> same hash.
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { ArtefactStore, getText } from '../store';
import { makeModel, namedParams, paramsFrom } from './model';
import { ModelConfig } from './schemas';
import { tokenizerByName } from './tokenizer';
import { Trainee, zeroAdam } from './train';

export const CHECKPOINT_FORMAT = 'pivotrl-policy-v1';
const MODEL = 'model.json';
const WEIGHTS = 'weights.bin';
const MANIFEST = 'SHA256';

const Topology = z.object({ config: ModelConfig, tokenizer: z.string() });
const Metadata = z.object({
  /** Optimiser steps of this lineage. */
  step: z.number().int().min(0),
  /** Steps the stored AdamW moments have seen (0 when none are stored). */
  adamStep: z.number().int().min(0),
  optimizer: z.boolean(),
});

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const manifestOf = (json: Uint8Array | string, weights: Uint8Array) => `${sha256(json)}  ${MODEL}\n${sha256(weights)}  ${WEIGHTS}\n`;

/** Throws, naming the file, unless every file the manifest lists is present with that SHA-256 and both files are listed. */
function verifyManifest(where: string, manifest: string, files: Map<string, Uint8Array>): void {
  const listed = new Set<string>();
  for (const line of manifest.split('\n').filter(Boolean)) {
    const [hash, name] = line.split(/\s+\*?/);
    listed.add(name);
    const data = files.get(name);
    if (!data) throw new Error(`${where}: ${name}, listed in its ${MANIFEST} manifest, is missing`);
    if (sha256(data) !== hash) {
      throw new Error(
        `${where}: ${name} does not match its SHA-256 in ${MANIFEST} (the checkpoint is corrupt or was changed after it was written)`,
      );
    }
  }
  for (const name of [MODEL, WEIGHTS]) if (!listed.has(name)) throw new Error(`${where}: ${MANIFEST} does not list ${name}`);
}

/** Writes a checkpoint's two files, then (unless `beforePublish` throws) its manifest. Returns the checkpoint hash. */
async function writeCheckpoint(store: ArtefactStore, prefix: string, a: tf.io.ModelArtifacts, beforePublish: () => void): Promise<string> {
  const data = a.weightData!;
  // One buffer is used as it is (join copies it: milliseconds per MB here).
  const weights = new Uint8Array(data instanceof ArrayBuffer ? data : tf.io.CompositeArrayBuffer.join(data));
  const json = JSON.stringify({
    format: a.format,
    generatedBy: a.generatedBy,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS], weights: a.weightSpecs }],
    userDefinedMetadata: a.userDefinedMetadata,
  });
  await store.put(`${prefix}/${WEIGHTS}`, weights);
  await store.put(`${prefix}/${MODEL}`, json);
  beforePublish(); // the last moment to give up: without its manifest the checkpoint does not exist
  const manifest = manifestOf(json, weights);
  await store.put(`${prefix}/${MANIFEST}`, manifest);
  return sha256(manifest); // what checkpointHash reads back from the stored bytes
}

/** A tf.io.IOHandler that reads and writes one checkpoint under `prefix` in the store. */
export function storeIOHandler(store: ArtefactStore, prefix: string, beforePublish: () => void = () => {}): tf.io.IOHandler {
  return {
    async save(a: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await writeCheckpoint(store, prefix, a, beforePublish);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const text = await store.get(`${prefix}/${MODEL}`);
      const buf = await store.get(`${prefix}/${WEIGHTS}`);
      verifyManifest(
        prefix,
        await getText(store, `${prefix}/${MANIFEST}`),
        new Map([
          [MODEL, text],
          [WEIGHTS, buf],
        ]),
      );
      const json = JSON.parse(text.toString('utf8'));
      return {
        format: json.format,
        generatedBy: json.generatedBy,
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer,
        userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
}

/**
 * Saves parameters (and by default the AdamW moments) and the step counters. Returns the checkpoint hash.
 * `beforePublish` runs just before the manifest is written and may throw to leave the checkpoint unpublished.
 */
export async function saveCheckpoint(
  store: ArtefactStore,
  prefix: string,
  tr: Trainee,
  o: { optimizer?: boolean; beforePublish?: () => void } = {},
): Promise<string> {
  const withOpt = o.optimizer ?? true;
  const named: Record<string, tf.Tensor> = {};
  namedParams(tr.model.params).forEach(([name, v], i) => {
    named[name] = v;
    if (withOpt) {
      named[`adam.m.${name}`] = tr.adam.m[i];
      named[`adam.v.${name}`] = tr.adam.v[i];
    }
  });
  const { data, specs } = encodeFloat32(named);
  return writeCheckpoint(
    store,
    prefix,
    {
      format: CHECKPOINT_FORMAT,
      generatedBy: 'pivotrl policy/checkpoint.ts',
      modelTopology: Topology.parse({ config: tr.model.config, tokenizer: tr.model.tokenizer.name }),
      weightSpecs: specs,
      weightData: data,
      userDefinedMetadata: Metadata.parse({ step: tr.step, adamStep: withOpt ? tr.adam.t : 0, optimizer: withOpt }),
    },
    o.beforePublish ?? (() => {}),
  );
}

/**
 * The bytes and specs tf.io.encodeWeights gives for float32 tensors, read synchronously into one buffer: its per-tensor
 * promises and final concatenation took most of a small model's save, which the optimiser step waits for.
 */
function encodeFloat32(named: Record<string, tf.Tensor>): { data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] } {
  const entries = Object.entries(named);
  const out = new Float32Array(entries.reduce((n, [, t]) => n + t.size, 0));
  let offset = 0;
  const specs = entries.map(([name, t]) => {
    if (t.dtype !== 'float32') throw new Error(`checkpoint tensor ${name}: dtype ${t.dtype}, want float32`);
    out.set(t.dataSync() as Float32Array, offset);
    offset += t.size;
    return { name, shape: t.shape, dtype: t.dtype };
  });
  return { data: out.buffer, specs };
}

/** Loads a checkpoint into new variables (AdamW moments zero when the checkpoint has none). */
export async function loadCheckpoint(store: ArtefactStore, prefix: string): Promise<Trainee> {
  const a = await storeIOHandler(store, prefix).load!();
  if (a.format !== CHECKPOINT_FORMAT) throw new Error(`${prefix}: not a policy checkpoint (format '${a.format}')`);
  const topo = Topology.parse(a.modelTopology);
  const meta = Metadata.parse(a.userDefinedMetadata);
  const named = tf.io.decodeWeights(a.weightData!, a.weightSpecs!);
  const model = makeModel(topo.config, tokenizerByName(topo.tokenizer), paramsFrom(topo.config, named));
  let adam = zeroAdam(model);
  if (meta.optimizer) {
    tf.dispose([...adam.m, ...adam.v]);
    const names = namedParams(model.params).map(([n]) => n);
    const moment = (kind: 'm' | 'v') =>
      names.map((n) => {
        const t = named[`adam.${kind}.${n}`];
        if (!t) throw new Error(`${prefix}: missing optimiser state adam.${kind}.${n}`);
        return tf.variable(t, false);
      });
    adam = { m: moment('m'), v: moment('v'), t: meta.adamStep };
  }
  // paramsFrom/tf.variable copied what they kept; free the decoded tensors.
  tf.dispose(Object.values(named));
  return { model, adam, step: meta.step };
}

/** True once the checkpoint is published: its manifest, written after both files, exists. */
export async function checkpointExists(store: ArtefactStore, prefix: string): Promise<boolean> {
  return store.exists(`${prefix}/${MANIFEST}`);
}

/** sha256 of the checkpoint's `sha256sum` manifest, computed from the stored bytes. */
export async function checkpointHash(store: ArtefactStore, prefix: string): Promise<string> {
  const json = await store.get(`${prefix}/${MODEL}`);
  const weights = await store.get(`${prefix}/${WEIGHTS}`);
  return sha256(manifestOf(json, weights));
}

/** Copies a checkpoint folder (e.g. the shipped models/pi0) into the store; verifies its SHA256 manifest. */
export async function importCheckpointDir(dir: string, store: ArtefactStore, prefix: string): Promise<string> {
  const files = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  if (!files.includes(MODEL) || !files.includes(WEIGHTS)) throw new Error(`${dir}: no ${MODEL} + ${WEIGHTS}`);
  const bytes = new Map(await Promise.all(files.map(async (f) => [f, await readFile(join(dir, f))] as const)));
  const shipped = bytes.get(MANIFEST)?.toString('utf8');
  if (shipped !== undefined) verifyManifest(dir, shipped, bytes);
  const manifest = shipped ?? manifestOf(bytes.get(MODEL)!, bytes.get(WEIGHTS)!);
  bytes.delete(MANIFEST);
  for (const [f, data] of bytes) await store.put(`${prefix}/${f}`, data);
  await store.put(`${prefix}/${MANIFEST}`, manifest);
  return checkpointHash(store, prefix);
}
