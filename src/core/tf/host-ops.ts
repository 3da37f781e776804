import * as tf from '@tensorflow/tfjs';

/**
 * tfjs kernels applied to plain Float32Arrays: upload, run, read back, free. The recurrent fast paths keep
 * their state in JS arrays and hand tfjs only the work it does far better (XNNPACK multiplies, the
 * vectorised sigmoid). Tensors are disposed by hand, not by tf.tidy, which would walk every element of a
 * returned array looking for tensors.
 */

/** a [rows, k] x b, read back. */
export function multiply(a: Float32Array, rows: number, b: tf.Tensor2D): Float32Array {
  const x = tf.tensor2d(a, [rows, a.length / rows]);
  const product = tf.matMul(x, b);
  try {
    return product.dataSync() as Float32Array;
  } finally {
    tf.dispose([x, product]);
  }
}

/** sigmoid(a [rows, k] x b), and the product itself too when `raw` is asked for. */
export function multiplySigmoid(a: Float32Array, rows: number, b: tf.Tensor2D, raw = false): { activated: Float32Array; raw?: Float32Array } {
  const x = tf.tensor2d(a, [rows, a.length / rows]);
  const z = tf.matMul(x, b);
  const s = tf.sigmoid(z);
  try {
    return { activated: s.dataSync() as Float32Array, raw: raw ? (z.dataSync() as Float32Array) : undefined };
  } finally {
    tf.dispose([x, z, s]);
  }
}

/** The logistic sigmoid of every value (tanh(v) = 2 sigmoid(2v) - 1 turns a tanh into this; Math.tanh costs ~40 ns a value). */
export function sigmoid(values: Float32Array): Float32Array {
  const x = tf.tensor1d(values);
  const s = tf.sigmoid(x);
  try {
    return s.dataSync() as Float32Array;
  } finally {
    tf.dispose([x, s]);
  }
}

/** [rows, columns] values as a [columns, rows] tensor (the wasm Transpose kernel is far faster than a JS loop). */
export function transposedTensor(values: Float32Array, rows: number, columns: number): tf.Tensor2D {
  const matrix = tf.tensor2d(values, [rows, columns]);
  try {
    return tf.transpose(matrix);
  } finally {
    matrix.dispose();
  }
}

/** a^T x b for a [rows, m] and b [rows, n] (the transpose explicit: a transposed multiply is far slower on wasm). */
export function multiplyTransposedA(a: Float32Array, rows: number, b: Float32Array): Float32Array {
  const left = tf.tensor2d(a, [rows, a.length / rows]);
  const leftT = tf.transpose(left);
  const right = tf.tensor2d(b, [rows, b.length / rows]);
  const product = tf.matMul(leftT, right);
  try {
    return product.dataSync() as Float32Array;
  } finally {
    tf.dispose([left, leftT, right, product]);
  }
}
