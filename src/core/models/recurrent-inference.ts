import type * as tf from '@tensorflow/tfjs';
import type { ForecastModel, WindowSpec } from './forecast-model.js';
import { createRecurrentForward } from './recurrent-forward.js';
import { recurrentForecastModel, type RecurrentKind } from './recurrent-forecast-model.js';
import { createRecurrentForecastModel } from './recurrent-model.js';
import { extractRecurrentWeights } from './recurrent-weights.js';

/**
 * Serving form of a fitted LSTM/GRU network: the same numbers as `network.predict` (within float rounding),
 * computed for the whole batch in one pass by `createRecurrentForward`. Every tensor but the weights is freed
 * inside the call, so the tensor count stays flat. The model owns `network` and disposes it with itself. Networks of another shape fall back to `network.predict`.
 */
export function createRecurrentInferenceModel(kind: RecurrentKind, window: WindowSpec, network: tf.LayersModel): ForecastModel {
  const weights = extractRecurrentWeights(network);
  if (!weights) return createRecurrentForecastModel(kind, window, network);
  const forward = createRecurrentForward(weights);
  return recurrentForecastModel(kind, window, {
    run: (batch) => forward.run(batch.windows, batch.size, window.inputSeqLen),
    release() {
      forward.dispose();
      network.dispose();
    },
  });
}

/** Whether `createRecurrentInferenceModel` uses the fast path for this network (tests and benchmarks). */
export function hasRecurrentFastPath(network: tf.LayersModel): boolean {
  return extractRecurrentWeights(network) !== undefined;
}
