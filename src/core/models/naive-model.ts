import { listNames } from '../clip-text.js';
import { FltsError } from '../errors.js';
import { assertBatchShape, type ForecastModel, type ModelType, type WindowSpec } from './forecast-model.js';

/**
 * A model that copies input rows forward: step h of the horizon repeats each target's value at window row
 * `sourceRow(h)`. Persistence and seasonal persistence differ only in that row.
 */
export function createRepeatingModel(modelType: ModelType, window: WindowSpec, sourceRow: (step: number) => number): ForecastModel {
  const targetIndex = window.targets.map((target) => {
    const index = window.features.indexOf(target);
    if (index < 0) throw new FltsError('FLTS_MODEL_TARGET_MISSING', `${modelType} needs target "${target}" among the input features (${listNames(window.features)}).`);
    return index;
  });
  const nf = window.features.length;
  const nt = window.targets.length;
  const rows = Array.from({ length: window.outputSeqLen }, (_, h) => sourceRow(h));
  return {
    modelType,
    window,
    async predict(batch) {
      assertBatchShape(batch, window);
      const out = new Float32Array(batch.size * window.outputSeqLen * nt);
      for (let w = 0; w < batch.size; w++) {
        for (let h = 0; h < window.outputSeqLen; h++) {
          const row = (w * window.inputSeqLen + rows[h]) * nf;
          for (let t = 0; t < nt; t++) out[(w * window.outputSeqLen + h) * nt + t] = batch.windows[row + targetIndex[t]];
        }
      }
      return out;
    },
    dispose() {},
  };
}

/** Persistence: every step of the horizon repeats the last observed value of each target. */
export function createNaiveModel(window: WindowSpec): ForecastModel {
  return createRepeatingModel('NAIVE', window, () => window.inputSeqLen - 1);
}
