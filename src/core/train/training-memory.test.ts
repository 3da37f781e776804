import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { assertTrainingFits, MAX_TRAINING_VALUES } from './training-memory.js';

const window = { inputSeqLen: 10, outputSeqLen: 1, features: Array.from({ length: 13 }, (_, i) => `f${i}`), targets: ['f0'] };

function errorOf(run: () => void): FltsError | undefined {
  try {
    run();
  } catch (error) {
    return error as FltsError;
  }
  return undefined;
}

describe('core > train > training memory', () => {
  it('lets through the default network and a long window with a small batch', () => {
    expect(errorOf(() => assertTrainingFits(window, { hiddenSize: 64, numLayers: 1, batchSize: 64 }, 4000))).toBeUndefined();
    expect(errorOf(() => assertTrainingFits({ ...window, inputSeqLen: 1000 }, { hiddenSize: 256, numLayers: 2, batchSize: 64 }, 4000))).toBeUndefined();
  });

  it('refuses the widest network the settings allow, stacked eight deep (its weights alone)', () => {
    const error = errorOf(() => assertTrainingFits(window, { hiddenSize: 2048, numLayers: 8, batchSize: 64 }, 4000));
    expect(error).toMatchObject({ code: 'FLTS_MODEL_TOO_LARGE', kind: 'usage', details: { limit: MAX_TRAINING_VALUES, hiddenSize: 2048, numLayers: 8 } });
    expect(error?.message).toMatch(/GiB .* more than the 2 GiB limit; lower BATCH_SIZE, INPUT_SEQ_LEN, HIDDEN_SIZE or NUM_LAYERS/);
  });

  it('refuses a batch whose states through a long window would not fit, counting only the windows there are', () => {
    const long = { ...window, inputSeqLen: 1000 };
    expect(errorOf(() => assertTrainingFits(long, { hiddenSize: 64, numLayers: 1, batchSize: 4000 }, 4000))?.code).toBe('FLTS_MODEL_TOO_LARGE');
    // The same batch size on 64 windows runs as batches of 64.
    expect(errorOf(() => assertTrainingFits(long, { hiddenSize: 64, numLayers: 1, batchSize: 4000 }, 64))).toBeUndefined();
  });
});
