import * as tf from '@tensorflow/tfjs';

/**
 * tanh(z) = 2 sigmoid(2z) - 1. The wasm backend's sigmoid is vectorised and its tanh is not (about 10x
 * slower), so every tanh of the fused path goes through sigmoid.
 */
export function tanhViaSigmoid(z: tf.Tensor, k: Constants): tf.Tensor {
  return tf.sub(tf.mul(tf.sigmoid(tf.add(z, z)), k.two), k.one);
}

/** Scalars made once per pass: a number operand would upload a new scalar tensor on every op. */
export interface Constants {
  one: tf.Scalar;
  two: tf.Scalar;
}

export function constants(): Constants {
  return { one: tf.scalar(1), two: tf.scalar(2) };
}

/** A [blocks * units] row vector with `value` on block `block` and 1 elsewhere (per-gate column scale). */
export function blockScale(blocks: number, units: number, block: number, value: number): tf.Tensor1D {
  const data = new Float32Array(blocks * units).fill(1);
  data.fill(value, block * units, (block + 1) * units);
  return tf.tensor1d(data);
}

/** Rows [t * batch, (t + 1) * batch) of a time-major [steps * batch, width] matrix. */
export function stepRows(matrix: tf.Tensor2D, t: number, batch: number): tf.Tensor2D {
  return tf.slice(matrix, [t * batch, 0], [batch, matrix.shape[1]]);
}

/** Columns [block * units, (block + 1) * units) of a [rows, blocks * units] matrix. */
export function block(matrix: tf.Tensor2D, index: number, units: number): tf.Tensor2D {
  return tf.slice(matrix, [0, index * units], [matrix.shape[0], units]);
}

/**
 * Weight gradients input^T x dOut over all steps at once. The transpose is explicit (the transposed
 * BatchMatMul path is far slower on wasm) and of `input`, the smaller operand.
 */
export function weightGradient(input: tf.Tensor2D, dOut: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(tf.transpose(input), dOut);
}

/** Column sums of dOut (the bias gradient) as ones x dOut: a tenth of the time of the wasm Sum reduction. */
export function biasGradient(dOut: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(tf.matMul(tf.ones([1, dOut.shape[0]]), dOut), [dOut.shape[1]]);
}
