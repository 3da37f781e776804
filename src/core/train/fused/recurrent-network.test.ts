import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WindowSpec } from '../../models/forecast-model.js';
import { buildRecurrentNetwork, type RecurrentKind } from '../../models/recurrent-model.js';
import { createMatrixOps, type MatrixOpsChoice } from '../../kernels/create-ops.js';
import type { MatrixOps } from '../../kernels/matrix-ops.js';
import { selectBackend } from '../../tf/backend.js';
import { randomArray } from '../../data/seeded-random.fixture.js';
import { createGradientComputer } from './gradient-computer.js';
import { fusedLayoutOf, readParameters, writeParameters } from './network-parameters.js';
import { recurrentLossAndGradients, recurrentPredict } from './recurrent-network.js';

const spec: WindowSpec = { features: ['a', 'b', 'c', 'd'], targets: ['a', 'b'], inputSeqLen: 5, outputSeqLen: 1 };
const BATCH = 6;
const OUT = 2;

/** [batch, steps, features] row-major -> time-major [steps * batch, features]. */
function timeMajor(x: Float32Array, batch: number): Float32Array {
  const { inputSeqLen: steps, features } = spec;
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) for (let t = 0; t < steps; t++) out.set(x.subarray((b * steps + t) * features.length, (b * steps + t + 1) * features.length), (t * batch + b) * features.length);
  return out;
}

/** tfjs autodiff of the network's MSE over one batch of BATCH windows: the reference gradient of every weight. */
function autodiffGradients(network: tf.LayersModel, x: Float32Array, y: Float32Array): Float32Array[] {
  const variables = network.trainableWeights.map((w) => w.read() as tf.Variable);
  return tf.tidy(() => {
    const { grads } = tf.variableGrads(
      () => tf.losses.meanSquaredError(tf.tensor2d(y, [BATCH, OUT]), network.apply(tf.tensor3d(x, [BATCH, spec.inputSeqLen, spec.features.length]), { training: true }) as tf.Tensor) as tf.Scalar,
      variables,
    );
    return variables.map((v) => grads[v.name].dataSync() as Float32Array);
  });
}

function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  const scale = Math.max(1e-6, ...Array.from(expected, Math.abs));
  return Math.max(...Array.from(actual, (v, i) => Math.abs(v - expected[i]))) / scale;
}

// 7 units: gate widths of 28, 21 and 14 columns and 6-row batches exercise every tile edge of the SIMD kernels.
const UNITS = 7;

