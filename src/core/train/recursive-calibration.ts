import type { ScalerParams } from '../data/scaler.js';
import { detectCadence } from '../data/timestamps.js';
import { createFeaturePlan, unscaleTarget } from '../forecast/feature-plan.js';
import { forecastFromHistory } from '../forecast/recursive-forecast.js';
import { chunkWindows, yieldToAbort, type PredictProgress } from '../forecast/predict-windows.js';
import { createRequestBatcher } from '../forecast/request-batcher.js';
import { spreadEvenly, windowInputs, type LazyWindowSet, type WindowSet } from '../forecast/windows.js';
import type { ForecastModel, WindowSpec } from '../models/forecast-model.js';
import { growthFactor, windowScale, type IntervalCalibration } from '../models/prediction-intervals.js';

/**
 * At most this many calibration windows start a recursive forecast, spread evenly over the calibration set:
 * enough ratios for a 95 % quantile at every step (spread over four weeks of 2-minute rows they start 100
 * minutes apart, so their paths barely overlap), at a bounded cost (a forward pass over them per step) however
 * long the calibration set is.
 */
export const RECURSIVE_WINDOWS = 400;
/**
 * Fewer windows than this calibrate no recursive step: a 95 % band needs 19 ratios to be bounded at all, and
 * with 40 it is not the single largest error (ceil(41 x 0.95) = 39).
 */
export const MIN_RECURSIVE_WINDOWS = 40;
/**
 * Input rows the recursive windows hold in all: a step's forward passes cost windows x input rows, so past
 * RECURSIVE_INPUT_ROWS / RECURSIVE_WINDOWS rows per window (720, a day of 2-minute rows) fewer windows start a
 * recursive forecast, never fewer than MIN_RECURSIVE_WINDOWS (a 2,500-row window: 115 windows rather than
 * 400, a 3.5 times shorter recursion).
 */
export const RECURSIVE_INPUT_ROWS = RECURSIVE_WINDOWS * 720;

/** How many calibration windows at most start a recursive forecast, for input windows of `inputSeqLen` rows. */
export function recursiveWindows(inputSeqLen: number): number {
  return Math.max(MIN_RECURSIVE_WINDOWS, Math.min(RECURSIVE_WINDOWS, Math.floor(RECURSIVE_INPUT_ROWS / inputSeqLen)));
}

/** The calibration windows whose every step from `horizon` to `steps` has an actual, at most `most` of them spread evenly. */
function recursiveOrigins(set: WindowSet | LazyWindowSet, horizon: number, steps: number, cadence: number, actualAt: Map<number, number>, most: number): number[] {
  const eligible: number[] = [];
  for (let w = 0; w < set.size; w++) {
    const first = set.forecastTimes[w * horizon];
    let complete = true;
    for (let s = horizon; s < steps && complete; s++) complete = actualAt.has(first + s * cadence);
    if (complete) eligible.push(w);
  }
  return spreadEvenly(eligible, most);
}

/**
 * The calibration extended to `steps` forecast steps. Past the model horizon a forecast is recursive (each
 * predicted step fed back as an input row) or, for a model with `predictSteps`, made from one fit; either way
 * its errors are calibrated on the model's own forecasts made as serving makes them, from up to
 * `recursiveWindows` of the calibration windows (RECURSIVE_WINDOWS, fewer for long input windows), each error divided by its first window's scale (floor
 * included) like the horizon's, and, where the errors grow past the end of a fit (Prophet), by the growth at
 * its distance past `calibratingFitEnd`. Windows lacking an actual at some step are left out; a set with fewer
 * than MIN_RECURSIVE_WINDOWS left, or `steps` within the horizon, leaves the calibration as it is.
 */
