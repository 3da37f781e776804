import { FltsError } from '../errors.js';
import { targetColumns, type WindowSpec } from './forecast-model.js';
import { bandAround } from './interval-lower-bounds.js';

/** Recent changes of a window that measure how much the series is moving. */
const VOLATILITY_CHANGES = 10;
/** The volatility floor, as a share of the mean calibration volatility: a flat window still gets a band. */
const VOLATILITY_FLOOR = 0.1;
const HOUR_MS = 3_600_000;

/**
 * Locally weighted split-conformal prediction intervals. Each error of a model on windows it was not fitted
 * on (the validation tail) is divided by the window's scale and the ratios are sorted per target and forecast
 * step. The interval at level L is +- the ceil((n + 1) L)-th smallest ratio times the new window's scale: it
 * covers a new error with probability >= L when the ratios are exchangeable. The scale follows what the
 * model's error is made of (`IntervalScale`), so a busier or calmer period than the calibration one keeps its
 * coverage. Ratios are in original units per unit of scale, so serving needs neither the scaler nor the
 * calibration data for any level.
 */
/** The one format of intervals.json flts writes and reads. */
export const INTERVALS_FORMAT = 'flts-conformal-v1';

export interface IntervalCalibration {
  format: typeof INTERVALS_FORMAT;
  method: 'split-conformal';
  /**
   * Where the errors come from: windows the model never fitted on (the validation tail), every recent training
   * window (a model that fits nothing, for which none is in-sample), or (models fitted on every training row)
   * in-sample.
   */
  calibration: 'validation-tail' | 'training-windows' | 'in-sample';
  /** Calibration windows per step. */
  windows: number;
  horizon: number;
  /** What a window's scale is; absent (calibrations written before there was a choice) = 'volatility'. */
  scale?: IntervalScale;
  /** Per target: the volatility floor (scaled units) added to every window's volatility; 0 for a constant scale. */
  floors: Record<string, number>;
  /**
   * Per target: per forecast step, the sorted error / scale ratios; the model horizon's steps, then any steps
   * past it that were calibrated (`recursive`). A step with no entry gets no band.
   */
  errors: Record<string, number[][]>;
  /**
   * Where steps past the model horizon are calibrated: their errors come from the model's forecast of them as
   * serving makes it (recursive, each predicted step fed back as an input row; MSTL's from one fit) from
   * `windows` of the calibration windows, spread evenly over them, each divided by its first window's scale.
   * Absent: no step past the horizon. The name is the saved field's, kept for calibrations written before.
   */
  recursive?: { windows: number };
  /**
   * For a model whose error grows with the distance from the end of its fit (Prophet): the scale of a step
   * `d` hours past `fitEnd` (epoch ms of the model's last fitted row) is multiplied by sqrt(1 + perHour * d).
   */
  growth?: { fitEnd: number; perHour: Record<string, number> };
  /** For a `smoothing` scale: the daily season taken out of each window before the smoothing is fitted (MSTL's). */
  season?: IntervalSeason;
  /**
   * Per target that was never negative in the rows the model was fitted on (a byte counter): the lowest value it
   * can take, 0, in original units, which each band's lower end is raised to. A band below what the series can
   * take says nothing, and a non-negative actual never falls there, so coverage is unchanged. Absent for other
   * targets and in calibrations written before bounds existed, whose bands stay unclipped.
   */
  lowerBounds?: Record<string, number>;
}

/** A daily season by slot of the day (scaled units per target), as MSTL fits it. */
export interface IntervalSeason {
  period: number;
  cadenceMs: number;
  profiles: Record<string, number[]>;
}

/**
 * - `volatility`: the mean absolute change of the target over the window's last rows, plus a floor: the
 *   recent error of persistence, which the errors of NAIVE and of the networks track.
 * - `seasonal-volatility`: for a forecast that repeats the value one period ago from a window one period
 *   long (SNAIVE), the error is the difference of two rows a period apart, whose variances add: the root mean
 *   square of the volatility over the window's last rows and over its first rows, plus a floor.
 * - `constant`: 1, for a forecast that reads no recent values (Prophet): recent changes say nothing of how far
 *   the series is from its fitted curve.
 * - `smoothing`: for a forecast that smooths the window once its daily season is taken out (MSTL), the
 *   standard deviation of the next error that the smoothing fitted to the window estimates from its own
 *   residuals, plus a floor. The volatility would overstate it on busy windows, which the smoothing follows
 *   less closely than persistence does, and understate it on calm ones.
 */
export type IntervalScale = 'volatility' | 'seasonal-volatility' | 'constant' | 'smoothing';

