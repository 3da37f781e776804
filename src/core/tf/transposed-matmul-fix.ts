import * as tf from '@tensorflow/tfjs';

type KernelConfig = ReturnType<typeof tf.getKernel> & object;
type KernelFunc = KernelConfig['kernelFunc'];
type TensorInfo = { dataId: object; shape: number[]; dtype: string };
type DisposableBackend = { disposeData(dataId: object): void };

const BACKEND = 'wasm';
let original: KernelConfig | undefined;

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

/**
 * On the wasm backend, BatchMatMul with transposeA/transposeB takes a path about 13x slower than the plain
 * multiply, and the gradients of every dense/recurrent layer use it. Transposing the operand explicitly with
 * the wasm Transpose kernel and then multiplying plainly gives the same numbers 3-4x faster overall.
 */
function transposingKernel(batchMatMul: KernelFunc, transpose: KernelFunc): KernelFunc {
  return (args) => {
    const { transposeA, transposeB } = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    if (!transposeA && !transposeB) return batchMatMul(args);
    const backend = args.backend as unknown as DisposableBackend;
    const temporaries: TensorInfo[] = [];
    const explicit = (input: TensorInfo): TensorInfo => {
      const out = transpose({ inputs: { x: input } as never, backend: args.backend, attrs: { perm: swapLastTwo(input.shape.length) } }) as unknown as TensorInfo;
      temporaries.push(out);
      return out;
    };
    const inputs = args.inputs as unknown as { a: TensorInfo; b: TensorInfo };
    try {
      return batchMatMul({
        ...args,
        inputs: { a: transposeA ? explicit(inputs.a) : inputs.a, b: transposeB ? explicit(inputs.b) : inputs.b } as never,
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const temporary of temporaries) backend.disposeData(temporary.dataId);
    }
  };
}

/** Replaces the wasm BatchMatMul kernel with the transposing wrapper; idempotent. */
export function installTransposedMatMulFix(): void {
  if (original) return;
  const batchMatMul = tf.getKernel('BatchMatMul', BACKEND);
  const transpose = tf.getKernel('Transpose', BACKEND);
  if (!batchMatMul || !transpose) throw new Error('the wasm backend has no BatchMatMul/Transpose kernel to patch');
  original = batchMatMul;
  tf.unregisterKernel('BatchMatMul', BACKEND);
  tf.registerKernel({ ...batchMatMul, kernelFunc: transposingKernel(batchMatMul.kernelFunc, transpose.kernelFunc) });
}

/** Restores the stock kernel (benchmarks and tests compare both). */
export function uninstallTransposedMatMulFix(): void {
  if (!original) return;
  tf.unregisterKernel('BatchMatMul', BACKEND);
  tf.registerKernel(original);
  original = undefined;
}

export function isTransposedMatMulFixInstalled(): boolean {
  return original !== undefined;
}
