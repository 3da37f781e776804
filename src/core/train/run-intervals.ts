import type { ScalerParams } from '../data/scaler.js';
import { pickSeries, toOriginalUnits, type ForecastMetrics } from '../forecast/metrics.js';
import type { ForecastModel, ModelType, WindowSpec } from '../models/forecast-model.js';
import { nonNegativeBounds } from '../models/interval-lower-bounds.js';
import { addFloors, calibrateIntervals, hoursPast, intervalBands, intervalCoverage, intervalQuantiles, levelKey, uncalibratedReason, windowScale, type IntervalBands, type IntervalCalibration, type IntervalScale, type IntervalSeason } from '../models/prediction-intervals.js';
import { FltsError } from '../errors.js';
import { lazyWindows, pickWindows, spreadEvenly, type LazyWindowSet, type WindowSet } from '../forecast/windows.js';
import { predictWindows, type PredictProgress } from '../forecast/predict-windows.js';
import type { ProphetSettings } from '../config/specs/training.js';
import { selectRows, type TimeFrame } from '../data/time-frame.js';
import type { ProphetArtifact } from '../models/prophet-model.js';
import { fitProphetOffThread } from './prophet-off-thread.js';
import { RECURSIVE_WINDOWS, withRecursiveSteps } from './recursive-calibration.js';
import { withTargetFloors } from '../models/target-floors.js';

/**
 * The scale a model's errors follow: a seasonal naive forecast repeats the row one period ago, Prophet reads
 * no recent values, MSTL smooths the window's seasonally adjusted rows, every other model forecasts from the
 * window's recent rows.
 */
export function intervalScaleOf(modelType: ModelType): IntervalScale {
  if (modelType === 'SNAIVE') return 'seasonal-volatility';
  if (modelType === 'PROPHET') return 'constant';
  if (modelType === 'MSTL') return 'smoothing';
  return 'volatility';
}

/** What a model forecasts after its fit: its calibration windows, their steps past the horizon, the test windows. */
export type PostFitStage = 'calibration' | 'recursive' | 'test';

/**
 * The forecasts after a fit (many windows, long ones slow) can be stopped: `signal` is honoured between
 * chunks, and each chunk of a stage is reported to `onChunk`.
 */
export interface PostFitProgress {
  signal?: AbortSignal;
  onChunk?: (stage: PostFitStage, done: number, total: number) => void;
}

/** The progress of one stage. */
export function stageProgress(progress: PostFitProgress | undefined, stage: PostFitStage): PredictProgress | undefined {
  if (!progress) return undefined;
  const { signal, onChunk } = progress;
  return { signal, ...(onChunk ? { onChunk: (done: number, total: number) => onChunk(stage, done, total) } : {}) };
}

/**
 * A window set's forecasts and the scale of each window before its floor ([size][targets]): a `smoothing`
 * scale as the fits that forecast the windows report it (`PredictBatch.spreads`), the others read from the
 * windows, a chunk at a time as they are predicted (each window's scale is its own).
 */
export async function predictWithScales(model: ForecastModel, set: WindowSet | LazyWindowSet, window: WindowSpec, scale: IntervalScale, progress?: PredictProgress): Promise<{ predicted: Float32Array; scales: Float64Array }> {
  const nt = window.targets.length;
  const scales = new Float64Array(set.size * nt);
  if (scale === 'smoothing') return { predicted: await predictWindows(model, set, scales, progress), scales };
  const predicted = await predictWindows(model, set, undefined, progress, (from, inputs, size) => scales.set(windowScale(scale, inputs, size, window), from * nt));
  return { predicted, scales };
}

