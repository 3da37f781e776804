import { createHash } from 'node:crypto';
import type { TimeFrame } from '../data/time-frame.js';
import type { ForecastModel } from '../models/forecast-model.js';
import { unscaleTarget, type FeaturePlan } from '../forecast/feature-plan.js';
import { historyFromFrame, type PredictWindows } from '../forecast/recursive-forecast.js';
import { createRequestBatcher } from '../forecast/request-batcher.js';
import { forecastWithIntervals, type IntervalSource } from '../forecast/forecast-intervals.js';
import { formatTimestamp } from '../data/timestamps.js';
import { FltsError } from '../errors.js';
import type { InferenceInput } from './inference-input.js';

/**
 * Forecasts of every input window of a series, long format: one row per (window, step). `origin` is the
 * timestamp of the window's last input row; `time` the forecast timestamp. Values are in original units.
 */
export interface BatchForecast {
  readonly targets: readonly string[];
  /** Forecast rows per window (the model horizon). */
  readonly horizon: number;
  readonly windows: number;
  readonly origin: Float64Array;
  readonly time: Float64Array;
  /** 1-based step within the window's forecast. */
  readonly step: Int32Array;
  /** Per target. */
  readonly predicted: Float64Array[];
  /** Per target; NaN where the data has no row at the forecast timestamp. */
  readonly actual: Float64Array[];
  /** Per target and level key ("0.8"): the prediction interval of each row, when the run has a calibration. */
  readonly intervals?: Record<string, Record<string, { lower: Float64Array; upper: Float64Array }>>;
  readonly forwardPasses: number;
}

export interface BatchForecastOptions {
  /** Windows per forward pass. */
  chunkSize: number;
  signal?: AbortSignal;
  /**
   * Told the windows done at each chunk's end and as each tenth of them is passed within a chunk: a chunk (256
   * windows) longer than a tenth of a short file would otherwise step over tenths, which progress reports each of.
   */
  onChunk?: (done: number, total: number) => void;
  /** The run's intervals at the configured levels; rows get no bounds without it. */
  intervals?: IntervalSource;
}

/** Rows [from, to) as views, without copying. */
function rowView(frame: TimeFrame, from: number, to: number): TimeFrame {
  const values: Record<string, Float64Array> = {};
  for (const column of frame.columns) values[column] = frame.values[column].subarray(from, to);
  return { time: frame.time.subarray(from, to), columns: frame.columns, values };
}

/**
 * Finite inputs far outside the training range (1e300 bytes) overflow a model's float32 arithmetic. A table with
 * such a forecast left blank would be logged as a SUCCESS whose metrics skip those rows (an rmse of 0 when every
 * row is blank): it is refused, coded, as `/predict` refuses the same window, before anything is written.
 */
function assertFiniteForecast(values: readonly Float64Array[], targets: readonly string[], origin: number): void {
  const t = values.findIndex((column) => !column.every(Number.isFinite));
  if (t < 0) return;
  throw new FltsError(
    'FLTS_FORECAST_NOT_FINITE',
    `The forecast of ${targets[t]} from the window ending ${formatTimestamp(origin)} is not a finite number: the input values are too far outside what the model was trained on.`,
    { details: { target: targets[t], origin: formatTimestamp(origin) } },
  );
}

/**
 * One forecast per input window (every run of `inputSeqLen` consecutive rows), computed with the serving
 * code itself: `historyFromFrame` builds the window exactly as `/predict` does and `forecastWithIntervals`
 * un-scales the output and adds the bands, while a request batcher gathers a chunk of windows into one `model.predict`.
 * So a batch forecast equals the `/predict` answer for the same rows.
 */
export async function forecastEveryWindow(plan: FeaturePlan, model: ForecastModel, input: InferenceInput, options: BatchForecastOptions): Promise<BatchForecast> {
  const { inputSeqLen: seq, outputSeqLen: horizon, targets } = plan.window;
  const { frame } = input;
  const windows = frame.time.length - seq + 1;
  const rows = windows * horizon;
  const origin = new Float64Array(rows);
  const time = new Float64Array(rows);
  const step = new Int32Array(rows);
  const predicted = targets.map(() => new Float64Array(rows));
  const actual = targets.map(() => new Float64Array(rows).fill(Number.NaN));
  const keys = options.intervals ? Object.keys(options.intervals.quantiles[targets[0]] ?? {}) : [];
  const bounds = options.intervals
    ? Object.fromEntries(targets.map((target) => [target, Object.fromEntries(keys.map((key) => [key, { lower: new Float64Array(rows), upper: new Float64Array(rows) }]))]))
    : undefined;
  const rowOfTime = new Map<number, number>();
  frame.time.forEach((ms, row) => rowOfTime.set(ms, row));
  let forwardPasses = 0;
  const batcher = createRequestBatcher(model, { maxBatch: options.chunkSize, maxWaitMs: 0, onBatch: () => forwardPasses++ });
  const predict: PredictWindows = (w, t, size, spreads, steps) => batcher.predict(w, t, size, spreads, steps);

  for (let from = 0; from < windows; from += options.chunkSize) {
    options.signal?.throwIfAborted();
    const to = Math.min(windows, from + options.chunkSize);
    const forecasts = await Promise.all(
      Array.from({ length: to - from }, async (_, i) => {
        const first = from + i;
        const history = historyFromFrame(plan, rowView(frame, first, first + seq), input.cadenceMs, input.scaled);
        return forecastWithIntervals(plan, history, horizon, predict, options.intervals, model.predictSteps !== undefined);
      }),
    );
    forecasts.forEach(({ forecast, intervals }, i) => {
      const w = from + i;
      const last = frame.time[w + seq - 1];
      assertFiniteForecast(forecast.values, targets, last);
      for (let h = 0; h < horizon; h++) {
        const r = w * horizon + h;
        origin[r] = last;
        time[r] = forecast.time[h];
        step[r] = h + 1;
        const actualRow = rowOfTime.get(forecast.time[h]);
        targets.forEach((target, t) => {
          predicted[t][r] = forecast.values[t][h];
          for (const key of keys) {
            const [lower, upper] = intervals?.[h]?.[target]?.[key] ?? [Number.NaN, Number.NaN];
            bounds![target][key].lower[r] = lower;
            bounds![target][key].upper[r] = upper;
          }
          if (actualRow !== undefined) {
            const value = frame.values[target][actualRow];
            actual[t][r] = input.scaled ? unscaleTarget(plan, t, value) : value;
          }
        });
      }
      const done = w + 1;
      if (done < to && Math.floor((10 * done) / windows) > Math.floor((10 * w) / windows)) options.onChunk?.(done, windows);
    });
    options.onChunk?.(to, windows);
  }
  return { targets, horizon, windows, origin, time, step, predicted, actual, ...(bounds ? { intervals: bounds } : {}), forwardPasses };
}

/**
 * 16 hex characters of SHA-256 over every forecast row (origin, time, predicted values): the reference's
 * fingerprint length, but over the whole result instead of its first three rows, so two different
 * datasets that merely start alike are not taken for duplicates.
 */
export function batchPredictionHash(forecast: BatchForecast): string {
  const hash = createHash('sha256');
  for (let r = 0; r < forecast.time.length; r++) {
    const values = forecast.predicted.map((column) => (Number.isFinite(column[r]) ? column[r] : null));
    hash.update(`${formatTimestamp(forecast.origin[r])}|${formatTimestamp(forecast.time[r])}|${JSON.stringify(values)}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}
