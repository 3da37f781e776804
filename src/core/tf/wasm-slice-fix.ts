import * as tf from '@tensorflow/tfjs';

type KernelConfig = ReturnType<typeof tf.getKernel> & object;
type TensorInfo = { dataId: object; shape: number[]; dtype: string };
interface WasmBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(tensor: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

const BACKEND = 'wasm';
let original: KernelConfig | undefined;

/**
 * The wasm backend's Slice reads its input with readSync, which copies the WHOLE input out of the wasm heap
 * for every slice: taking one time step out of a [steps * batch, 4 units] matrix copied all steps. This
 * kernel reads the input through a heap view instead (same result, cost proportional to the slice).
 */
function viewSlice(fallback: KernelConfig['kernelFunc']): KernelConfig['kernelFunc'] {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    const backend = args.backend as unknown as WasmBackend;
    const attrs = args.attrs as { begin: number | number[]; size?: number | number[] };
    if (x.dtype === 'string' || x.shape.length < 1 || x.shape.length > 4) return fallback(args);
    const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs.begin, attrs.size);
    // Allocate first: growing the heap detaches earlier views of it.
    const out = backend.makeOutput(size, x.dtype);
    const total = size.reduce((a, b) => a * b, 1);
    if (total === 0) return out as never;
    const input = backend.typedArrayFromHeap(x);
    const output = backend.typedArrayFromHeap(out);
    const strides = tf.util.computeStrides(x.shape);
    if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
      const offset = tf.slice_util.computeFlatOffset(begin, strides);
      output.set(input.subarray(offset, offset + total));
      return out as never;
    }
    // Copy runs along the last axis, iterating the outer axes (rank <= 4).
    const rank = x.shape.length;
    const full = [...Array(4 - rank).fill(1), ...size];
    const start = [...Array(4 - rank).fill(0), ...begin];
    const stride = [...Array(4 - rank).fill(0), ...strides, 1];
    const run = full[3];
    let at = 0;
    for (let i = 0; i < full[0]; i++) {
      for (let j = 0; j < full[1]; j++) {
        for (let k = 0; k < full[2]; k++) {
          const from = (start[0] + i) * stride[0] + (start[1] + j) * stride[1] + (start[2] + k) * stride[2] + start[3];
          output.set(input.subarray(from, from + run), at);
          at += run;
        }
      }
    }
    return out as never;
  };
}

/** Replaces the wasm Slice kernel with the heap-view version; idempotent. */
export function installWasmSliceFix(): void {
  if (original) return;
  const slice = tf.getKernel('Slice', BACKEND);
  if (!slice) throw new Error('the wasm backend has no Slice kernel to patch');
  original = slice;
  tf.unregisterKernel('Slice', BACKEND);
  tf.registerKernel({ ...slice, kernelFunc: viewSlice(slice.kernelFunc) });
}

export function uninstallWasmSliceFix(): void {
  if (!original) return;
  tf.unregisterKernel('Slice', BACKEND);
  tf.registerKernel(original);
  original = undefined;
}