/** How a model's calibration is made beyond its windows: see `calibrateModelIntervals`. */
export interface CalibrationOptions {
  /** A model whose error grows past the end of its fit: the end of the fit that forecast the windows, and of the served fit. */
  fitEnds?: { calibrating: number; served: number };
  /** MSTL's daily season, which its scale takes out of each window. */
  season?: IntervalSeason;
  /** Forecast steps to calibrate; those past the model horizon on the model's served forecast of them (`withRecursiveSteps`). */
  steps?: number;
  /** The most windows the model horizon's steps are calibrated on, spread evenly over them (`horizonWindows`); steps past the horizon pick theirs from all. */
  horizonWindows?: number;
  progress?: PostFitProgress;
}

/**
 * Calibrates a fitted model's intervals on windows it was not fitted on (the validation tail). With `fitEnds`
 * (a model whose error grows past the end of its fit) the errors are also scaled by how far each calibration
 * step lies past `fitEnds.calibrating` (the end of the fit that forecast the tail), and the bands of the
 * served model grow past `fitEnds.served`. MSTL's scale takes its `season` out of each window. With `steps`
 * past the model horizon, those steps are calibrated on the model's forecasts of them, made as serving makes
 * them, from the same windows. With `horizonWindows`, the horizon's steps are calibrated on that many of the
 * windows at most, spread evenly over them.
 */
export async function calibrateModelIntervals(
  model: ForecastModel,
  calibrationWindows: WindowSet | LazyWindowSet,
  window: WindowSpec,
  scaler: ScalerParams,
  calibration: IntervalCalibration['calibration'],
  options: CalibrationOptions = {},
): Promise<IntervalCalibration> {
  const { fitEnds, season, steps = window.outputSeqLen, horizonWindows: most = Infinity, progress } = options;
  const { outputSeqLen: horizon, targets } = window;
  const scale = intervalScaleOf(model.modelType);
  // The calibration keeps the season: serving computes the scale from the window alone.
  if (scale === 'smoothing' && !season) throw new FltsError('FLTS_INTERNAL', 'A smoothing interval scale needs the daily season it takes out of each window.');
  const size = calibrationWindows.size;
  const horizonSet = size > most ? pickWindows(calibrationWindows, spreadEvenly(Array.from({ length: size }, (_, w) => w), most), window) : calibrationWindows;
  const { predicted, scales } = await predictWithScales(model, horizonSet, window, scale, stageProgress(progress, 'calibration'));
  const horizonCalibration = calibrateIntervals(toOriginalUnits(horizonSet.y, horizon, targets, scaler), toOriginalUnits(predicted, horizon, targets, scaler), scales, horizon, targets, calibration, {
    scale,
    ...(fitEnds ? { growth: { hours: hoursPast(horizonSet.forecastTimes, fitEnds.calibrating), fitEnd: fitEnds.served } } : {}),
    ...(scale === 'smoothing' ? { season } : {}),
  });
  return withRecursiveSteps(horizonCalibration, model, calibrationWindows, window, scaler, steps, fitEnds?.calibrating, stageProgress(progress, 'recursive'));
}

/** The calibration with the lower bound of each target that is never negative in `fittedOn`, the scaled rows its model was fitted on. */
function withLowerBounds(calibration: IntervalCalibration, fittedOn: TimeFrame, scaler: ScalerParams): IntervalCalibration {
  const lowerBounds = nonNegativeBounds(fittedOn, Object.keys(calibration.errors), scaler);
  return Object.keys(lowerBounds).length > 0 ? { ...calibration, lowerBounds } : calibration;
}

/**
 * A fitted model's interval calibration as it is saved and applied, whoever fitted it (a training run, a
 * backtest's fold refit or baseline): the fit's own where it made one (models fitting nothing, Prophet's
 * second fit, MSTL, a network, early-stopped or refitted), otherwise on the `validation` tail, which the fit did not learn;
 * bounded below where `fittedOn`, the rows the model was fitted on, never go negative.
 */
