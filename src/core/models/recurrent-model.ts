import * as tf from '@tensorflow/tfjs';
import type { ForecastModel, WindowSpec } from './forecast-model.js';
import { recurrentForecastModel, type RecurrentKind } from './recurrent-forecast-model.js';

export type { RecurrentKind } from './recurrent-forecast-model.js';

export interface RecurrentParams {
  hiddenSize: number;
  numLayers: number;
}

/**
 * The reference's LSTM/GRU: stacked recurrent layers, the last step's state, then one dense layer to
 * outputSeqLen x targets values. Weights start like PyTorch's defaults, U(-1/sqrt(fan), 1/sqrt(fan)), with
 * one seed per layer so the same seed gives the same network. Gates use the logistic sigmoid like PyTorch's
 * nn.LSTM/nn.GRU (tfjs-layers would default to hardSigmoid), which the fused training path also implements.
 * The model and its layers are named here: tfjs would number them from one counter of the whole process, so the
 * saved topology and weight names would depend on what else the process built (models training side by side).
 */
export function buildRecurrentNetwork(kind: RecurrentKind, spec: WindowSpec, params: RecurrentParams, seed: number): tf.LayersModel {
  const bound = 1 / Math.sqrt(params.hiddenSize);
  let seedOffset = 0;
  const uniform = (limit: number): ReturnType<typeof tf.initializers.randomUniform> => tf.initializers.randomUniform({ minval: -limit, maxval: limit, seed: seed + 7919 * ++seedOffset });
  const prefix = kind.toLowerCase();
  const model = tf.sequential({ name: prefix });
  for (let layer = 0; layer < params.numLayers; layer++) {
    const config = {
      name: `${prefix}_${layer + 1}`,
      units: params.hiddenSize,
      returnSequences: layer < params.numLayers - 1,
      kernelInitializer: uniform(bound),
      recurrentInitializer: uniform(bound),
      biasInitializer: uniform(bound),
      recurrentActivation: 'sigmoid' as const,
      ...(layer === 0 ? { inputShape: [spec.inputSeqLen, spec.features.length] } : {}),
    };
    model.add(kind === 'LSTM' ? tf.layers.lstm(config) : tf.layers.gru(config));
  }
  model.add(tf.layers.dense({ name: 'dense', units: spec.outputSeqLen * spec.targets.length, kernelInitializer: uniform(bound), biasInitializer: uniform(bound) }));
  return model;
}

/** Serving wrapper: one forward pass per batch inside tf.tidy, so no tensor outlives a call. */
export function createRecurrentForecastModel(kind: RecurrentKind, window: WindowSpec, network: tf.LayersModel): ForecastModel {
  return recurrentForecastModel(kind, window, {
    async run(batch) {
      const output = tf.tidy(() => network.predict(tf.tensor3d(batch.windows, [batch.size, window.inputSeqLen, window.features.length])) as tf.Tensor);
      try {
        return (await output.data()) as Float32Array;
      } finally {
        output.dispose();
      }
    },
    release: () => network.dispose(),
  });
}