describe.each(['simd', 'tfjs'] as MatrixOpsChoice[])('core > train > fused > recurrent-network (%s kernels)', (kernels) => {
  let ops: MatrixOps;
  beforeAll(async () => {
    await selectBackend('wasm');
    ops = await createMatrixOps(kernels);
  });

  for (const kind of ['LSTM', 'GRU'] as RecurrentKind[]) {
    it(`${kind}: forward output equals the tfjs-layers network for the same weights`, () => {
      const network = buildRecurrentNetwork(kind, spec, { hiddenSize: UNITS, numLayers: 2 }, 7);
      const layout = fusedLayoutOf(network);
      expect(layout?.size).toBe(network.countParams());
      // Larger weights than the initialiser's so the gates leave their linear range.
      writeParameters(network, layout!, randomArray(layout!.size, 3).map((v) => v * 1.5));
      const x = randomArray(BATCH * spec.inputSeqLen * spec.features.length, 11);
      const expected = tf.tidy(() => (network.predict(tf.tensor3d(x, [BATCH, spec.inputSeqLen, spec.features.length])) as tf.Tensor).dataSync() as Float32Array);
      const actual = recurrentPredict(ops, layout!, readParameters(network, layout!), timeMajor(x, BATCH), spec.inputSeqLen, BATCH);
      expect(actual.length).toBe(BATCH * OUT);
      expect(maxRelativeError(actual, expected)).toBeLessThan(1e-5);
      network.dispose();
    });

    it(`${kind}: gradients equal tfjs autodiff of the tfjs-layers network's MSE`, () => {
      const network = buildRecurrentNetwork(kind, spec, { hiddenSize: UNITS, numLayers: 2 }, 5);
      const layout = fusedLayoutOf(network)!;
      writeParameters(network, layout, randomArray(layout.size, 4));
      const x = randomArray(BATCH * spec.inputSeqLen * spec.features.length, 12);
      const y = randomArray(BATCH * OUT, 13);
      const reference = autodiffGradients(network, x, y);
      const flat = new Float32Array(layout.size);
      const sse = recurrentLossAndGradients(ops, layout, readParameters(network, layout), timeMajor(x, BATCH), y, spec.inputSeqLen, BATCH, 1 / (BATCH * OUT), flat);
      const predicted = tf.tidy(() => (network.predict(tf.tensor3d(x, [BATCH, spec.inputSeqLen, spec.features.length])) as tf.Tensor).dataSync() as Float32Array);
      expect(sse).toBeCloseTo(Array.from(predicted, (p, i) => (p - y[i]) ** 2).reduce((a, b) => a + b, 0), 4);
      const fused = layout.weights.map((w) => flat.subarray(w.offset, w.offset + w.size));
      expect(fused.length).toBe(reference.length);
      fused.forEach((g, i) => {
        expect(g.length).toBe(reference[i].length);
        expect(maxRelativeError(g, reference[i])).toBeLessThan(1e-4);
      });
      network.dispose();
    });
  }

  for (const kind of ['LSTM', 'GRU'] as RecurrentKind[]) {
    it(`${kind}: the gradient computer (the path training uses) gives tfjs autodiff's gradients and the network's validation error`, () => {
      const network = buildRecurrentNetwork(kind, spec, { hiddenSize: UNITS, numLayers: 2 }, 21);
      const layout = fusedLayoutOf(network)!;
      const weights = randomArray(layout.size, 22);
      writeParameters(network, layout, weights);
      const size = BATCH + 3;
      const x = randomArray(size * spec.inputSeqLen * spec.features.length, 23);
      const y = randomArray(size * OUT, 24);
      const order = Int32Array.from({ length: size }, (_, i) => size - 1 - i);
      const picked = Array.from(order.subarray(2, 2 + BATCH));
      const windowSize = spec.inputSeqLen * spec.features.length;
      const batchX = new Float32Array(BATCH * windowSize);
      const batchY = new Float32Array(BATCH * OUT);
      picked.forEach((sample, k) => {
        batchX.set(x.subarray(sample * windowSize, (sample + 1) * windowSize), k * windowSize);
        batchY.set(y.subarray(sample * OUT, (sample + 1) * OUT), k * OUT);
      });
      const reference = autodiffGradients(network, batchX, batchY);
      const computer = createGradientComputer({ layout, steps: spec.inputSeqLen, train: { x, y }, validation: { x, y } }, ops);
      const gradient = new Float32Array(layout.size);
      const sse = computer.gradients(weights, order, 2, 2 + BATCH, BATCH, gradient);
      const predicted = tf.tidy(() => (network.predict(tf.tensor3d(x, [size, spec.inputSeqLen, spec.features.length])) as tf.Tensor).dataSync() as Float32Array);
      const squared = (from: number, to: number) => Array.from(predicted.subarray(from * OUT, to * OUT), (p, i) => (p - y[from * OUT + i]) ** 2).reduce((a, b) => a + b, 0);
      expect(sse).toBeCloseTo(picked.reduce((sum, sample) => sum + squared(sample, sample + 1), 0), 4);
      expect(computer.validationSse(weights, 0, size)).toBeCloseTo(squared(0, size), 4);
      layout.weights.forEach((w, i) => expect(maxRelativeError(gradient.subarray(w.offset, w.offset + w.size), reference[i])).toBeLessThan(1e-4));
      network.dispose();
    });
  }

  it('repeated steps give the same gradient and leave the tensor count flat', () => {
    const network = buildRecurrentNetwork('LSTM', spec, { hiddenSize: UNITS, numLayers: 2 }, 9);
    const layout = fusedLayoutOf(network)!;
    const size = 40;
    const computer = createGradientComputer({ layout, steps: spec.inputSeqLen, train: { x: randomArray(size * 20, 1), y: randomArray(size * OUT, 2) }, validation: { x: randomArray(8 * 20, 3), y: randomArray(8 * OUT, 4) } }, ops);
    const weights = readParameters(network, layout);
    const order = Int32Array.from({ length: size }, (_, i) => (i * 7) % size);
    const gradient = new Float32Array(layout.size);
    computer.gradients(weights, order, 16, 32, 16, gradient);
    const first = gradient.slice();
    const validation = computer.validationSse(weights, 0, 8);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      computer.gradients(weights, order, 0, 16, 16, gradient);
      computer.gradients(weights, order, 16, 32, 16, gradient);
      expect(computer.validationSse(weights, 0, 8)).toBe(validation);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(gradient).toEqual(first);
    expect(gradient.some((g) => g !== 0)).toBe(true);
    network.dispose();
  });

});

describe('core > train > fused > network layout', () => {
  it('networks the fused path does not implement are left to tfjs-layers', () => {
    const model = tf.sequential({ layers: [tf.layers.lstm({ units: 4, inputShape: [5, 4] }), tf.layers.dense({ units: 1 })] });
    expect(fusedLayoutOf(model)).toBeUndefined(); // hardSigmoid gates (the tfjs default)
    model.dispose();
  });
});