export async function fittedCalibration(
  fit: { model: ForecastModel; intervals?: IntervalCalibration },
  fittedOn: TimeFrame,
  validation: WindowSet | undefined,
  window: WindowSpec,
  scaler: ScalerParams,
  steps?: number,
  progress?: PostFitProgress,
): Promise<IntervalCalibration> {
  if (fit.intervals) return withLowerBounds(fit.intervals, fittedOn, scaler);
  if (!validation) throw new FltsError('FLTS_INTERNAL', `${fit.model.modelType} made no interval calibration and no validation windows were given to make one.`);
  return withLowerBounds(await calibrateModelIntervals(fit.model, validation, window, scaler, 'validation-tail', { steps, progress }), fittedOn, scaler);
}

/** How far back the training windows that calibrate a model fitting nothing reach: every weekday four times. */
const TRAINING_WINDOWS_DAYS = 28;
const DAY_MS = 86_400_000;
/**
 * The input window up to which every training window of the last four weeks calibrates the horizon's steps (a day
 * of 2-minute rows, as for the recursive steps). Each window costs a forward pass over its input rows: four weeks of
 * 2,500-row windows cost 50 million input rows, far more than the recursion after them. Past it, the windows are
 * thinned evenly so that they hold no more input rows than the same four weeks at this length (`horizonWindows`):
 * windows a row apart make nearly the same error, and the count falls smoothly with the length, with no step at it.
 */
export const HORIZON_FULL_ROWS = 720;
/**
 * The fewest windows the horizon's steps are calibrated on when they are thinned, the most the recursive
 * steps are: at 0.95 the band is then at least the 20th largest of 400 ratios (ceil(401 x 0.95) = 381), not set
 * by a handful of outliers, and the coverage of a band made from n exchangeable ratios strays from its level by
 * a standard deviation of sqrt(L (1 - L) / n): 1.1 points at 0.95 and 2 at 0.8 with 400, twice that with 100.
 * The first steps, whose bands are the most used, are then never calibrated on fewer windows than the later ones.
 */
export const MIN_HORIZON_WINDOWS = RECURSIVE_WINDOWS;

/**
 * How many of `size` training windows of `inputSeqLen` rows calibrate the horizon's steps: every one up to
 * HORIZON_FULL_ROWS rows, past it as many as hold size x HORIZON_FULL_ROWS input rows, never fewer than
 * MIN_HORIZON_WINDOWS (nor more than there are).
 */
export function horizonWindows(inputSeqLen: number, size: number): number {
  if (inputSeqLen <= HORIZON_FULL_ROWS) return size;
  return Math.min(size, Math.max(MIN_HORIZON_WINDOWS, Math.ceil((size * HORIZON_FULL_ROWS) / inputSeqLen)));
}

/**
 * Calibrates a model on the training windows of the last four weeks of `series` (every one, thinned evenly for
 * input windows past 720 rows: `horizonWindows`): a model that fits nothing
 * (NAIVE, SNAIVE), whose forecast of any training row is as out-of-sample as of a new one, and a network that
 * early stopping kept from fitting its training rows much better than new ones. The errors over every hour
 * and weekday describe the next errors better than the validation tail's day or two alone (a seasonal naive
 * calibrated on a Sunday forecast from a Saturday over-covers a Monday, for instance).
 */
export async function calibrateOnTrainingWindows(model: ForecastModel, series: TimeFrame, window: WindowSpec, scaler: ScalerParams, steps?: number, progress?: PostFitProgress): Promise<IntervalCalibration> {
  const since = series.time[series.time.length - 1] - TRAINING_WINDOWS_DAYS * DAY_MS;
  let first = 0;
  while (first < series.time.length - 1 && series.time[first] < since) first++;
  // Only the recent rows are made into windows (a day-long window per row weighs 720 values at a 2-minute step);
  // the rows before the first forecast row are its window. Their inputs are copied a chunk at a time as they are
  // forecast: built whole, long windows would weigh as much as the training windows again.
  const recent = selectRows(series, Math.max(0, first - window.inputSeqLen));
  const windows = lazyWindows(recent, window);
  return calibrateModelIntervals(model, windows, window, scaler, 'training-windows', { steps, horizonWindows: horizonWindows(window.inputSeqLen, windows.size), progress });
}

