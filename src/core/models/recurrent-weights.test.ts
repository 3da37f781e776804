import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../tf/backend.js';
import type { WindowSpec } from './forecast-model.js';
import { buildRecurrentNetwork, type RecurrentKind } from './recurrent-model.js';
import { extractRecurrentWeights, recurrentWeightsFromSaved, type SavedLayersModel } from './recurrent-weights.js';

const WINDOW: WindowSpec = { inputSeqLen: 5, outputSeqLen: 3, features: ['a', 'b', 'c', 'd'], targets: ['a', 'c'] };

/** What `network.save` writes: model.json (topology and manifest) and the weight bytes. */
async function saved(network: tf.LayersModel): Promise<{ model: SavedLayersModel; bytes: Uint8Array }> {
  let result!: { model: SavedLayersModel; bytes: Uint8Array };
  await network.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      result = { model: { modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['./weights.bin'], weights: artifacts.weightSpecs ?? [] }] }, bytes: new Uint8Array(data) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return result;
}

describe('core > models > recurrent-weights', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  for (const kind of ['LSTM', 'GRU'] as RecurrentKind[]) {
    it(`reads a saved ${kind} network's weights without tfjs, equal to the loaded network's`, async () => {
      const network = buildRecurrentNetwork(kind, WINDOW, { hiddenSize: 6, numLayers: 2 }, 11);
      const { model, bytes } = await saved(network);
      // Unaligned, inside a larger buffer, as a store may hand them over.
      const padded = new Uint8Array(bytes.length + 3);
      padded.set(bytes, 3);
      const fromFiles = recurrentWeightsFromSaved(model, padded.subarray(3));
      const fromNetwork = extractRecurrentWeights(network);
      expect(fromNetwork).toBeDefined();
      expect(fromFiles).toEqual(fromNetwork);
      network.dispose();
    });
  }

  it('reads hardSigmoid gates as such, and leaves other networks to tfjs', async () => {
    const hard = tf.sequential({ layers: [tf.layers.lstm({ units: 4, inputShape: [WINDOW.inputSeqLen, 4] }), tf.layers.dense({ units: 2 })] });
    const hardSaved = await saved(hard);
    const weights = recurrentWeightsFromSaved(hardSaved.model, hardSaved.bytes);
    expect(weights?.layers[0].hardGates).toBe(true);
    expect(weights).toEqual(extractRecurrentWeights(hard));
    const relu = tf.sequential({ layers: [tf.layers.gru({ units: 4, inputShape: [WINDOW.inputSeqLen, 4] }), tf.layers.dense({ units: 2, activation: 'relu' })] });
    const reluSaved = await saved(relu);
    expect(recurrentWeightsFromSaved(reluSaved.model, reluSaved.bytes)).toBeUndefined();
    expect(recurrentWeightsFromSaved(hardSaved.model, hardSaved.bytes.subarray(0, hardSaved.bytes.length - 4))).toBeUndefined();
    hard.dispose();
    relu.dispose();
  });
});
