import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMatrixOps } from '../../kernels/create-ops.js';
import type { WindowSpec } from '../../models/forecast-model.js';
import { buildRecurrentNetwork, type RecurrentKind } from '../../models/recurrent-model.js';
import { selectBackend } from '../../tf/backend.js';
import { randomArray } from '../../data/seeded-random.fixture.js';
import { createLocalEngine, type EngineInit } from '../fused/gradient-engine.js';
import { fusedLayoutOf, readParameters, writeParameters } from '../fused/network-parameters.js';
import { createOnnxEngine } from './onnx-engine.js';

// Two targets over two steps: the head's 4 outputs are the multi-step case.
const spec: WindowSpec = { features: ['a', 'b', 'c'], targets: ['a', 'b'], inputSeqLen: 4, outputSeqLen: 2 };
const OUT = 4;
const UNITS = 5;
const SIZE = 11;

function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  let scale = 1e-6;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return worst / scale;
}

const windowSize = spec.inputSeqLen * spec.features.length;
const data = { x: randomArray(SIZE * windowSize, 31), y: randomArray(SIZE * OUT, 32) };

describe('core > train > onnx > onnx-engine', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  for (const kind of ['LSTM', 'GRU'] as RecurrentKind[]) {
    for (const numLayers of [1, 2]) {
      it(`${kind} x ${numLayers}: the step's gradient and squared error equal tfjs autodiff of the tfjs-layers network`, async () => {
        const network = buildRecurrentNetwork(kind, spec, { hiddenSize: UNITS, numLayers }, 5);
        const layout = fusedLayoutOf(network)!;
        // Larger weights than the initialiser's so the gates leave their linear range.
        const weights = randomArray(layout.size, 4).map((v) => 1.5 * v);
        writeParameters(network, layout, weights);
        const order = Int32Array.from({ length: SIZE }, (_, i) => (i * 4) % SIZE);
        const [from, to] = [2, 9];
        const batch = to - from;
        const picked = Array.from(order.subarray(from, to));
        const batchX = new Float32Array(batch * windowSize);
        const batchY = new Float32Array(batch * OUT);
        picked.forEach((sample, k) => {
          batchX.set(data.x.subarray(sample * windowSize, (sample + 1) * windowSize), k * windowSize);
          batchY.set(data.y.subarray(sample * OUT, (sample + 1) * OUT), k * OUT);
        });
        const variables = network.trainableWeights.map((w) => w.read() as tf.Variable);
        const { reference, sse } = tf.tidy(() => {
          const x = tf.tensor3d(batchX, [batch, spec.inputSeqLen, spec.features.length]);
          const y = tf.tensor2d(batchY, [batch, OUT]);
          const { grads } = tf.variableGrads(() => tf.losses.meanSquaredError(y, network.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, variables);
          const squared = tf.sub(network.predict(x) as tf.Tensor, y).square().sum().dataSync()[0];
          return { reference: variables.map((v) => grads[v.name].dataSync() as Float32Array), sse: squared };
        });
        const engine = await createOnnxEngine({ layout, steps: spec.inputSeqLen, train: data, validation: data, validationSize: 0, learningRate: 1e-3, kernels: 'simd' }, { threads: 1, exposeGradient: true });
        try {
          engine.weights.set(weights);
          engine.setOrder(order);
          expect(await engine.step(from, to)).toBeCloseTo(sse, 4);
          const gradient = engine.lastGradient!;
          layout.weights.forEach((w, i) => expect(maxRelativeError(gradient.subarray(w.offset, w.offset + w.size), reference[i])).toBeLessThan(1e-4));
        } finally {
          await engine.close();
          network.dispose();
        }
      });
    }

    it(`${kind} x 2: Adam steps give the fused engine's weights and batch errors`, async () => {
      const network = buildRecurrentNetwork(kind, spec, { hiddenSize: UNITS, numLayers: 2 }, 8);
      const layout = fusedLayoutOf(network)!;
      const init: EngineInit = { layout, steps: spec.inputSeqLen, train: data, validation: data, validationSize: SIZE, learningRate: 1e-2, kernels: 'simd' };
      const onnx = await createOnnxEngine(init, { threads: 1 });
      const fused = await createLocalEngine(init, await createMatrixOps('simd'));
      try {
        const start = readParameters(network, layout);
        onnx.weights.set(start);
        fused.weights.set(start);
        const order = Int32Array.from({ length: SIZE }, (_, i) => SIZE - 1 - i);
        onnx.setOrder(order);
        fused.setOrder(order);
        // Batches of 4, 4 and 3: the last one smaller, as at the end of an epoch.
        for (let round = 0; round < 3; round++) {
          for (const [from, to] of [[0, 4], [4, 8], [8, 11]]) expect(await onnx.step(from, to)).toBeCloseTo(await fused.step(from, to), 4);
        }
        expect(maxRelativeError(onnx.weights, fused.weights)).toBeLessThan(1e-4);
        expect(await onnx.validationSse()).toBeCloseTo(await fused.validationSse(), 4);
      } finally {
        await onnx.close();
        await fused.close();
        network.dispose();
      }
    });
  }
});