/**
 * The bands of the test forecasts at each level, given each test window's scale before its floor
 * (`predictWithScales`), and their empirical coverage written into the test metrics of each target; a level the
 * calibration has too few windows for gets no coverage, and the reason (`IntervalScore`).
 */
export function scoreTestIntervals(
  calibration: IntervalCalibration,
  levels: readonly number[],
  test: WindowSet,
  predicted: Float32Array,
  scales: Float64Array,
  window: WindowSpec,
  scaler: ScalerParams,
  metrics: ForecastMetrics,
): IntervalBands {
  const { outputSeqLen: horizon, targets } = window;
  const bands = intervalBands(toOriginalUnits(predicted, horizon, targets, scaler), addFloors(Float64Array.from(scales), calibration.floors, targets), horizon, targets, intervalQuantiles(calibration, levels), { calibration, forecastTimes: test.forecastTimes }, calibration.lowerBounds);
  const actual = toOriginalUnits(test.y, horizon, targets, scaler);
  targets.forEach((target, t) => {
    const series = pickSeries(actual, horizon, targets.length, t);
    const steps = calibration.errors[target]?.slice(0, horizon) ?? [];
    const scored = levels.filter((level) => bands[target][levelKey(level)]);
    metrics.targets[target].intervals = Object.fromEntries(scored.map((level) => [levelKey(level), intervalCoverage(series, bands[target][levelKey(level)], uncalibratedReason(steps, level))]));
  });
  return bands;
}

/** Each target's levels that have no band on the test steps (`IntervalScore.uncalibrated`), as "<target> <level>: <reason>". */
export function uncalibratedLevels(metrics: ForecastMetrics): string[] {
  return Object.entries(metrics.targets).flatMap(([target, scores]) =>
    Object.entries(scores.intervals ?? {}).flatMap(([level, score]) => (score.uncalibrated ? [`${target} ${level}: ${score.uncalibrated}`] : [])),
  );
}

/**
 * Prophet fitted on every row of `frame`, with its intervals calibrated on `tail` (the frame's validation
 * tail) by a second fit on the rows before it. Prophet forecasts from timestamps alone, so the fit on every
 * row has no unseen rows to calibrate on; the earlier fit forecasts the tail as the final one forecasts new
 * rows, and how its errors grow with the distance past its fit's end sets how the bands widen past the end
 * of the final fit.
 */
export async function fitProphetWithIntervals(frame: TimeFrame, tail: WindowSet, window: WindowSpec, settings: ProphetSettings, seed: number, scaler: ScalerParams, steps?: number, progress?: PostFitProgress): Promise<{ model: ForecastModel; artifact: ProphetArtifact; intervals: IntervalCalibration }> {
  const beforeRows = frame.time.length - tail.size - window.outputSeqLen + 1;
  // Both fits optimise at once, each on a thread of its own; when one fails, the other's model is freed.
  const fits = await Promise.allSettled([fitProphetOffThread(selectRows(frame, 0, beforeRows), window, settings, seed), fitProphetOffThread(frame, window, settings, seed)]);
  const [before, fitted] = fits.map((fit) => (fit.status === 'fulfilled' ? { ...fit.value, model: withTargetFloors(fit.value.model) } : undefined));
  if (!before || !fitted) {
    before?.model.dispose();
    fitted?.model.dispose();
    throw fits.flatMap((fit) => (fit.status === 'rejected' ? [fit.reason] : []))[0];
  }
  try {
    const intervals = await calibrateModelIntervals(before.model, tail, window, scaler, 'validation-tail', { fitEnds: { calibrating: frame.time[beforeRows - 1], served: frame.time[frame.time.length - 1] }, steps, progress });
    return { ...fitted, intervals };
  } catch (error) {
    fitted.model.dispose();
    throw error;
  } finally {
    before.model.dispose();
  }
}
