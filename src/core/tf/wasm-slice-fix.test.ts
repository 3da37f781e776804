import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { installWasmSliceFix, uninstallWasmSliceFix } from './wasm-slice-fix.js';

const cases: { shape: number[]; begin: number[]; size: number[] }[] = [
  { shape: [40, 12], begin: [8, 0], size: [8, 12] }, // contiguous rows (one time step of a time-major matrix)
  { shape: [40, 12], begin: [3, 4], size: [5, 6] }, // a column block
  { shape: [4, 5, 6], begin: [1, 2, 3], size: [2, 3, 2] },
  { shape: [3, 4, 5, 6], begin: [1, 0, 2, 1], size: [2, 4, 2, 5] },
  { shape: [7], begin: [2], size: [-1] },
];

describe('core > tf > wasm-slice-fix', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('slices exactly like the stock wasm kernel', () => {
    for (const { shape, begin, size } of cases) {
      const x = tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.5 - 3), shape);
      installWasmSliceFix();
      const fixed = tf.slice(x, begin, size);
      uninstallWasmSliceFix();
      const stock = tf.slice(x, begin, size);
      installWasmSliceFix();
      expect(fixed.shape).toEqual(stock.shape);
      expect(Array.from(fixed.dataSync())).toEqual(Array.from(stock.dataSync()));
      tf.dispose([x, fixed, stock]);
    }
  });

  it('unstacks exactly like the stock wasm kernel, on every axis', () => {
    const x = tf.tensor(Float32Array.from({ length: 3 * 5 * 4 }, (_, i) => i * 0.25 - 7), [3, 5, 4]);
    for (const axis of [0, 1, 2, -1]) {
      installWasmSliceFix();
      const fixed = tf.unstack(x, axis);
      uninstallWasmSliceFix();
      const stock = tf.unstack(x, axis);
      installWasmSliceFix();
      expect(fixed.map((t) => t.shape)).toEqual(stock.map((t) => t.shape));
      expect(fixed.map((t) => Array.from(t.dataSync()))).toEqual(stock.map((t) => Array.from(t.dataSync())));
      tf.dispose([...fixed, ...stock]);
    }
    x.dispose();
  });
});
