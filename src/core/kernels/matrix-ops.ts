/**
 * The few matrix operations the fused recurrent training path needs, on plain row-major Float32Arrays.
 * Two implementations: flts's own WebAssembly SIMD kernels (`simd-ops.ts`, the default) and the tfjs
 * backend's kernels (`tfjs-ops.ts`, kept to measure one against the other).
 */

/** A right-hand matrix held by the implementation (weights, for the length of one training step). */
export interface HeldMatrix {
  readonly rows: number;
  readonly columns: number;
}

export interface MatrixOps {
  readonly name: 'simd' | 'tfjs';
  /** Holds values [rows, columns] (row-major) for use as the right-hand side of `multiply`. */
  hold(values: Float32Array, rows: number, columns: number): HeldMatrix;
  /** Holds the transpose of values [rows, columns], i.e. a [columns, rows] matrix. */
  holdTransposed(values: Float32Array, rows: number, columns: number): HeldMatrix;
  /** Frees held matrices; each is released exactly once. */
  release(matrices: readonly HeldMatrix[]): void;
  /** a [rows, b.rows] x b, as a new array [rows, b.columns]. */
  multiply(a: Float32Array, rows: number, b: HeldMatrix): Float32Array;
  /** sigmoid(a [rows, b.rows] x b), as a new array. */
  multiplySigmoid(a: Float32Array, rows: number, b: HeldMatrix): Float32Array;
  /** a^T b for a [rows, m] and b [rows, n]: a new array [m, n]. */
  multiplyTransposedA(a: Float32Array, rows: number, b: Float32Array): Float32Array;
  /** The logistic sigmoid of every value, as a new array. */
  sigmoid(values: Float32Array): Float32Array;
}
