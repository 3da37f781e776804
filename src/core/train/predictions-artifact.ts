import { inverseScaleColumn, type ScalerParams } from '../data/scaler.js';
import { pickSeries } from '../forecast/metrics.js';
import type { WindowSpec } from '../models/forecast-model.js';
import type { IntervalBands } from '../models/prediction-intervals.js';
import type { WindowSet } from '../forecast/windows.js';

/** `<run_id>/predictions.json`: test forecasts next to the actuals, in original units (for plots and audits). */
export interface PredictionsArtifact {
  horizon: number;
  targets: string[];
  /** Epoch ms of each forecast, [window][step] flattened. */
  times: number[];
  actual: Record<string, number[]>;
  predicted: Record<string, number[]>;
  /** Prediction interval bands per target and level key, laid out like `predicted`. */
  intervals?: IntervalBands;
}

export function buildPredictionsArtifact(test: WindowSet, predicted: Float32Array, window: WindowSpec, scaler: ScalerParams, intervals?: IntervalBands): PredictionsArtifact {
  const nt = window.targets.length;
  const actual: Record<string, number[]> = {};
  const forecast: Record<string, number[]> = {};
  window.targets.forEach((target, t) => {
    actual[target] = Array.from(inverseScaleColumn(scaler, target, pickSeries(test.y, window.outputSeqLen, nt, t)));
    forecast[target] = Array.from(inverseScaleColumn(scaler, target, pickSeries(predicted, window.outputSeqLen, nt, t)));
  });
  return { horizon: window.outputSeqLen, targets: [...window.targets], times: Array.from(test.forecastTimes), actual, predicted: forecast, ...(intervals ? { intervals } : {}) };
}
