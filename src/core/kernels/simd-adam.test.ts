import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../tf/backend.js';
import { randomArray } from '../data/seeded-random.fixture.js';
import { createSimdAdam } from './simd-adam.js';

describe('core > kernels > simd-adam', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it("follows tfjs's Adam step for step on the summed shards, and only inside its range", async () => {
    const size = 41;
    const [from, to] = [3, 38]; // 35 parameters: not a multiple of the 4-wide vectors
    const learningRate = 0.01;
    const weights = randomArray(size, 1);
    const variable = tf.variable(tf.tensor1d(weights.subarray(from, to)));
    const optimizer = tf.train.adam(learningRate);
    const adam = await createSimdAdam(from, to, learningRate);
    const outside = [...weights.subarray(0, from), ...weights.subarray(to)];
    for (let step = 0; step < 6; step++) {
      const shards = [randomArray(size, 10 + step), randomArray(size, 20 + step)];
      adam.step(weights, shards);
      const summed = shards[0].subarray(from, to).map((g, i) => g + shards[1][from + i]);
      tf.tidy(() => optimizer.applyGradients([{ name: variable.name, tensor: tf.tensor1d(summed) }]));
    }
    const expected = variable.dataSync();
    weights.subarray(from, to).forEach((w, i) => expect(w).toBeCloseTo(expected[i], 5));
    expect([...weights.subarray(0, from), ...weights.subarray(to)]).toEqual(outside);
    // Adam's first step moves every parameter by ~lr; six steps cannot all cancel out.
    weights.subarray(from, to).forEach((w, i) => expect(Math.abs(w - randomArray(size, 1)[from + i])).toBeGreaterThan(learningRate / 100));
    variable.dispose();
    optimizer.dispose();
  });
});
