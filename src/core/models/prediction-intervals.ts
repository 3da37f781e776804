import { FltsError } from '../errors.js';
import type { WindowSpec } from './forecast-model.js';

/** Recent changes of a window that measure how much the series is moving. */
const VOLATILITY_CHANGES = 10;
/** The volatility floor, as a share of the mean calibration volatility: a flat window still gets a band. */
const VOLATILITY_FLOOR = 0.1;

/**
 * Locally weighted split-conformal prediction intervals. Each error of a model on windows it was not fitted
 * on (the validation tail) is divided by the window's volatility (mean absolute change of the target over
 * its last rows, plus a floor) and the ratios are sorted per target and forecast step. The interval at level
 * L is +- the ceil((n + 1) L)-th smallest ratio times the new window's volatility: it covers a new error
 * with probability >= L when the ratios are exchangeable, and it widens when the series moves more, so a
 * busier or calmer period than the calibration one keeps its coverage. Ratios are in original units per
 * unit of scaled volatility, so serving needs neither the scaler nor the calibration data for any level.
 */
export interface IntervalCalibration {
  format: 'flts-conformal-v1';
  method: 'split-conformal';
  /** Where the errors come from: windows the model never fitted on, or (models fitted on every training row) in-sample. */
  calibration: 'validation-tail' | 'in-sample';
  /** Calibration windows per step. */
  windows: number;
  horizon: number;
  /** Per target: the volatility floor (scaled units) added to every window's volatility. */
  floors: Record<string, number>;
  /** Per target: per forecast step, the sorted error / volatility ratios. */
  errors: Record<string, number[][]>;
}

/**
 * Per window and target ([size][targets]): the mean absolute change of the target over the window's last
 * rows (scaled units); 1 for windows of a single row, whose scale stays constant.
 */
export function windowVolatility(windows: ArrayLike<number>, size: number, window: WindowSpec): Float64Array {
  const { inputSeqLen: seq, features, targets } = window;
  const nf = features.length;
  const changes = Math.min(seq - 1, VOLATILITY_CHANGES);
  const columns = targets.map((target) => features.indexOf(target));
  const out = new Float64Array(size * targets.length);
  for (let w = 0; w < size; w++) {
    columns.forEach((column, t) => {
      if (changes < 1) {
        out[w * targets.length + t] = 1;
        return;
      }
      let sum = 0;
      for (let r = seq - changes; r < seq; r++) sum += Math.abs(windows[(w * seq + r) * nf + column] - windows[(w * seq + r - 1) * nf + column]);
      out[w * targets.length + t] = sum / changes;
    });
  }
  return out;
}

/** Per target, per level (keyed like "0.8"), per forecast step: [lower, upper] arrays. */
export type IntervalBands = Record<string, Record<string, { lower: number[]; upper: number[] }>>;

/** The key of a level in responses and records: the shortest decimal text ("0.8", "0.95"). */
export function levelKey(level: number): string {
  return String(level);
}

/** Parses `FLTS_INTERVAL_LEVELS`-style text items into sorted distinct levels in (0, 1). */
export function parseIntervalLevels(items: readonly string[]): number[] {
  const levels = items.map((item) => {
    const level = Number(item);
    if (!(level > 0 && level < 1)) {
      throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `Interval level ${JSON.stringify(item)} is not valid: expected numbers strictly between 0 and 1, e.g. 0.8,0.95.`, {
        details: { setting: 'eval.intervalLevels', value: item },
      });
    }
    return level;
  });
  return [...new Set(levels)].sort((a, b) => a - b);
}

/**
 * Sorted error / volatility ratios per target and step, from actuals and forecasts laid out
 * [size][horizon][targets] in original units and the volatility of each window ([size][targets], scaled);
 * non-finite pairs are skipped.
 */
