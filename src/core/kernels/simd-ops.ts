import { FltsError } from '../errors.js';
import type { HeldMatrix, MatrixOps } from './matrix-ops.js';
import { createKernelMemory, instantiateSimdKernels, PAGE } from './simd-module.js';

interface SimdMatrix extends HeldMatrix {
  /** Byte address in the kernels' memory. */
  readonly address: number;
  released: boolean;
}

const ALIGN = 16;
const aligned = (bytes: number): number => Math.ceil(bytes / ALIGN) * ALIGN;

/**
 * Whether the multiply should copy each 8-column panel of B into contiguous rows first: worth it when B's
 * rows are 1 KB or more apart (they then share a few L1 sets) and the panel serves several row tiles
 * (measured: a [32, 146] x [146, 512] multiply 370 -> 258 us, [32, 512] x [512, 128] 201 -> 233 us).
 */
const packsPanels = (m: number, n: number): boolean => n >= 256 && m >= 8;

/**
 * MatrixOps on flts's WebAssembly SIMD kernels (`simd-wat.ts`), with one linear memory per instance. Held
 * matrices sit at the bottom of that memory (a bump region, reset when the last one is released, which the
 * training step does at its end); each operation copies its other operands above them, runs, and copies
 * the result out, so callers keep plain Float32Arrays and no view into the memory ever escapes.
 */
export async function createSimdOps(): Promise<MatrixOps> {
  const memory = createKernelMemory(16);
  const kernels = await instantiateSimdKernels(memory);
  let heap = new Float32Array(memory.buffer);
  let heldTop = 0;
  let live = 0;

  /** Makes the memory at least `bytes` long; growing replaces the buffer, so the view is taken again. */
  const reserve = (bytes: number): void => {
    if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
    if (heap.buffer !== memory.buffer) heap = new Float32Array(memory.buffer);
  };
  /** Scratch addresses above the held matrices for operands of the given lengths (in floats). */
  const scratch = (...lengths: number[]): number[] => {
    const addresses: number[] = [];
    let top = heldTop;
    for (const length of lengths) {
      addresses.push(top);
      top += aligned(length * 4);
    }
    reserve(top);
    return addresses;
  };
  const hold = (rows: number, columns: number, fill: (into: Float32Array) => void): SimdMatrix => {
    const address = heldTop;
    reserve(address + aligned(rows * columns * 4));
    heldTop = address + aligned(rows * columns * 4);
    live++;
    fill(heap.subarray(address / 4, address / 4 + rows * columns));
    return { rows, columns, address, released: false };
  };
  const sigmoidAt = (address: number, length: number): void => {
    const groups = Math.floor(length / 4);
    kernels.sigmoid(address, groups);
    for (let i = address / 4 + groups * 4; i < address / 4 + length; i++) heap[i] = 1 / (1 + Math.exp(-heap[i]));
  };
  const product = (a: Float32Array, rows: number, b: HeldMatrix, activate: boolean): Float32Array => {
    const matrix = b as SimdMatrix;
    if (matrix.released) throw new FltsError('FLTS_TRAIN_FAILED', 'A released matrix was multiplied.');
    if (a.length !== rows * matrix.rows) throw new FltsError('FLTS_TRAIN_FAILED', `Cannot multiply [${rows}, ${a.length / rows}] by [${matrix.rows}, ${matrix.columns}].`);
    const pack = packsPanels(rows, matrix.columns);
    const [left, out, panel] = scratch(a.length, rows * matrix.columns, pack ? 8 * matrix.rows : 0);
    heap.set(a, left / 4);
    kernels.gemm(left, matrix.rows, 1, matrix.address, matrix.columns, out, matrix.columns, rows, matrix.rows, matrix.columns, pack ? panel : 0);
    if (activate) sigmoidAt(out, rows * matrix.columns);
    return heap.slice(out / 4, out / 4 + rows * matrix.columns);
  };

  return {
    name: 'simd',
    hold: (values, rows, columns) => hold(rows, columns, (into) => into.set(values.subarray(0, rows * columns))),
    holdTransposed: (values, rows, columns) =>
      hold(columns, rows, (into) => {
        for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) into[c * rows + r] = values[r * columns + c];
      }),
    release(matrices) {
      for (const matrix of matrices as readonly SimdMatrix[]) {
        if (matrix.released) continue;
        matrix.released = true;
        live--;
      }
      if (live === 0) heldTop = 0;
    },
    multiply: (a, rows, b) => product(a, rows, b, false),
    multiplySigmoid: (a, rows, b) => product(a, rows, b, true),
    multiplyTransposedA(a, rows, b) {
      const m = a.length / rows;
      const n = b.length / rows;
      const pack = packsPanels(m, n);
      const [left, right, out, panel] = scratch(a.length, b.length, m * n, pack ? 8 * rows : 0);
      heap.set(a, left / 4);
      heap.set(b, right / 4);
      // A^T: output row i walks column i of a (stride 1 between rows, m between steps).
      kernels.gemm(left, 1, m, right, n, out, n, m, rows, n, pack ? panel : 0);
      return heap.slice(out / 4, out / 4 + m * n);
    },
    sigmoid(values) {
      const [at] = scratch(values.length);
      heap.set(values, at / 4);
      sigmoidAt(at, values.length);
      return heap.slice(at / 4, at / 4 + values.length);
    },
  };
}
