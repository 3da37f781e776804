import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { installTransposedMatMulFix, isTransposedMatMulFixInstalled, uninstallTransposedMatMulFix } from './transposed-matmul-fix.js';

function seeded(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

async function products(): Promise<Float32Array[]> {
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[5, 7], [5, 3], true, false],
    [[4, 6], [3, 6], false, true],
    [[6, 4], [3, 6], true, true],
    [[2, 5, 7], [2, 5, 3], true, false],
    [[4, 6], [6, 3], false, false],
  ];
  return Promise.all(
    cases.map(async ([shapeA, shapeB, transposeA, transposeB], i) => {
      const out = tf.tidy(() => tf.matMul(seeded(shapeA, 10 + i), seeded(shapeB, 20 + i), transposeA, transposeB));
      const data = (await out.data()) as Float32Array;
      out.dispose();
      return data;
    }),
  );
}

describe('core > tf > transposed-matmul-fix', () => {
  beforeAll(async () => {
    await selectBackend('wasm', { matMulFix: false });
  });
  afterAll(() => uninstallTransposedMatMulFix());

  it('gives the same products as the stock wasm kernel for every transpose combination', async () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(isTransposedMatMulFixInstalled()).toBe(false);
    const stock = await products();
    installTransposedMatMulFix();
    expect(isTransposedMatMulFixInstalled()).toBe(true);
    const fixed = await products();
    fixed.forEach((values, i) => {
      expect(values.length).toBe(stock[i].length);
      values.forEach((v, j) => expect(v).toBeCloseTo(stock[i][j], 5));
    });
  });

  it('gives the same gradients of a dense layer and leaks no tensors over many steps', async () => {
    uninstallTransposedMatMulFix();
    const x = seeded([8, 6], 1);
    const w = seeded([6, 4], 2);
    const gradOf = (): tf.Tensor[] => tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b).square().sum())([x, w]));
    const stock = gradOf();
    installTransposedMatMulFix();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) tf.dispose(gradOf());
    expect(tf.memory().numTensors).toBe(before);
    const fixed = gradOf();
    for (let g = 0; g < 2; g++) {
      const [s, f] = [await stock[g].data(), await fixed[g].data()];
      s.forEach((v, j) => expect(f[j]).toBeCloseTo(v, 4));
    }
    tf.dispose([...stock, ...fixed, x, w]);
  });
});
