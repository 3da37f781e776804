import { beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from '../data/seeded-random.fixture.js';
import type { MatrixOps } from './matrix-ops.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compiledWorkerScript } from '../worker-script.js';
import { simdKernelsVariant, type SimdKernels } from './simd-module.js';
import { SIMD_KERNEL_FILES } from './simd-wat.js';
import { createSimdOps } from './simd-ops.js';

/** Reference a [m, k] x b [k, n] in double precision. */
function naiveProduct(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let s = 0; s < k; s++) out[i * n + j] += a[i * k + s] * b[s * n + j];
  return out;
}

function transpose(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c];
  return out;
}

function maxAbsoluteError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  return worst;
}

// Every tile edge: rows in and beyond 4-row tiles, columns in 8- and 4-wide panels and single columns, with
// B's 8-column panels packed (m >= 8, n >= 256) and read in place.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [4, 8, 8],
  [6, 17, 28],
  [9, 33, 13],
  [32, 146, 512],
  [13, 2, 130],
  [9, 5, 261],
];

describe('core > kernels > simd-ops', () => {
  let ops: MatrixOps;
  beforeAll(async () => {
    ops = await createSimdOps();
  });

  it('runs the relaxed-SIMD (fused multiply-add) kernels on Node 22 and later', async () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(await simdKernelsVariant()).toBe(major >= 22 ? 'relaxed' : 'simd');
  });

  it('builds both module files, and the plain SIMD one (older runtimes) multiplies like the reference too', async () => {
    const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer }; instantiate(b: Uint8Array, i: object): Promise<{ instance: { exports: unknown } }> } }).WebAssembly;
    for (const file of Object.values(SIMD_KERNEL_FILES)) expect(compiledWorkerScript(new URL(`./${file}`, import.meta.url))).toBeDefined();
    const bytes = readFileSync(fileURLToPath(compiledWorkerScript(new URL(`./${SIMD_KERNEL_FILES.simd}`, import.meta.url)) as URL));
    const memory = new wasm.Memory({ initial: 4 });
    const kernels = (await wasm.instantiate(bytes, { env: { memory } })).instance.exports as SimdKernels;
    const [m, k, n] = [9, 33, 13];
    const a = randomArray(m * k, 5);
    const b = randomArray(k * n, 6);
    const heap = new Float32Array(memory.buffer);
    heap.set(a, 0);
    heap.set(b, 1024);
    kernels.gemm(0, k, 1, 4096, n, 8192, n, m, k, n, 0);
    expect(maxAbsoluteError(heap.subarray(2048, 2048 + m * n), naiveProduct(a, b, m, k, n))).toBeLessThan(1e-5 * Math.sqrt(k));
  });

  it.each(SHAPES)('multiplies [%i, %i] by [%i columns] like the reference', (m, k, n) => {
    const a = randomArray(m * k, m + k);
    const b = randomArray(k * n, k + n);
    const held = ops.hold(b, k, n);
    const product = ops.multiply(a, m, held);
    ops.release([held]);
    expect(product.length).toBe(m * n);
    expect(maxAbsoluteError(product, naiveProduct(a, b, m, k, n))).toBeLessThan(1e-5 * Math.sqrt(k));
  });

  it.each(SHAPES)('multiplies the transpose of a [%i, %i] by b [%i columns] like the reference', (rows, m, n) => {
    const a = randomArray(rows * m, rows * m);
    const b = randomArray(rows * n, rows + n);
    const product = ops.multiplyTransposedA(a, rows, b);
    expect(product.length).toBe(m * n);
    expect(maxAbsoluteError(product, naiveProduct(transpose(a, rows, m), b, m, rows, n))).toBeLessThan(1e-5 * Math.sqrt(rows));
  });

  it('holds a transposed matrix and multiplies by it', () => {
    const values = randomArray(5 * 12, 3);
    const a = randomArray(6 * 12, 4);
    const held = ops.holdTransposed(values, 5, 12);
    expect([held.rows, held.columns]).toEqual([12, 5]);
    const product = ops.multiply(a, 6, held);
    ops.release([held]);
    expect(maxAbsoluteError(product, naiveProduct(a, transpose(values, 5, 12), 6, 12, 5))).toBeLessThan(1e-5);
  });

  it('computes the sigmoid to within float precision over the whole range, tails included', () => {
    const values = Float32Array.from([-200, -88, -87, -30, -5, -1, -1e-3, 0, 1e-3, 0.5, 1, 3, 8, 17, 30, 90, 200, -0.25, 2.5]);
    const sigmoid = ops.sigmoid(values);
    values.forEach((x, i) => {
      const expected = 1 / (1 + Math.exp(-x));
      expect(Math.abs(sigmoid[i] - expected)).toBeLessThanOrEqual(2e-7 * Math.max(expected, 1e-30) + 1e-37);
    });
    const dense = Float32Array.from({ length: 4001 }, (_, i) => (i - 2000) / 100);
    const dense1 = ops.sigmoid(dense);
    let worst = 0;
    dense.forEach((x, i) => {
      const expected = 1 / (1 + Math.exp(-x));
      worst = Math.max(worst, Math.abs(dense1[i] - expected) / expected);
    });
    expect(worst).toBeLessThan(5e-7);
    const held = ops.hold(Float32Array.of(0.5, -3, 0.25, 1), 2, 2);
    expect(ops.multiplySigmoid(Float32Array.of(1, 2), 1, held)).toEqual(ops.sigmoid(Float32Array.of(1, -1)));
    ops.release([held]);
  });

  it('keeps held matrices intact while operands far larger than its memory pass through', () => {
    const weights = randomArray(64 * 40, 9);
    const held = ops.hold(weights, 64, 40);
    const a = randomArray(2000 * 64, 10);
    const big = ops.multiply(a, 2000, held);
    // 2000 x 64 operands and a 2000 x 2000 transposed product: several MB, far beyond the first pages.
    const gram = ops.multiplyTransposedA(randomArray(2000 * 300, 11), 2000, randomArray(2000 * 300, 12));
    expect(gram.length).toBe(300 * 300);
    const again = ops.multiply(a.subarray(0, 7 * 64), 7, held);
    expect(again).toEqual(big.subarray(0, 7 * 40));
    ops.release([held]);
  });

  it('reuses the space of released matrices and refuses to multiply by one', () => {
    const first = ops.hold(randomArray(16, 1), 4, 4);
    ops.release([first]);
    const second = ops.hold(Float32Array.from({ length: 16 }, (_, i) => i), 4, 4);
    expect(() => ops.multiply(new Float32Array(4), 1, first)).toThrow(/released/);
    expect(ops.multiply(Float32Array.of(1, 0, 0, 0), 1, second)).toEqual(Float32Array.of(0, 1, 2, 3));
    expect(() => ops.multiply(new Float32Array(3), 1, second)).toThrow(/Cannot multiply/);
    ops.release([second]);
  });
});
