import type { WindowSpec } from '../models/forecast-model.js';
import { bandAround } from '../models/interval-lower-bounds.js';
import { addFloors, calibratedSteps, growthFactor, intervalQuantiles, levelKey, loadIntervalScale, type IntervalCalibration, type WindowScale } from '../models/prediction-intervals.js';
import { nextTurn, turnSpent } from '../loop-turns.js';
import type { FeaturePlan } from './feature-plan.js';
import { forecastFromHistory, type Forecast, type PredictWindows, type ScaledHistory } from './recursive-forecast.js';

/** A run's calibration with the quantiles of the configured levels, computed once when the run is loaded. */
export interface IntervalSource {
  readonly calibration: IntervalCalibration;
  readonly levels: readonly number[];
  /** Per target, level key and forecast step: the conformal ratio. */
  readonly quantiles: Record<string, Record<string, number[]>>;
  /** The scale of a window's bands, floor included. */
  readonly scale: WindowScale;
  /** How many forecast steps get a band (`calibratedSteps`); later rows get none. */
  readonly steps: number;
}

/**
 * Per forecast row: per target, per level key, [lower, upper] in original units (NaN for both at a level the
 * calibration had too few windows for); null past the calibrated steps.
 */
export type RowIntervals = Record<string, Record<string, [number, number]>> | null;

export async function createIntervalSource(calibration: IntervalCalibration, levels: readonly number[]): Promise<IntervalSource> {
  return { calibration, levels, quantiles: intervalQuantiles(calibration, levels), scale: await loadIntervalScale(calibration), steps: calibratedSteps(calibration) };
}

/**
 * A forecast of `length` rows from `history` and, given a calibration, the intervals of its rows. A scale the
 * model reports with its forecast (MSTL's smoothing spread, `PredictBatch.spreads`) comes from the forecast of
 * the history's window, without a second fit of that window. `direct`: the model forecasts steps past its
 * horizon from one fit (`forecastFromHistory`).
 */
export async function forecastWithIntervals(plan: FeaturePlan, history: ScaledHistory, length: number, predict: PredictWindows, source: IntervalSource | undefined, direct = false): Promise<{ forecast: Forecast; intervals?: RowIntervals[] }> {
  if (!source) return { forecast: await forecastFromHistory(plan, history, length, predict, undefined, direct) };
  // NaN until the model writes them: a model that reports none leaves the scale to be computed from the window.
  const spreads = source.calibration.scale === 'smoothing' ? new Float64Array(plan.window.targets.length).fill(Number.NaN) : undefined;
  const forecast = await forecastFromHistory(plan, history, length, predict, spreads, direct);
  if (turnSpent()) await nextTurn();
  return { forecast, intervals: forecastIntervals(source, plan.window, history.rows, forecast, spreads) };
}

/**
 * Intervals of a forecast made from one input window (scaled, [inputSeqLen][features]). Each calibrated step
 * gets its band, the calibrated ratio times the window's scale (and widened by the distance past the fit's end
 * where the calibration says so): the model horizon's steps and the recursive steps past it that the
 * calibration covers (their errors, which feed on earlier predictions, were calibrated on the recursive
 * forecast itself); later steps get none. Lower ends are raised to the calibration's `lowerBounds`.
 * `spreads` ([targets]): the scale before its floor as the model reported it with the forecast, where it did
 * (`forecastWithIntervals`).
 */
export function forecastIntervals(source: IntervalSource, window: WindowSpec, inputWindow: Float32Array, forecast: Pick<Forecast, 'time' | 'values'>, spreads?: Float64Array): RowIntervals[] {
  const { values } = forecast;
  const scales = spreads && !spreads.some(Number.isNaN) ? addFloors(Float64Array.from(spreads), source.calibration.floors, window.targets) : source.scale(inputWindow, 1, window, forecast.time.subarray(0, 1));
  const rows = values[0]?.length ?? 0;
  return Array.from({ length: rows }, (_, row) => {
    if (row >= source.steps) return null;
    const out: Record<string, Record<string, [number, number]>> = {};
    window.targets.forEach((target, t) => {
      const byLevel: Record<string, [number, number]> = {};
      const growth = growthFactor(source.calibration, target, forecast.time[row]);
      const bound = source.calibration.lowerBounds?.[target];
      for (const level of source.levels) {
        const key = levelKey(level);
        const half = (source.quantiles[target]?.[key]?.[row] ?? Number.NaN) * scales[t] * growth;
        // No band (null in responses, left out of coverage) where the level had too few calibration errors.
        byLevel[key] = bandAround(values[t][row], half, bound);
      }
      out[target] = byLevel;
    });
    return out;
  });
}
