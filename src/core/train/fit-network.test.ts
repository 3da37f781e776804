import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WindowSpec } from '../models/forecast-model.js';
import { buildRecurrentNetwork, type RecurrentKind } from '../models/recurrent-model.js';
import { selectBackend } from '../tf/backend.js';
import { fitNetwork, type FitNetworkOptions, type FitNetworkResult } from './fit-network.js';
import { prepareWindows } from './prepare-windows.js';
import { syntheticProcessedData } from './synthetic-data.fixture.js';

const data = syntheticProcessedData(260, 40);
const spec: WindowSpec = { features: [...data.columns], targets: ['down'], inputSeqLen: 6, outputSeqLen: 1 };
const windows = prepareWindows(data, spec, 0.1);
const base: FitNetworkOptions = { runId: 'test', epochs: 3, batchSize: 32, learningRate: 0.01, earlyStopping: false, patience: 5, seed: 3, backend: 'wasm' };

async function fit(kind: RecurrentKind, options: Partial<FitNetworkOptions>): Promise<{ result: FitNetworkResult; weights: Float32Array[] }> {
  const network = buildRecurrentNetwork(kind, spec, { hiddenSize: 16, numLayers: 2 }, 1);
  const result = await fitNetwork(network, windows.fit, windows.validation, spec, { ...base, ...options });
  const weights = network.getWeights().map((w) => w.dataSync() as Float32Array);
  network.dispose();
  return { result, weights };
}

const relative = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('core > train > fit-network', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  for (const kind of ['LSTM', 'GRU'] as RecurrentKind[]) {
    it(`${kind}: the fused path follows the tfjs-layers loss curve`, async () => {
      const layers = await fit(kind, { engine: 'layers' });
      const fused = await fit(kind, { engine: 'fused', workers: 1 });
      expect(layers.result.engine).toBe('layers');
      expect(fused.result.engine).toBe('fused');
      expect(fused.result.history).toHaveLength(3);
      // The loss must actually move, or equal curves would prove nothing.
      expect(layers.result.history[2].loss).toBeLessThan(layers.result.history[0].loss);
      fused.result.history.forEach((epoch, i) => {
        expect(relative(epoch.loss, layers.result.history[i].loss)).toBeLessThan(1e-3);
        expect(relative(epoch.val_loss, layers.result.history[i].val_loss)).toBeLessThan(1e-3);
      });
      expect(fused.result.bestEpoch).toBe(layers.result.bestEpoch);
    });
  }

  it('two gradient workers give the one-thread result within float tolerance, and the same bits on every run', async () => {
    const one = await fit('LSTM', { engine: 'fused', workers: 1 });
    const two = await fit('LSTM', { engine: 'fused', workers: 2 });
    const again = await fit('LSTM', { engine: 'fused', workers: 2 });
    expect(two.result.threads).toBe(2);
    two.result.history.forEach((epoch, i) => expect(relative(epoch.loss, one.result.history[i].loss)).toBeLessThan(1e-4));
    two.weights.forEach((w, i) => {
      const diff = Math.max(...Array.from(w, (v, j) => Math.abs(v - one.weights[i][j])));
      expect(diff).toBeLessThan(1e-4);
      expect(Array.from(again.weights[i])).toEqual(Array.from(w));
    });
  });

  it('leaves no tensors behind on either path', async () => {
    const before = tf.memory().numTensors;
    await fit('GRU', { engine: 'fused', workers: 1, epochs: 2 });
    await fit('GRU', { engine: 'layers', epochs: 2 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses to force the fused path onto a network it does not implement', async () => {
    const network = tf.sequential({ layers: [tf.layers.lstm({ units: 4, inputShape: [6, spec.features.length] }), tf.layers.dense({ units: 1 })] });
    await expect(fitNetwork(network, windows.fit, windows.validation, spec, { ...base, engine: 'fused' })).rejects.toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });
    network.dispose();
  });
});
