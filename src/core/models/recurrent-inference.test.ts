import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../tf/backend.js';
import type { WindowSpec } from './forecast-model.js';
import { createRecurrentInferenceModel, hasRecurrentFastPath } from './recurrent-inference.js';
import { buildRecurrentNetwork, type RecurrentKind } from './recurrent-model.js';

const WINDOW: WindowSpec = { inputSeqLen: 6, outputSeqLen: 2, features: ['a', 'b', 'c', 'd', 'e'], targets: ['a', 'b'] };

function windows(size: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: size * WINDOW.inputSeqLen * WINDOW.features.length }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return (state / 2 ** 31) * 4 - 2;
  });
}

/** The reference: tfjs-layers' own forward pass over the same windows. */
function layersPredict(network: tf.LayersModel, x: Float32Array, size: number): Float32Array {
  return tf.tidy(() => (network.predict(tf.tensor3d(x, [size, WINDOW.inputSeqLen, WINDOW.features.length]), { batchSize: size }) as tf.Tensor).dataSync() as Float32Array);
}

/** Two recurrent layers with logistic (not tfjs' default hard) sigmoid gates and non-zero biases. */
function sigmoidGateNetwork(kind: RecurrentKind): tf.LayersModel {
  const make = kind === 'LSTM' ? tf.layers.lstm : tf.layers.gru;
  const init = (seed: number) => tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed });
  return tf.sequential({
    layers: [
      make({ units: 12, returnSequences: true, recurrentActivation: 'sigmoid', inputShape: [WINDOW.inputSeqLen, WINDOW.features.length], kernelInitializer: init(1), recurrentInitializer: init(2), biasInitializer: init(3) }),
      make({ units: 12, recurrentActivation: 'sigmoid', kernelInitializer: init(4), recurrentInitializer: init(5), biasInitializer: init(6) }),
      tf.layers.dense({ units: WINDOW.outputSeqLen * WINDOW.targets.length, biasInitializer: init(7) }),
    ],
  });
}

describe('core > models > recurrent-inference', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  const cases: Array<{ kind: RecurrentKind; recurrentActivation?: string }> = [{ kind: 'LSTM' }, { kind: 'GRU' }, { kind: 'LSTM', recurrentActivation: 'sigmoid' }, { kind: 'GRU', recurrentActivation: 'sigmoid' }];
  for (const { kind, recurrentActivation } of cases) {
    it(`${kind} (${recurrentActivation ?? 'tfjs default gates'}) predicts what tfjs-layers predicts, within 1e-5, for batches of 1 to 70`, async () => {
      const network = recurrentActivation ? sigmoidGateNetwork(kind) : buildRecurrentNetwork(kind, WINDOW, { hiddenSize: 12, numLayers: 2 }, 3);
      expect(hasRecurrentFastPath(network)).toBe(true);
      const model = createRecurrentInferenceModel(kind, WINDOW, network);
      for (const size of [1, 3, 70]) {
        const x = windows(size, size + 11);
        const expected = layersPredict(network, x, size);
        const actual = await model.predict({ windows: x, size, forecastTimes: new Float64Array(size * WINDOW.outputSeqLen) });
        expect(actual.length).toBe(size * WINDOW.outputSeqLen * WINDOW.targets.length);
        let worst = 0;
        for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        expect(worst).toBeLessThan(1e-5);
      }
      model.dispose();
    });
  }

  it('keeps the tensor count flat over many predictions and frees its weights on dispose', async () => {
    const network = buildRecurrentNetwork('LSTM', WINDOW, { hiddenSize: 8, numLayers: 2 }, 5);
    const before = tf.memory().numTensors;
    const model = createRecurrentInferenceModel('LSTM', WINDOW, network);
    const afterCreate = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) await model.predict({ windows: windows(1 + (i % 9), i), size: 1 + (i % 9), forecastTimes: new Float64Array((1 + (i % 9)) * 2) });
    expect(tf.memory().numTensors).toBe(afterCreate);
    model.dispose();
    expect(tf.memory().numTensors).toBeLessThan(before);
  });

  it('falls back to tfjs-layers for a network it does not know (a non-linear output layer)', async () => {
    const network = tf.sequential({ layers: [tf.layers.lstm({ units: 4, inputShape: [WINDOW.inputSeqLen, WINDOW.features.length] }), tf.layers.dense({ units: 4, activation: 'relu' })] });
    expect(hasRecurrentFastPath(network)).toBe(false);
    const model = createRecurrentInferenceModel('LSTM', WINDOW, network);
    const x = windows(2, 1);
    expect(Array.from(await model.predict({ windows: x, size: 2, forecastTimes: new Float64Array(4) }))).toEqual(Array.from(layersPredict(network, x, 2)));
    model.dispose();
  });
});
