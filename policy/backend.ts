// Chooses the TensorFlow.js backend at start-up: tfjs-node-gpu, tfjs-node, wasm, cpu (first that loads).
// Set PIVOTRL_TF_BACKEND=wasm|cpu|tfjs-node|tfjs-node-gpu to force one.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type * as tfc from '@tensorflow/tfjs-core';

export type BackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];
/** Backends that count as an accelerator for the GPU worker. */
export const ACCELERATORS: readonly BackendName[] = ['tfjs-node-gpu'];

let chosen: Promise<BackendName> | undefined;

/** Initialises the first backend that works (once per thread) and returns its name. */
export function initBackend(log: (msg: string) => void = console.log): Promise<BackendName> {
  chosen ??= choose(log);
  return chosen;
}

async function choose(log: (msg: string) => void): Promise<BackendName> {
  const tf = await import('@tensorflow/tfjs-core');
  const forced = process.env.PIVOTRL_TF_BACKEND as BackendName | undefined;
  if (forced && !BACKEND_ORDER.includes(forced)) throw new Error(`PIVOTRL_TF_BACKEND=${forced}: use one of ${BACKEND_ORDER.join(', ')}`);
  const order = forced ? [forced] : BACKEND_ORDER;
  const failures: string[] = [];
  for (const name of order) {
    try {
      if (await tryBackend(tf, name)) {
        log(`tensorflow.js backend: ${name}${failures.length ? ` (skipped: ${failures.join('; ')})` : ''}`);
        return name;
      }
      failures.push(`${name}: setBackend returned false`);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no tensorflow.js backend could start: ${failures.join('; ')}`);
}

async function tryBackend(tf: typeof import('@tensorflow/tfjs-core'), name: BackendName): Promise<boolean> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node': {
      const pkg = `@tensorflow/${name}`; // a variable, so the type checker does not need the package
      await import(pkg);
      return tf.setBackend('tensorflow');
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const require = createRequire(import.meta.url);
      wasm.setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/');
      if (!(await tf.setBackend('wasm'))) return false;
      fastWasmSlice(tf);
      fastWasmSplit(tf);
      return true;
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return tf.setBackend('cpu');
  }
}

/** The GPU worker refuses to run generation/updates on a CPU backend unless explicitly allowed. */
export function assertAcceleratorOrAllowed(backend: string, allowCpu: boolean): void {
  if (ACCELERATORS.includes(backend as BackendName) || allowCpu) return;
  throw new Error(
    `policy backend is '${backend}', not an accelerator (${ACCELERATORS.join(', ')}); ` +
      'install @tensorflow/tfjs-node-gpu on a CUDA machine, or allow CPU explicitly',
  );
}

/**
 * The wasm backend's Slice copies the WHOLE input out of the heap (backend.readSync) before taking the slice,
 * so n slices of a tensor cost n full copies (a [180,150,150] tensor cut into 180 pieces: ~0.9 s). This kernel
 * reads the input in place; the attention of policy/model.ts slices per (row, head) and depends on it.
 */
function fastWasmSlice(tf: typeof tfc): void {
  const original = tf.getKernel('Slice', 'wasm');
  if (!original) return;
  type WasmBackend = {
    makeOutput(shape: number[], dtype: string): tfc.TensorInfo;
    typedArrayFromHeap(t: tfc.TensorInfo): Float32Array | Int32Array | Uint8Array;
  };
  replaceWasmKernel(tf, 'Slice', (args) => {
    const x = args.inputs.x as tfc.TensorInfo;
    if (x.dtype === 'string') return original.kernelFunc(args);
    const { begin, size } = args.attrs as unknown as { begin: number[]; size: number[] };
    const backend = args.backend as unknown as WasmBackend;
    const [b, s] = tf.slice_util.parseSliceParams(x as tfc.Tensor, begin, size);
    const out = backend.makeOutput(s, x.dtype);
    // Views taken after makeOutput (an allocation may grow and move the heap).
    const xv = backend.typedArrayFromHeap(x);
    const ov = backend.typedArrayFromHeap(out);
    const strides = tf.util.computeStrides(x.shape);
    if (tf.slice_util.isSliceContinous(x.shape, b, s)) {
      const off = tf.slice_util.computeFlatOffset(b, strides);
      ov.set(xv.subarray(off, off + ov.length));
      return out;
    }
    // Copy runs along the last axis, walking the other axes like an odometer.
    const rank = s.length;
    const run = s[rank - 1];
    const idx = new Array(rank - 1).fill(0);
    for (let o = 0; o < ov.length; o += run) {
      let off = b[rank - 1];
      for (let d = 0; d < rank - 1; d++) off += (b[d] + idx[d]) * strides[d];
      ov.set(xv.subarray(off, off + run), o);
      for (let d = rank - 2; d >= 0; d--) {
        if (++idx[d] < s[d]) break;
        idx[d] = 0;
      }
    }
    return out;
  });
}

/**
 * The wasm backend's SplitV calls its own Slice per piece (a copy of the WHOLE input each); this one takes the pieces
 * with the Slice kernel above: one kernel call for what would be n slices (the decoder's per-prompt rows).
 */
function fastWasmSplit(tf: typeof tfc): void {
  const slice = tf.getKernel('Slice', 'wasm')?.kernelFunc;
  if (!slice || !tf.getKernel('SplitV', 'wasm')) return;
  replaceWasmKernel(tf, 'SplitV', (args) => {
    const x = args.inputs.x as tfc.TensorInfo;
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const at = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tfc.Tensor, numOrSizeSplits, at);
    const begin = x.shape.map(() => 0);
    return sizes.map((n) => {
      const size = x.shape.map((d, i) => (i === at ? n : d));
      const piece = slice({ ...args, attrs: { begin: [...begin], size } }) as tfc.TensorInfo;
      begin[at] += n;
      return piece;
    });
  });
}

function replaceWasmKernel(tf: typeof tfc, kernelName: string, kernelFunc: tfc.KernelFunc): void {
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
}
