import type { ScalerParams } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';
import { computeMetrics, evaluateForecasts, magnitudes, type MetricSet } from '../forecast/metrics.js';
import { referenceScore } from '../eval/scoreboard.js';
import type { EventSink } from '../events.js';
import { predictSteps, type WindowSpec } from '../models/forecast-model.js';
import { createFeaturePlan, scaleValue } from '../forecast/feature-plan.js';
import { historyFromFrame, type PredictWindows } from '../forecast/recursive-forecast.js';
import { formatTimestamp } from '../data/timestamps.js';
import type { FoldModelProvider } from './fold-models.js';
import { forecastWithIntervals, type RowIntervals } from '../forecast/forecast-intervals.js';
import { inverseScaleColumn } from '../data/scaler.js';

/** Per target and level key: the band of each forecast row (null past the model horizon, where no calibration applies). */
export type FoldIntervals = Record<string, Record<string, { lower: (number | null)[]; upper: (number | null)[] }>>;

/** Per target and level key: how many actuals with a band fell inside it (a level without any band has no entry). */
export type IntervalCounts = Record<string, Record<string, { coverage: number; inside: number; count: number }>>;

export interface FoldResult {
  fold: number;
  /** Timestamp of the first forecast row. */
  origin: string;
  origin_row: number;
  /** Timestamp of the last input row the forecast saw (always before the origin). */
  input_end: string;
  /** Timestamp of the last row the model was fitted on; null when nothing was fitted on this series. */
  fitted_end: string | null;
  refitted: boolean;
  /** Scaled, over every step and target (what the score uses). */
  metrics: MetricSet;
  /** Per target, original units. */
  targets: Record<string, { rmse: number; mae: number }>;
  /** Forecast timestamps and values (original units) per target. */
  forecast: { time: string[] } & Record<string, number[] | string[]>;
  /** The prediction intervals of the forecast (original units); absent when the model has no calibration. */
  intervals?: FoldIntervals;
  /** Share of this fold's actuals inside each band. */
  coverage?: IntervalCounts;
}

export interface BacktestModelResult {
  model_type: string;
  run_id: string | null;
  model_origin: FoldModelProvider['origin'];
  folds: FoldResult[];
  aggregate: {
    /** Means of the per-fold scaled metrics. */
    rmse: number;
    mae: number;
    mse: number;
    /** Every fold's forecasts pooled. */
    pooled: MetricSet;
    /** The reference score (0.5 rmse + 0.3 mae + 0.2 mse) of the fold means. */
    score: number;
    targets: Record<string, { rmse: number; mae: number }>;
    /** Every fold's actuals against their bands, pooled. */
    coverage?: IntervalCounts;
  };
}

export interface BacktestModelInput {
  /** Training rows followed by the test rows, on the processed (scaled) scale. */
  series: TimeFrame;
  origins: readonly number[];
  horizon: number;
  cadenceMs: number;
  window: WindowSpec;
  scaler: ScalerParams;
  provider: FoldModelProvider;
  onEvent?: EventSink;
  /** Checked before each fold: a stop ends the backtest between folds as well as inside a refit. */
  signal?: AbortSignal;
}

/** Fold means in original units near 1e300 stay finite: summed as ratios to the largest (`magnitudes`). */
const mean = (values: number[]): number => (values.length > 0 ? magnitudes(values).mean : 0);

/** The rows' intervals laid out per target and level, with the count of actuals (original units) inside. */
function foldIntervals(rows: readonly RowIntervals[], actual: Record<string, Float64Array>): { intervals: FoldIntervals; coverage: IntervalCounts } {
  const intervals: FoldIntervals = {};
  const coverage: IntervalCounts = {};
  rows.forEach((row, r) => {
    for (const [target, levels] of Object.entries(row ?? {})) {
      for (const [key, [lower, upper]] of Object.entries(levels)) {
        const band = ((intervals[target] ??= {})[key] ??= { lower: Array<number | null>(rows.length).fill(null), upper: Array<number | null>(rows.length).fill(null) });
        band.lower[r] = Number.isFinite(lower) ? lower : null;
        band.upper[r] = Number.isFinite(upper) ? upper : null;
        // A level with too few calibration windows has no band (NaN ends): counting it would score it as covering.
        if (!Number.isFinite(lower) || !Number.isFinite(upper)) continue;
        const counts = ((coverage[target] ??= {})[key] ??= { coverage: 0, inside: 0, count: 0 });
        const value = actual[target][r];
        if (!Number.isFinite(value)) continue;
        counts.count++;
        if (value >= lower && value <= upper) counts.inside++;
        counts.coverage = counts.inside / counts.count;
      }
    }
  });
  return { intervals, coverage };
}