export function calibrateIntervals(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  volatility: Float64Array,
  horizon: number,
  targets: readonly string[],
  calibration: IntervalCalibration['calibration'],
): IntervalCalibration {
  const nt = targets.length;
  const size = actual.length / (horizon * nt);
  const errors: Record<string, number[][]> = {};
  const floors: Record<string, number> = {};
  targets.forEach((target, t) => {
    let mean = 0;
    for (let w = 0; w < size; w++) mean += volatility[w * nt + t] / size;
    const floor = mean > 0 ? VOLATILITY_FLOOR * mean : 1;
    floors[target] = floor;
    errors[target] = Array.from({ length: horizon }, (_, h) => {
      const step: number[] = [];
      for (let w = 0; w < size; w++) {
        const i = (w * horizon + h) * nt + t;
        const ratio = Math.abs(actual[i] - predicted[i]) / (volatility[w * nt + t] + floor);
        if (Number.isFinite(ratio)) step.push(Number(ratio.toPrecision(6)));
      }
      return step.sort((a, b) => a - b);
    });
  });
  return { format: 'flts-conformal-v1', method: 'split-conformal', calibration, windows: size, horizon, floors, errors };
}

/** The conformal half-width at `level` over sorted errors: Infinity when there are too few errors for the level. */
export function conformalHalfWidth(sortedErrors: readonly number[], level: number): number {
  const n = sortedErrors.length;
  const rank = Math.ceil((n + 1) * level);
  return rank > n || n === 0 ? Number.POSITIVE_INFINITY : sortedErrors[Math.max(0, rank - 1)];
}

/** Conformal ratio quantiles per target, level key and forecast step (multiply by a window's scale for a half-width). */
export function intervalQuantiles(calibration: IntervalCalibration, levels: readonly number[]): Record<string, Record<string, number[]>> {
  const out: Record<string, Record<string, number[]>> = {};
  for (const [target, steps] of Object.entries(calibration.errors)) {
    out[target] = Object.fromEntries(levels.map((level) => [levelKey(level), steps.map((errors) => conformalHalfWidth(errors, level))]));
  }
  return out;
}

/** The scale of each window and target ([size][targets]): its volatility plus the calibration's floor. */
export function intervalScales(calibration: IntervalCalibration, windows: ArrayLike<number>, size: number, window: WindowSpec): Float64Array {
  const scales = windowVolatility(windows, size, window);
  const nt = window.targets.length;
  for (let i = 0; i < scales.length; i++) scales[i] += calibration.floors[window.targets[i % nt]] ?? 0;
  return scales;
}

/** Bands around forecasts laid out [size][horizon][targets] in original units, given each window's scale. */
export function intervalBands(predicted: ArrayLike<number>, scales: Float64Array, horizon: number, targets: readonly string[], quantiles: Record<string, Record<string, number[]>>): IntervalBands {
  const nt = targets.length;
  const size = predicted.length / (horizon * nt);
  const bands: IntervalBands = {};
  targets.forEach((target, t) => {
    bands[target] = {};
    for (const [key, ratios] of Object.entries(quantiles[target] ?? {})) {
      const lower = new Array<number>(size * horizon);
      const upper = new Array<number>(size * horizon);
      for (let w = 0; w < size; w++) {
        for (let h = 0; h < horizon; h++) {
          const p = predicted[(w * horizon + h) * nt + t];
          const half = ratios[h] * scales[w * nt + t];
          lower[w * horizon + h] = p - half;
          upper[w * horizon + h] = p + half;
        }
      }
      bands[target][key] = { lower, upper };
    }
  });
  return bands;
}

/** Empirical coverage and mean width of each level's band over actuals laid out like the band ([size][horizon] per target). */
export function intervalCoverage(actual: ArrayLike<number>, band: { lower: readonly number[]; upper: readonly number[] }): { coverage: number; mean_width: number } {
  let inside = 0;
  let width = 0;
  let count = 0;
  for (let i = 0; i < actual.length; i++) {
    if (!Number.isFinite(actual[i])) continue;
    count++;
    if (actual[i] >= band.lower[i] && actual[i] <= band.upper[i]) inside++;
    width += band.upper[i] - band.lower[i];
  }
  return { coverage: count ? inside / count : Number.NaN, mean_width: count ? width / count : Number.NaN };
}
