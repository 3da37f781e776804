import { FltsError } from '../errors.js';
import type { WindowSpec } from '../models/forecast-model.js';

/**
 * Most float32 values one LSTM/GRU fit may hold (2 GiB): its weights four times over (the weights, their
 * gradient and Adam's two moments) plus what a batch keeps for the backward pass through time. Past it the
 * allocation fails deep inside the engine (or the process is killed) after the data has been read and windowed.
 */
export const MAX_TRAINING_VALUES = 2 ** 29;

export interface RecurrentShape {
  hiddenSize: number;
  numLayers: number;
  batchSize: number;
}

/** Weights of the stacked network: 4 gates (LSTM; GRU has 3, counted as 4) per layer, then the dense head. */
function weightCount(window: WindowSpec, shape: RecurrentShape): number {
  const { hiddenSize: h, numLayers } = shape;
  let total = 0;
  for (let layer = 0; layer < numLayers; layer++) total += 4 * h * ((layer === 0 ? window.features.length : h) + h + 2);
  return total + (h + 1) * window.outputSeqLen * window.targets.length;
}

/** Values a batch keeps per step and layer: the step inputs (and their gradient) and the gates, cell and hidden states. */
function activationCount(window: WindowSpec, shape: RecurrentShape, windows: number): number {
  const rows = Math.min(shape.batchSize, Math.max(1, windows)) * window.inputSeqLen;
  const width = Math.max(window.features.length, shape.hiddenSize) + shape.hiddenSize;
  return rows * shape.numLayers * (2 * width + 8 * shape.hiddenSize);
}

/** Refuses, before any allocation, a network and batch that would not fit in MAX_TRAINING_VALUES. */
export function assertTrainingFits(window: WindowSpec, shape: RecurrentShape, windows: number): void {
  const weights = weightCount(window, shape);
  const activations = activationCount(window, shape, windows);
  const values = 4 * weights + activations;
  if (values <= MAX_TRAINING_VALUES) return;
  const gib = (values * 4) / 2 ** 30;
  throw new FltsError(
    'FLTS_MODEL_TOO_LARGE',
    `Training ${shape.numLayers} layer(s) of ${shape.hiddenSize} units on batches of ${Math.min(shape.batchSize, windows)} windows of ${window.inputSeqLen} rows x ${window.features.length} features needs about ${gib.toFixed(1)} GiB (${weights} weights, ${activations} values per batch), more than the 2 GiB limit; lower BATCH_SIZE, INPUT_SEQ_LEN, HIDDEN_SIZE or NUM_LAYERS.`,
    { details: { weights, activations, values, limit: MAX_TRAINING_VALUES, hiddenSize: shape.hiddenSize, numLayers: shape.numLayers, batchSize: shape.batchSize, inputSeqLen: window.inputSeqLen, features: window.features.length } },
  );
}