export async function withRecursiveSteps(
  calibration: IntervalCalibration,
  model: ForecastModel,
  set: WindowSet | LazyWindowSet,
  window: WindowSpec,
  scaler: ScalerParams,
  steps: number,
  calibratingFitEnd?: number,
  progress?: PredictProgress,
): Promise<IntervalCalibration> {
  const { inputSeqLen: seq, outputSeqLen: horizon, features, targets } = window;
  if (steps <= horizon || set.size < 2) return calibration;
  // The series' step, as serving finds it from a request's rows.
  const cadence = detectCadence(Float64Array.from({ length: set.size }, (_, w) => set.forecastTimes[w * horizon]));
  const nt = targets.length;
  const actualAt = new Map<number, number>();
  for (let i = set.forecastTimes.length - 1; i >= 0; i--) actualAt.set(set.forecastTimes[i], i * nt);
  const origins = recursiveOrigins(set, horizon, steps, cadence, actualAt, recursiveWindows(seq));
  if (origins.length < MIN_RECURSIVE_WINDOWS) return calibration;

  const plan = createFeaturePlan(window, scaler);
  const width = seq * features.length;
  const windows = new Float32Array(origins.length * width);
  origins.forEach((w, i) => windows.set(windowInputs(set, w, w + 1, window), i * width));
  const firstTimes = Float64Array.from(origins, (w) => set.forecastTimes[w * horizon]);
  const kind = calibration.scale ?? 'volatility';
  // A smoothing scale is what the fit forecasting the window reports; the others are read from the window.
  const spreads = kind === 'smoothing' ? new Float64Array(origins.length * nt) : undefined;
  // Serving's own forecast past the horizon (recursive, or from one fit for a model with predictSteps), one
  // history per window, the forward passes of every window's step gathered into one.
  // Long windows go through in several passes per step, like any prediction of them (`chunkWindows`). A step's
  // passes would otherwise follow each other within one turn of the event loop; the turn before each lets a stop
  // in, and whatever else waits for the loop, with or without a signal (the batches gathered are then the same).
  const direct = model.predictSteps !== undefined;
  const passes = direct ? 1 : Math.ceil(steps / horizon);
  let passesDone = 0;
  const batcher = createRequestBatcher(model, { maxBatch: Math.min(origins.length, chunkWindows(width, model.maxChunkWindows)), maxWaitMs: 0 });
  const forecasts = await Promise.all(
    origins.map((_, i) => {
      const history = { time: Float64Array.from({ length: seq }, (_, r) => firstTimes[i] - (seq - r) * cadence), rows: windows.subarray(i * width, (i + 1) * width), cadenceMs: cadence };
      const predict = async (w: Float32Array, t: Float64Array, size: number, s?: Float64Array, k?: number) => {
        await yieldToAbort(progress);
        const predicted = await batcher.predict(w, t, size, s, k);
        // Every window takes each step at the same time: the first reports it.
        if (i === 0) progress?.onChunk?.(++passesDone, passes);
        return predicted;
      };
      return forecastFromHistory(plan, history, steps, predict, spreads?.subarray(i * nt, (i + 1) * nt), direct);
    }),
  );
  const scales = kind === 'smoothing' ? spreads! : windowScale(kind, windows, origins.length, window);
  // The errors' growth, measured from the end of the fit that made these forecasts.
  const calibrating = calibration.growth && calibratingFitEnd !== undefined ? { growth: { ...calibration.growth, fitEnd: calibratingFitEnd } } : undefined;

  const errors: Record<string, number[][]> = {};
  targets.forEach((target, t) => {
    const floor = calibration.floors[target] ?? 0;
    const past = Array.from({ length: steps - horizon }, (_, k) => {
      const step = horizon + k;
      const ratios: number[] = [];
      origins.forEach((_, i) => {
        const time = firstTimes[i] + step * cadence;
        const actual = unscaleTarget(plan, t, set.y[actualAt.get(time)! + t]);
        const factor = calibrating ? growthFactor(calibrating, target, time) : 1;
        const ratio = Math.abs(actual - forecasts[i].values[t][step]) / ((scales[i * nt + t] + floor) * factor);
        if (Number.isFinite(ratio)) ratios.push(Number(ratio.toPrecision(6)));
      });
      return ratios.sort((a, b) => a - b);
    });
    errors[target] = [...calibration.errors[target].slice(0, horizon), ...past];
  });
  return { ...calibration, errors, recursive: { windows: origins.length } };
}