/**
 * Per window and target ([size][targets]): the mean absolute change of the target over the window's last
 * rows (scaled units), or with `from: 'start'` over its first rows; 1 for windows of a single row, whose
 * scale stays constant.
 */
export function windowVolatility(windows: ArrayLike<number>, size: number, window: WindowSpec, from: 'end' | 'start' = 'end'): Float64Array {
  const { inputSeqLen: seq, features, targets } = window;
  const nf = features.length;
  const changes = Math.min(seq - 1, VOLATILITY_CHANGES);
  const first = from === 'end' ? seq - changes : 1;
  const columns = targetColumns(window);
  const out = new Float64Array(size * targets.length);
  for (let w = 0; w < size; w++) {
    columns.forEach((column, t) => {
      if (changes < 1) {
        out[w * targets.length + t] = 1;
        return;
      }
      let sum = 0;
      for (let r = first; r < first + changes; r++) sum += Math.abs(windows[(w * seq + r) * nf + column] - windows[(w * seq + r - 1) * nf + column]);
      out[w * targets.length + t] = sum / changes;
    });
  }
  return out;
}

/**
 * Per window and target ([size][targets]): the scale of a kind read from the window alone, before the floor
 * (see `IntervalScale`); `smoothing` refits the smoothing and needs `loadWindowScale`.
 */
export function windowScale(kind: Exclude<IntervalScale, 'smoothing'>, windows: ArrayLike<number>, size: number, window: WindowSpec): Float64Array {
  if (kind === 'constant') return new Float64Array(size * window.targets.length).fill(1);
  const recent = windowVolatility(windows, size, window);
  if (kind === 'volatility') return recent;
  const periodAgo = windowVolatility(windows, size, window, 'start');
  for (let i = 0; i < recent.length; i++) recent[i] = Math.sqrt((recent[i] * recent[i] + periodAgo[i] * periodAgo[i]) / 2);
  return recent;
}

/** The scale of each of `size` windows and targets ([size][targets]), given each window's first forecast time (epoch ms). */
export type WindowScale = (windows: ArrayLike<number>, size: number, window: WindowSpec, firstForecastTimes: ArrayLike<number>) => Float64Array;

/** The scale of `kind` before the floor; a `smoothing` scale loads the exponential smoothing it refits to each window. */
export async function loadWindowScale(kind: IntervalScale, season?: IntervalSeason): Promise<WindowScale> {
  if (kind !== 'smoothing') return (windows, size, window) => windowScale(kind, windows, size, window);
  if (!season) throw new FltsError('FLTS_INTERNAL', 'A smoothing interval scale needs the daily season it takes out of each window.');
  const { smoothingScales } = await import('./mstl-model.js');
  return (windows, size, window, firstForecastTimes) => smoothingScales(season, window, windows, size, firstForecastTimes);
}

/** The scale of a calibration's bands, floor included, for each window and target ([size][targets]). */
export async function loadIntervalScale(calibration: Pick<IntervalCalibration, 'scale' | 'season' | 'floors'>): Promise<WindowScale> {
  const scale = await loadWindowScale(calibration.scale ?? 'volatility', calibration.season);
  return (windows, size, window, firstForecastTimes) => addFloors(scale(windows, size, window, firstForecastTimes), calibration.floors, window.targets);
}

/** Scales laid out [size][targets] with each target's floor added (in place). */
export function addFloors(scales: Float64Array, floors: Record<string, number>, targets: readonly string[]): Float64Array {
  const nt = targets.length;
  for (let i = 0; i < scales.length; i++) scales[i] += floors[targets[i % nt]] ?? 0;
  return scales;
}

/**
 * The variance growth per hour past the end of a fit, per target: least squares of the squared errors on the
 * hours past the fit's end (e^2 = a + b d), as b / a, 0 where the errors do not grow. The intercept is kept
 * at >= 10 % of the mean squared error so that a steep fit on a short tail cannot make the factor explode.
 */
export function fitErrorGrowth(actual: ArrayLike<number>, predicted: ArrayLike<number>, hours: ArrayLike<number>, horizon: number, targets: readonly string[]): Record<string, number> {
  const nt = targets.length;
  const size = actual.length / (horizon * nt);
  return Object.fromEntries(
    targets.map((target, t) => {
      let n = 0;
      let sx = 0;
      let sy = 0;
      let sxx = 0;
      let sxy = 0;
      for (let w = 0; w < size; w++) {
        for (let h = 0; h < horizon; h++) {
          const i = (w * horizon + h) * nt + t;
          const y = (actual[i] - predicted[i]) ** 2;
          const x = hours[w * horizon + h];
          if (!Number.isFinite(y) || !Number.isFinite(x)) continue;
          n++;
          sx += x;
          sy += y;
          sxx += x * x;
          sxy += x * y;
        }
      }
      const varX = n > 1 ? sxx / n - (sx / n) ** 2 : 0;
      if (!(varX > 0) || !(sy > 0)) return [target, 0];
      const slope = (sxy / n - (sx / n) * (sy / n)) / varX;
      const intercept = sy / n - slope * (sx / n);
      return [target, slope > 0 ? slope / Math.max(intercept, 0.1 * (sy / n)) : 0];
    }),
  );
}

