import * as tf from '@tensorflow/tfjs';
import { multiply, multiplySigmoid, multiplyTransposedA, sigmoid, transposedTensor } from '../tf/host-ops.js';
import type { HeldMatrix, MatrixOps } from './matrix-ops.js';

interface TfjsMatrix extends HeldMatrix {
  readonly tensor: tf.Tensor2D;
}

/** MatrixOps on the current tfjs backend's kernels (XNNPACK on wasm); held matrices are tensors. */
export function createTfjsOps(): MatrixOps {
  const wrap = (tensor: tf.Tensor2D): TfjsMatrix => ({ rows: tensor.shape[0], columns: tensor.shape[1], tensor });
  return {
    name: 'tfjs',
    hold: (values, rows, columns) => wrap(tf.tensor2d(values.subarray(0, rows * columns), [rows, columns])),
    holdTransposed: (values, rows, columns) => wrap(transposedTensor(values.subarray(0, rows * columns), rows, columns)),
    release: (matrices) => tf.dispose((matrices as readonly TfjsMatrix[]).map((m) => m.tensor)),
    multiply: (a, rows, b) => multiply(a, rows, (b as TfjsMatrix).tensor),
    multiplySigmoid: (a, rows, b) => multiplySigmoid(a, rows, (b as TfjsMatrix).tensor).activated,
    multiplyTransposedA,
    sigmoid,
  };
}
