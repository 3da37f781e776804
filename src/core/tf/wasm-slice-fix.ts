import * as tf from '@tensorflow/tfjs';

type KernelConfig = ReturnType<typeof tf.getKernel> & object;
type TensorInfo = { dataId: object; shape: number[]; dtype: string };
interface WasmBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(tensor: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

const BACKEND = 'wasm';
let original: KernelConfig | undefined;
let originalUnpack: KernelConfig | undefined;

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

/**
 * The wasm backend's Unpack (tf.unstack, which a recurrent layer runs over its input's time steps) calls its
 * own Slice function, not the registered kernel, so it copied the whole input once per time step: a forward
 * pass over 600-row windows spent most of its time there, quadratic in the window length. This one slices
 * each step through the heap-view Slice.
 */
function viewUnpack(slice: KernelConfig['kernelFunc']): KernelConfig['kernelFunc'] {
  return (args) => {
    const value = (args.inputs as { value: TensorInfo }).value;
    let axis = (args.attrs as { axis: number }).axis;
    if (axis < 0) axis += value.shape.length;
    const outShape = value.shape.filter((_, i) => i !== axis);
    const begin = value.shape.map(() => 0);
    const size = [...value.shape];
    size[axis] = 1;
    return Array.from({ length: value.shape[axis] }, (_, i) => {
      begin[axis] = i;
      const out = slice({ inputs: { x: value as never }, attrs: { begin: [...begin], size }, backend: args.backend }) as unknown as TensorInfo;
      return { dataId: out.dataId, dtype: out.dtype, shape: outShape };
    }) as never;
  };
}

/** Replaces the wasm Slice and Unpack kernels with the heap-view versions; idempotent. */
export function installWasmSliceFix(): void {
  if (original) return;
  const slice = tf.getKernel('Slice', BACKEND);
  const unpack = tf.getKernel('Unpack', BACKEND);
  if (!slice || !unpack) throw new Error('the wasm backend has no Slice or Unpack kernel to patch');
  original = slice;
  originalUnpack = unpack;
  const fixedSlice = viewSlice(slice.kernelFunc);
  tf.unregisterKernel('Slice', BACKEND);
  tf.registerKernel({ ...slice, kernelFunc: fixedSlice });
  tf.unregisterKernel('Unpack', BACKEND);
  tf.registerKernel({ ...unpack, kernelFunc: viewUnpack(fixedSlice) });
}

export function uninstallWasmSliceFix(): void {
  if (!original || !originalUnpack) return;
  tf.unregisterKernel('Slice', BACKEND);
  tf.registerKernel(original);
  tf.unregisterKernel('Unpack', BACKEND);
  tf.registerKernel(originalUnpack);
  original = undefined;
  originalUnpack = undefined;
}
