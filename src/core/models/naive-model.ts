import { FltsError } from '../errors.js';
import type { ForecastModel, WindowSpec } from './forecast-model.js';
import { assertBatchShape } from './recurrent-model.js';

/** Persistence: every step of the horizon repeats the last observed value of each target. */
export function createNaiveModel(window: WindowSpec): ForecastModel {
  const targetIndex = window.targets.map((target) => {
    const index = window.features.indexOf(target);
    if (index < 0) throw new FltsError('FLTS_MODEL_TARGET_MISSING', `NAIVE needs target "${target}" among the input features (${window.features.join(', ')}).`);
    return index;
  });
  const nf = window.features.length;
  const nt = window.targets.length;
  return {
    modelType: 'NAIVE',
    window,
    async predict(batch) {
      assertBatchShape(batch, window);
      const out = new Float32Array(batch.size * window.outputSeqLen * nt);
      for (let w = 0; w < batch.size; w++) {
        const lastRow = (w * window.inputSeqLen + window.inputSeqLen - 1) * nf;
        for (let h = 0; h < window.outputSeqLen; h++) {
          for (let t = 0; t < nt; t++) out[(w * window.outputSeqLen + h) * nt + t] = batch.windows[lastRow + targetIndex[t]];
        }
      }
      return out;
    },
    dispose() {},
  };
}