/** Sums fold counts into pooled coverage per target and level. */
function poolCoverage(folds: readonly FoldResult[]): IntervalCounts | undefined {
  const pooled: IntervalCounts = {};
  for (const fold of folds) {
    for (const [target, levels] of Object.entries(fold.coverage ?? {})) {
      for (const [key, counts] of Object.entries(levels)) {
        const sum = ((pooled[target] ??= {})[key] ??= { coverage: 0, inside: 0, count: 0 });
        sum.inside += counts.inside;
        sum.count += counts.count;
        sum.coverage = sum.count ? sum.inside / sum.count : Number.NaN;
      }
    }
  }
  return Object.keys(pooled).length > 0 ? pooled : undefined;
}

/**
 * Rolling-origin evaluation of one model. A fold's forecast is built from the `inputSeqLen` rows before its
 * origin only (the history is cut from the series at the origin), forecast past the model horizon as serving
 * does (recursively, or from one fit for a model with `predictSteps`), and compared with the `horizon` rows from
 * the origin on.
 */
export async function backtestModel(input: BacktestModelInput): Promise<BacktestModelResult> {
  const { series, horizon, window, provider } = input;
  const plan = createFeaturePlan(window, input.scaler);
  const nt = window.targets.length;
  const folds: FoldResult[] = [];
  const allActual: number[] = [];
  const allPredicted: number[] = [];
  for (const [fold, originRow] of input.origins.entries()) {
    input.signal?.throwIfAborted();
    const { model, fittedRows, intervals } = await provider.modelFor(fold, originRow, series);
    const seen: TimeFrame = { time: series.time.subarray(0, originRow), columns: series.columns, values: Object.fromEntries(series.columns.map((c) => [c, series.values[c].subarray(0, originRow)])) };
    const history = historyFromFrame(plan, seen, input.cadenceMs, true);
    const predict: PredictWindows = (windows, forecastTimes, size, spreads, steps = window.outputSeqLen) => predictSteps(model, { windows, forecastTimes, size, spreads }, steps);
    const { forecast, intervals: rows } = await forecastWithIntervals(plan, history, horizon, predict, intervals, model.predictSteps !== undefined);
    const actual = new Float32Array(horizon * nt);
    const predicted = new Float32Array(horizon * nt);
    window.targets.forEach((target, t) => {
      const feature = plan.targetFeature[t];
      for (let h = 0; h < horizon; h++) {
        actual[h * nt + t] = series.values[target][originRow + h];
        predicted[h * nt + t] = scaleValue(plan, feature, forecast.values[t][h]);
      }
    });
    allActual.push(...actual);
    allPredicted.push(...predicted);
    const evaluated = evaluateForecasts(actual, predicted, horizon, window.targets, input.scaler);
    const bands = rows
      ? foldIntervals(
          rows,
          Object.fromEntries(window.targets.map((target) => [target, inverseScaleColumn(input.scaler, target, series.values[target].subarray(originRow, originRow + horizon))])),
        )
      : undefined;
    const result: FoldResult = {
      fold,
      origin: formatTimestamp(series.time[originRow]),
      origin_row: originRow,
      input_end: formatTimestamp(history.time[history.time.length - 1]),
      fitted_end: fittedRows === null ? null : formatTimestamp(series.time[fittedRows - 1]),
      refitted: provider.origin === 'fitted' && fittedRows === originRow,
      metrics: evaluated.overall,
      targets: Object.fromEntries(window.targets.map((name) => [name, { rmse: evaluated.targets[name].original.rmse, mae: evaluated.targets[name].original.mae }])),
      forecast: { time: Array.from(forecast.time, formatTimestamp), ...Object.fromEntries(window.targets.map((name, t) => [name, Array.from(forecast.values[t])])) },
      ...(bands ?? {}),
    };
    folds.push(result);
    input.onEvent?.({ type: 'backtest.fold', modelType: provider.modelType, fold, folds: input.origins.length, rmse: result.metrics.rmse });
  }
  const fold = (pick: (f: FoldResult) => number): number => mean(folds.map(pick));
  const coverage = poolCoverage(folds);
  const aggregate = { rmse: fold((f) => f.metrics.rmse), mae: fold((f) => f.metrics.mae), mse: fold((f) => f.metrics.mse) };
  return {
    model_type: provider.modelType,
    run_id: provider.runId,
    model_origin: provider.origin,
    folds,
    aggregate: {
      ...aggregate,
      pooled: computeMetrics(allActual, allPredicted),
      score: referenceScore(aggregate),
      targets: Object.fromEntries(window.targets.map((name) => [name, { rmse: fold((f) => f.targets[name].rmse), mae: fold((f) => f.targets[name].mae) }])),
      ...(coverage ? { coverage } : {}),
    },
  };
}
