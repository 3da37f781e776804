import type { ScalerParams } from '../data/scaler.js';
import { inverseScaleColumn } from '../data/scaler.js';
import type { IntervalScore } from '../models/prediction-intervals.js';

export interface MetricSet {
  mse: number;
  rmse: number;
  mae: number;
  r2: number;
  /** RMSE / mean of the actuals (the dataset paper's NRMSE); NaN when the mean is 0; absent from records written before it existed. */
  nrmse?: number;
}

export interface TargetMetrics {
  scaled: MetricSet;
  original: MetricSet;
  /** Prediction intervals on the test windows, by level key ("0.8"): share of actuals inside, mean width (original units), or why the level has no band. */
  intervals?: Record<string, IntervalScore>;
  /** One entry per forecast step, only when the horizon is longer than 1. */
  perStep?: { step: number; scaled: MetricSet; original: MetricSet }[];
}

/** Held-out metrics of one model: `overall` on the scaled values (what the score uses), then per target. */
export interface ForecastMetrics {
  count: number;
  overall: MetricSet;
  targets: Record<string, TargetMetrics>;
}

export interface Magnitudes {
  mean: number;
  meanAbsolute: number;
  rootMeanSquare: number;
}

/**
 * Mean, mean absolute value and root mean square of the first `count` values, each divided by the largest
 * magnitude first: the square of an error near 1e300 overflows, its ratio to the largest never does, so every
 * figure is finite wherever its true value is. NaN for no values; a NaN or infinite value carries through.
 */
export function magnitudes(values: ArrayLike<number>, count = values.length): Magnitudes {
  let largest = 0;
  for (let i = 0; i < count; i++) {
    const magnitude = Math.abs(values[i]);
    if (magnitude > largest) largest = magnitude;
  }
  // Nothing finite and non-zero to divide by: the plain sums, which are exact for zeros and carry an Infinity.
  const scale = largest > 0 && Number.isFinite(largest) ? largest : 1;
  let sum = 0;
  let absolute = 0;
  let squares = 0;
  for (let i = 0; i < count; i++) {
    const ratio = values[i] / scale;
    sum += ratio;
    absolute += Math.abs(ratio);
    squares += ratio * ratio;
  }
  return { mean: scale * (sum / count), meanAbsolute: scale * (absolute / count), rootMeanSquare: scale * Math.sqrt(squares / count) };
}

/**
 * mse, rmse, mae and r2 (scikit-learn's definition: 1 for a perfect fit of a constant, else 0 for zero variance).
 * Errors and deviations are summed as ratios to their largest (`magnitudes`), so values in original units near
 * 1e300 give a finite rmse, mae, r2 and nrmse; mse is the square of rmse and overflows only where it must.
 */
export function computeMetrics(actual: ArrayLike<number>, predicted: ArrayLike<number>): MetricSet {
  const n = actual.length;
  if (n === 0) return { mse: Number.NaN, rmse: Number.NaN, mae: Number.NaN, r2: Number.NaN, nrmse: Number.NaN };
  const { mean } = magnitudes(actual);
  const errors = new Float64Array(n);
  const deviations = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    errors[i] = actual[i] - predicted[i];
    deviations[i] = actual[i] - mean;
  }
  const { meanAbsolute: mae, rootMeanSquare: rmse } = magnitudes(errors);
  const spread = magnitudes(deviations).rootMeanSquare;
  const r2 = spread > 0 ? 1 - (rmse / spread) ** 2 : rmse === 0 ? 1 : 0;
  return { mse: rmse * rmse, rmse, mae, r2, nrmse: mean !== 0 ? rmse / Math.abs(mean) : Number.NaN };
}

/** Values of one (step, target) cell from a [size][horizon][targets] array, or of every step when step is undefined. */
export function pickSeries(values: ArrayLike<number>, horizon: number, targets: number, target: number, step?: number): Float64Array {
  const size = values.length / (horizon * targets);
  const steps = step === undefined ? horizon : 1;
  const out = new Float64Array(size * steps);
  for (let w = 0; w < size; w++) {
    for (let s = 0; s < steps; s++) out[w * steps + s] = values[(w * horizon + (step ?? s)) * targets + target];
  }
  return out;
}

/**
 * Metrics of scaled forecasts against scaled actuals, [size][horizon][targets] each. Original units come from
 * inverting the scaler that produced the data. `overall` pools every value (the reference's flattened arrays)
 * with r2 averaged over targets.
 */
export function evaluateForecasts(actual: ArrayLike<number>, predicted: ArrayLike<number>, horizon: number, targetNames: readonly string[], scaler: ScalerParams): ForecastMetrics {
  const nt = targetNames.length;
  const targets: Record<string, TargetMetrics> = {};
  targetNames.forEach((name, t) => {
    const scaledActual = pickSeries(actual, horizon, nt, t);
    const scaledPredicted = pickSeries(predicted, horizon, nt, t);
    const metrics: TargetMetrics = {
      scaled: computeMetrics(scaledActual, scaledPredicted),
      original: computeMetrics(inverseScaleColumn(scaler, name, scaledActual), inverseScaleColumn(scaler, name, scaledPredicted)),
    };
    if (horizon > 1) {
      metrics.perStep = Array.from({ length: horizon }, (_, step) => {
        const a = pickSeries(actual, horizon, nt, t, step);
        const p = pickSeries(predicted, horizon, nt, t, step);
        return { step: step + 1, scaled: computeMetrics(a, p), original: computeMetrics(inverseScaleColumn(scaler, name, a), inverseScaleColumn(scaler, name, p)) };
      });
    }
    targets[name] = metrics;
  });
  const pooled = computeMetrics(actual, predicted);
  const r2 = targetNames.reduce((sum, name) => sum + targets[name].scaled.r2, 0) / Math.max(1, nt);
  return { count: actual.length / (horizon * Math.max(1, nt)), overall: { ...pooled, r2 }, targets };
}

/** Values laid out [size][horizon][targets] on the scaled scale, returned in original units in the same layout. */
export function toOriginalUnits(values: ArrayLike<number>, horizon: number, targetNames: readonly string[], scaler: ScalerParams): Float64Array {
  const nt = targetNames.length;
  const out = new Float64Array(values.length);
  targetNames.forEach((name, t) => {
    const original = inverseScaleColumn(scaler, name, pickSeries(values, horizon, nt, t));
    for (let i = 0; i < original.length; i++) out[i * nt + t] = original[i];
  });
  return out;
}
