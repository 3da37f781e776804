import type { InferenceResultFields } from '../forecast/inference-result.js';
import { formatTimestamp } from '../data/timestamps.js';
import { magnitudes } from '../forecast/metrics.js';
import type { BatchForecast } from './batch-forecast.js';

/** Forecast quality where forecast timestamps overlap the data (reference 7.3), in original units. */
export interface BatchMetrics {
  overlap_rows?: number;
  mae_mean?: number;
  mse_mean?: number;
  rmse?: number;
  mae?: Record<string, number>;
  mse?: Record<string, number>;
  /** Per forecast row in order, while actuals exist (at most `maxErrorSteps`): mean absolute error over targets. */
  step_mae?: { step: number; mae: number }[];
  /** flts: mean absolute error per step of the model horizon (1 = one step ahead). */
  horizon_mae?: { step: number; mae: number }[];
  prediction_hash: string;
  rows_predicted: number;
}

export interface BatchSample {
  step: number;
  ts: string;
  pred: Record<string, number | null>;
  actual: Record<string, number | null> | null;
  abs_err: Record<string, number | null> | null;
}

/** The reference JSONL inference result record, plus what flts adds (source, forecast table, windows). */
export interface BatchResultRecord extends InferenceResultFields {
  metrics: BatchMetrics;
  samples: BatchSample[];
  rows_predicted: number;
  source: string;
  scaled_input: boolean;
  windows: number;
  horizon: number;
  forecast_object: string;
}

const finite = (value: number): number | null => (Number.isFinite(value) ? value : null);

export function batchMetrics(forecast: BatchForecast, predictionHash: string, maxErrorSteps: number): BatchMetrics {
  const rows = forecast.time.length;
  const base = { prediction_hash: predictionHash, rows_predicted: rows };
  const overlapping: number[] = [];
  for (let r = 0; r < rows; r++) if (forecast.actual.some((column) => Number.isFinite(column[r]))) overlapping.push(r);
  if (overlapping.length === 0) return base;
  const mae: Record<string, number> = {};
  const mse: Record<string, number> = {};
  const rootMeanSquares: number[] = [];
  forecast.targets.forEach((target, t) => {
    const errors: number[] = [];
    for (const r of overlapping) {
      const error = forecast.predicted[t][r] - forecast.actual[t][r];
      // NaN features are omitted, as in the reference.
      if (Number.isFinite(error)) errors.push(error);
    }
    if (errors.length > 0) {
      const { meanAbsolute, rootMeanSquare } = magnitudes(errors);
      mae[target] = meanAbsolute;
      mse[target] = rootMeanSquare * rootMeanSquare;
      rootMeanSquares.push(rootMeanSquare);
    }
  });
  const mean = (values: number[]): number => (values.length > 0 ? magnitudes(values).mean : 0);
  const rowMae = (r: number): number => mean(forecast.targets.map((_, t) => Math.abs(forecast.predicted[t][r] - forecast.actual[t][r])).filter(Number.isFinite));
  const horizonErrors = Array.from({ length: forecast.horizon }, () => [] as number[]);
  for (const r of overlapping) horizonErrors[forecast.step[r] - 1].push(rowMae(r));
  return {
    overlap_rows: overlapping.length,
    mae_mean: mean(Object.values(mae)),
    mse_mean: mean(Object.values(mse)),
    // The root of the mean of the targets' mse, taken from their roots so that it overflows only where it must.
    rmse: rootMeanSquares.length > 0 ? magnitudes(rootMeanSquares).rootMeanSquare : 0,
    mae,
    mse,
    step_mae: overlapping.slice(0, maxErrorSteps).map((r) => ({ step: r, mae: rowMae(r) })),
    horizon_mae: horizonErrors.map((errors, h) => ({ step: h + 1, mae: mean(errors) })).filter((_, h) => horizonErrors[h].length > 0),
    ...base,
  };
}

/** Rows at the reference's positions {0, n//10, n//2, 9n//10, n-1}, first `columns` forecast columns. */
export function batchSamples(forecast: BatchForecast, columns: number): BatchSample[] {
  const n = forecast.time.length;
  const positions = [...new Set([0, n - 1, Math.floor(n / 10), Math.floor(n / 2), Math.floor((9 * n) / 10)])].filter((p) => p >= 0 && p < n).sort((a, b) => a - b);
  const shown = forecast.targets.slice(0, columns);
  return positions.map((r) => {
    const hasActual = shown.some((_, t) => Number.isFinite(forecast.actual[t][r]));
    const pick = (value: (t: number) => number): Record<string, number | null> => Object.fromEntries(shown.map((name, t) => [name, finite(value(t))]));
    return {
      step: r,
      ts: formatTimestamp(forecast.time[r]),
      pred: pick((t) => forecast.predicted[t][r]),
      actual: hasActual ? pick((t) => forecast.actual[t][r]) : null,
      abs_err: hasActual ? pick((t) => Math.abs(forecast.predicted[t][r] - forecast.actual[t][r])) : null,
    };
  });
}