/** The factor on the scale of a step `hours` past the fit's end at variance growth `perHour` (1 before the end). */
function growthAt(perHour: number, hours: number): number {
  return Math.sqrt(1 + perHour * Math.max(0, hours));
}

/** How many forecast steps a calibration gives bands for: the fewest of any target. */
export function calibratedSteps(calibration: Pick<IntervalCalibration, 'errors'>): number {
  const counts = Object.values(calibration.errors).map((steps) => steps.length);
  return counts.length > 0 ? Math.min(...counts) : 0;
}

/** The factor on the scale of a step at `timeMs` (1 without growth, or before the fit's end). */
export function growthFactor(calibration: Pick<IntervalCalibration, 'growth'>, target: string, timeMs: number): number {
  const growth = calibration.growth;
  if (!growth) return 1;
  return growthAt(growth.perHour[target] ?? 0, (timeMs - growth.fitEnd) / HOUR_MS);
}

/** Hours past `fitEnd` of each forecast step ([size][horizon], epoch ms). */
export function hoursPast(forecastTimes: ArrayLike<number>, fitEnd: number): Float64Array {
  return Float64Array.from(forecastTimes, (ms) => (ms - fitEnd) / HOUR_MS);
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

/** How a calibration scales its errors: the kind of scale and, for an error growing past the fit's end, the distances. */
export interface CalibrationScaling {
  scale?: IntervalScale;
  /** Hours past the calibrating fit's end of each calibration step ([size][horizon]), and the served model's fit end (epoch ms). */
  growth?: { hours: ArrayLike<number>; fitEnd: number };
  /** For a `smoothing` scale: the season it takes out, saved so that serving computes the same scale. */
  season?: IntervalSeason;
}

/**
 * Sorted error / scale ratios per target and step, from actuals and forecasts laid out [size][horizon][targets]
 * in original units and the scale of each window before the floor ([size][targets], `windowScale`);
 * non-finite pairs are skipped.
 */
export function calibrateIntervals(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  volatility: Float64Array,
  horizon: number,
  targets: readonly string[],
  calibration: IntervalCalibration['calibration'],
  scaling: CalibrationScaling = {},
): IntervalCalibration {
  const nt = targets.length;
  const size = actual.length / (horizon * nt);
  const scale = scaling.scale ?? 'volatility';
  const errors: Record<string, number[][]> = {};
  const floors: Record<string, number> = {};
  const perHour = scaling.growth ? fitErrorGrowth(actual, predicted, scaling.growth.hours, horizon, targets) : undefined;
  targets.forEach((target, t) => {
    let mean = 0;
    for (let w = 0; w < size; w++) mean += volatility[w * nt + t] / size;
    const floor = scale === 'constant' ? 0 : mean > 0 ? VOLATILITY_FLOOR * mean : 1;
    floors[target] = floor;
    errors[target] = Array.from({ length: horizon }, (_, h) => {
      const step: number[] = [];
      for (let w = 0; w < size; w++) {
        const i = (w * horizon + h) * nt + t;
        const growth = perHour ? growthAt(perHour[target], scaling.growth!.hours[w * horizon + h]) : 1;
        const ratio = Math.abs(actual[i] - predicted[i]) / ((volatility[w * nt + t] + floor) * growth);
        if (Number.isFinite(ratio)) step.push(Number(ratio.toPrecision(6)));
      }
      return step.sort((a, b) => a - b);
    });
  });
  return {
    format: 'flts-conformal-v1',
    method: 'split-conformal',
    calibration,
    windows: size,
    horizon,
    ...(scale !== 'volatility' ? { scale } : {}),
    floors,
    errors,
    ...(perHour ? { growth: { fitEnd: scaling.growth!.fitEnd, perHour } } : {}),
    ...(scaling.season ? { season: scaling.season } : {}),
  };
}

/** The conformal half-width at `level` over sorted errors: Infinity when there are too few errors for the level. */
export function conformalHalfWidth(sortedErrors: readonly number[], level: number): number {
  const n = sortedErrors.length;
  const rank = Math.ceil((n + 1) * level);
  return rank > n || n === 0 ? Number.POSITIVE_INFINITY : sortedErrors[Math.max(0, rank - 1)];
}

/** The fewest calibration errors that give a band at `level`: the least n with ceil((n + 1) level) <= n (`conformalHalfWidth`). */
export function windowsNeeded(level: number): number {
  let n = Math.max(0, Math.floor(level / (1 - level)) - 2);
  while (Math.ceil((n + 1) * level) > n) n++;
  return n;
}

/**
 * Why a target's calibration (its sorted errors per step) gives no band at `level` on some step: too few errors
 * for the level's rank, so the conformal half-width is unbounded. Undefined when every step has a band.
 */
export function uncalibratedReason(steps: readonly (readonly number[])[], level: number): string | undefined {
  const short = steps.filter((errors) => !Number.isFinite(conformalHalfWidth(errors, level)));
  if (short.length === 0) return undefined;
  return `too few calibration windows for ${levelKey(level)}: need ${windowsNeeded(level)}, have ${Math.min(...short.map((errors) => errors.length))}`;
}

/** Conformal ratio quantiles per target, level key and forecast step (multiply by a window's scale for a half-width). */
export function intervalQuantiles(calibration: IntervalCalibration, levels: readonly number[]): Record<string, Record<string, number[]>> {
  const out: Record<string, Record<string, number[]>> = {};
  for (const [target, steps] of Object.entries(calibration.errors)) {
    out[target] = Object.fromEntries(levels.map((level) => [levelKey(level), steps.map((errors) => conformalHalfWidth(errors, level))]));
  }
  return out;
}

/**
 * Bands around forecasts laid out [size][horizon][targets] in original units, given each window's scale and,
 * for a calibration with growth, the epoch ms of each forecast step ([size][horizon]); lower ends are raised
 * to the calibration's `lowerBounds`. A step without a bounded half-width at a level (too few calibration
 * errors) gets NaN for both ends: no band, rather than one that covers everything.
 */
export function intervalBands(
  predicted: ArrayLike<number>,
  scales: Float64Array,
  horizon: number,
  targets: readonly string[],
  quantiles: Record<string, Record<string, number[]>>,
  growth?: { calibration: Pick<IntervalCalibration, 'growth'>; forecastTimes: ArrayLike<number> },
  lowerBounds: IntervalCalibration['lowerBounds'] = {},
): IntervalBands {
  const nt = targets.length;
  const size = predicted.length / (horizon * nt);
  const bands: IntervalBands = {};
  targets.forEach((target, t) => {
    bands[target] = {};
    const bound = lowerBounds[target];
    const factors = Float64Array.from({ length: size * horizon }, (_, i) => (growth ? growthFactor(growth.calibration, target, growth.forecastTimes[i]) : 1));
    for (const [key, ratios] of Object.entries(quantiles[target] ?? {})) {
      const lower = new Array<number>(size * horizon);
      const upper = new Array<number>(size * horizon);
      for (let w = 0; w < size; w++) {
        for (let h = 0; h < horizon; h++) {
          const p = predicted[(w * horizon + h) * nt + t];
          const half = ratios[h] * scales[w * nt + t] * factors[w * horizon + h];
          [lower[w * horizon + h], upper[w * horizon + h]] = bandAround(p, half, bound);
        }
      }
      bands[target][key] = { lower, upper };
    }
  });
  return bands;
}

/**
 * A level's band on the test windows: the share of actuals inside it and its mean width (original units), or,
 * for a level the calibration could not bound, null for both and the reason.
 */
export interface IntervalScore {
  coverage: number | null;
  mean_width: number | null;
  uncalibrated?: string;
}

/**
 * Empirical coverage and mean width of a band over actuals laid out like it ([size][horizon] per target), on the
 * points that have both an actual and a band; null when none has. `uncalibrated` (the reason a step of the level
 * has no band, `uncalibratedReason`) makes the whole level unscored: coverage over the bounded steps alone would
 * pass for the level's.
 */
export function intervalCoverage(actual: ArrayLike<number>, band: { lower: readonly number[]; upper: readonly number[] }, uncalibrated?: string): IntervalScore {
  if (uncalibrated) return { coverage: null, mean_width: null, uncalibrated };
  let inside = 0;
  let width = 0;
  let count = 0;
  for (let i = 0; i < actual.length; i++) {
    if (!Number.isFinite(actual[i]) || !Number.isFinite(band.lower[i]) || !Number.isFinite(band.upper[i])) continue;
    count++;
    if (actual[i] >= band.lower[i] && actual[i] <= band.upper[i]) inside++;
    width += band.upper[i] - band.lower[i];
  }
  return { coverage: count ? inside / count : null, mean_width: count ? width / count : null };
}
