import { detectCadence } from '../data/timestamps.js';
import { FltsError } from '../errors.js';
import type { ForecastModel, WindowSpec } from './forecast-model.js';
import { assertBatchShape } from './recurrent-model.js';

const DAY_MS = 86_400_000;

export interface SeasonalNaiveArtifact {
  format: 'flts-seasonal-naive-v1';
  /** Rows per season (one day at the series' step). */
  period: number;
  window: WindowSpec;
}

/** Rows in one day at the series' most common step (at least 2, so a season is more than the last value). */
export function dailyPeriod(time: Float64Array): number {
  return Math.max(2, Math.round(DAY_MS / detectCadence(time)));
}

/**
 * The window seasonal persistence reads: the targets over one whole season. The horizon may not exceed
 * the season, since each step repeats the value one season before it.
 */
export function seasonalNaiveWindow(targets: readonly string[], outputSeqLen: number, period: number): WindowSpec {
  if (outputSeqLen > period) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `SNAIVE forecasts at most one season (${period} rows) ahead; training.outputSeqLen is ${outputSeqLen}.`, { details: { period, outputSeqLen } });
  }
  return { features: [...targets], targets: [...targets], inputSeqLen: period, outputSeqLen };
}

/** Seasonal persistence: step h repeats each target's value one season (a day) before it. */
export function createSeasonalNaiveModel(window: WindowSpec): ForecastModel {
  const period = window.inputSeqLen;
  const nf = window.features.length;
  const nt = window.targets.length;
  const columns = window.targets.map((target) => window.features.indexOf(target));
  if (columns.some((c) => c < 0)) throw new FltsError('FLTS_MODEL_TARGET_MISSING', `SNAIVE needs its targets among the input features (${window.features.join(', ')}).`);
  return {
    modelType: 'SNAIVE',
    window,
    async predict(batch) {
      assertBatchShape(batch, window);
      const out = new Float32Array(batch.size * window.outputSeqLen * nt);
      for (let w = 0; w < batch.size; w++) {
        for (let h = 0; h < window.outputSeqLen; h++) {
          // Row `period` would be the forecast row itself: one season earlier is row h of the window.
          const row = (w * period + h) * nf;
          for (let t = 0; t < nt; t++) out[(w * window.outputSeqLen + h) * nt + t] = batch.windows[row + columns[t]];
        }
      }
      return out;
    },
    dispose() {},
  };
}
