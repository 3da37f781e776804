import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { getJsonIfExists } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { RUN_FILES } from '../registry/run-record.js';
import { runKey, runsBucket } from '../registry/run-store.js';
import type { PredictionsArtifact } from '../train/predictions-artifact.js';
import { centredMean } from '../charts/centred-mean.js';
import { intervalBands, type IntervalBand } from '../charts/interval-bands.js';
import { renderLineChart } from '../charts/svg-chart.js';
import { targetFileNames } from '../charts/target-file-names.js';

export const PLOT_FILES = { forecast: 'plots/forecast-vs-actual.svg', lastDay: 'plots/forecast-vs-actual-last-day.svg', residuals: 'plots/residuals.svg' } as const;

const DAY_MS = 86_400_000;

const isNumber = (value: number | null): value is number => typeof value === 'number' && Number.isFinite(value);

/** Step-1 series of the first target: what the plots show. */
function firstStep(values: number[], horizon: number): number[] {
  return values.filter((_, i) => i % horizon === 0);
}

/** Fewest forecasts a last-day plot shows: one of daily rows drew two points, a line saying nothing the whole test did not. */
const MIN_LAST_DAY_POINTS = 24;

/**
 * Where the last day of forecast times starts, or undefined when they span no more than a day and a half or the
 * last day holds too few of them to look at alone: over days of 2-minute steps single forecasts and their bands
 * blur into one another, over the last day they read.
 */
function lastDayStart(times: number[]): number | undefined {
  const last = times.at(-1);
  if (last === undefined || !(last - times[0] > 1.5 * DAY_MS)) return undefined;
  const start = times.findIndex((time) => time >= last - DAY_MS);
  return times.length - start >= MIN_LAST_DAY_POINTS ? start : undefined;
}

/**
 * Past this many forecasts the plot of the whole test draws its lines pale and their means over a window bold: on
 * PobleSec's test (3,972 forecasts, some six a pixel) the forecast drawn over the actual hid it, and both hid the
 * bands, which showed only round the spikes.
 */
export const SMOOTH_PAST_POINTS = 1500;

/** Windows a dense plot's means span, round durations; the one nearest a hundredth of the test is taken. */
const WINDOWS = [
  { ms: 600_000, name: '10 min' },
  { ms: 1_800_000, name: '30 min' },
  { ms: 3_600_000, name: '1 h' },
  { ms: 2 * 3_600_000, name: '2 h' },
  { ms: 6 * 3_600_000, name: '6 h' },
  { ms: DAY_MS, name: '1 day' },
  { ms: 7 * DAY_MS, name: '1 week' },
];

/** The round window nearest a hundredth of the times' span, and how many places either side of a point it reaches. */
function meanWindow(times: readonly number[]): { half: number; name: string } | undefined {
  const steps = times.slice(1).map((time, i) => time - times[i]).sort((a, b) => a - b);
  const usual = steps[Math.floor((steps.length - 1) / 2)];
  if (!(usual > 0)) return undefined;
  const wanted = (times[times.length - 1] - times[0]) / 100;
  const window = WINDOWS.reduce((best, candidate) => (Math.abs(Math.log(candidate.ms / wanted)) < Math.abs(Math.log(best.ms / wanted)) ? candidate : best));
  const half = Math.round(window.ms / usual / 2);
  return half >= 1 ? { half, name: window.name } : undefined;
}

/** The plots of one target: forecast vs actual (the whole test and, past a day and a half, its last day) and residuals. */
function targetPlots(predictions: PredictionsArtifact, target: string, label: string): { forecast: string; lastDay?: string; residuals: string } {
  const actual = firstStep(predictions.actual[target], predictions.horizon);
  const predicted = firstStep(predictions.predicted[target], predictions.horizon);
  // predictions.json stores a NaN forecast (or actual) as null, and `actual - null` would plot the actual as the residual.
  const residuals = actual.map((value, i) => (isNumber(value) && isNumber(predicted[i]) ? value - predicted[i] : Number.NaN));
  const xTimes = firstStep(predictions.times, predictions.horizon);
  const bands = intervalBands(Object.fromEntries(Object.entries(predictions.intervals?.[target] ?? {}).map(([level, band]) => [level, { lower: firstStep(band.lower, predictions.horizon), upper: firstStep(band.upper, predictions.horizon) }])));
  const lastDay = lastDayStart(xTimes);
  const window = xTimes.length > SMOOTH_PAST_POINTS ? meanWindow(xTimes) : undefined;
  const meanOf = (values: number[]): number[] => (window ? centredMean(values, window.half) : values);
  const lines = (from: number, smooth: boolean) => {
    const raw = [
      { name: 'actual', values: actual.slice(from), color: '#333333' },
      { name: 'forecast', values: predicted.slice(from), color: '#d62728' },
    ];
    return smooth ? [...raw.map((series) => ({ ...series, faint: true })), ...raw.map((series) => ({ ...series, values: meanOf(series.values) }))] : raw;
  };
  // The bands of a dense plot are the means of their bounds: the width an interval has about then, not a bound of the means.
  const shown = (from: number, smooth: boolean): IntervalBand[] =>
    bands.map((band) => ({ ...band, lower: smooth ? meanOf(band.lower.slice(from)) : band.lower.slice(from), upper: smooth ? meanOf(band.upper.slice(from)) : band.upper.slice(from) }));
  const forecastChart = (from: number, span: string, detail?: number) =>
    renderLineChart({
      title: `${label}: ${target} forecast vs actual (${span}, step 1)`,
      xLabel: window && from === 0 ? `forecast time (UTC); pale: each forecast and actual, bold and bands: means over ${window.name} around it` : 'forecast time (UTC)',
      yLabel: `${target} (original units)`,
      xTimes: xTimes.slice(from),
      bands: shown(from, window !== undefined && from === 0),
      series: lines(from, window !== undefined && from === 0),
      // Over days the lines are dense: the whole test shows where the last-day plot looks closer.
      ...(detail !== undefined ? { xSpan: { from: detail + 1, name: `last day, in detail in ${PLOT_FILES.lastDay.split('/').at(-1)}` } } : {}),
    });
  return {
    forecast: forecastChart(0, 'test', lastDay),
    ...(lastDay !== undefined ? { lastDay: forecastChart(lastDay, 'last day of the test') } : {}),
    residuals: renderLineChart({
      title: `${label}: ${target} residuals (actual - forecast)`,
      xLabel: 'forecast time (UTC)',
      xTimes,
      yLabel: 'residual (original units)',
      series: [{ name: 'residual', values: residuals, points: true }],
      baseline: 0,
    }),
  };
}

/** Where a target's plots go: `plots/` for the first target (as always), `plots/<target>/` for each further one (targetFileNames). */
function plotFile(file: string, targetIndex: number, folder: string): string {
  return targetIndex === 0 ? file : file.replace(/^plots\//, `plots/${folder}/`);
}

const isSeries = (value: unknown, length: number): boolean => Array.isArray(value) && value.length === length && value.every((item) => item === null || typeof item === 'number');
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What is wrong with a stored predictions.json for the plots, or undefined when they can be drawn from it. */
function predictionsProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'it is not a JSON object';
  const { horizon, targets, times, actual, predicted, intervals } = value;
  if (!Number.isInteger(horizon) || (horizon as number) < 1) return 'its horizon is not a whole number of steps';
  if (!Array.isArray(targets) || !targets.every((target) => typeof target === 'string')) return 'its targets are not a list of column names';
  if (!Array.isArray(times) || !times.every((time) => typeof time === 'number' && Number.isFinite(time))) return 'its times are not a list of epoch milliseconds';
  if (!isRecord(actual) || !isRecord(predicted)) return 'its actual or predicted values are missing';
  for (const target of targets as string[]) {
    if (!isSeries(actual[target], times.length) || !isSeries(predicted[target], times.length)) return `its actual or predicted values of ${target} are not one number for each of its ${times.length} times`;
    const bands = isRecord(intervals) ? intervals[target] : undefined;
    if (intervals !== undefined && !isRecord(intervals)) return 'its intervals are not an object';
    if (bands !== undefined && (!isRecord(bands) || !Object.values(bands).every((band) => isRecord(band) && isSeries(band.lower, times.length) && isSeries(band.upper, times.length)))) {
      return `its intervals of ${target} are not a lower and an upper bound for each of its ${times.length} times`;
    }
  }
  return undefined;
}

/**
 * A run's stored test predictions, undefined when it has none. A file damaged or edited by hand (or written over)
 * is the run's own damage, FLTS_RUN_CORRUPT: drawn from, it ended eval --plot as FLTS_INTERNAL (reading the targets of
 * another document), or as unreadable data when it was not JSON.
 */
async function readPredictions(store: ObjectStore, bucket: string, runId: string): Promise<PredictionsArtifact | undefined> {
  const key = runKey(runId, RUN_FILES.predictions);
  const corrupt = (why: string, cause?: unknown): FltsError =>
    new FltsError('FLTS_RUN_CORRUPT', `The test predictions of run ${runId} (${bucket}/${key}) cannot be plotted: ${why}.`, { details: { run_id: runId, bucket, key }, cause });
  let value: unknown;
  try {
    value = await getJsonIfExists<unknown>(store, bucket, key);
  } catch (error) {
    if (error instanceof FltsError && error.code === 'FLTS_DATA_UNREADABLE') throw corrupt('it is not valid JSON', error);
    throw error;
  }
  if (value === undefined) return undefined;
  const problem = predictionsProblem(value);
  if (problem) throw corrupt(problem);
  return value as PredictionsArtifact;
}

/**
 * Writes forecast-vs-actual (the whole test and, past a day and a half, its last day) and residual plots of a
 * run's test predictions into the run (`<run_id>/plots/`), for every target it forecasts. Returns the keys
 * written, or [] when the run has no predictions.
 */
export async function writeForecastPlots(store: ObjectStore, settings: Settings, runId: string, label: string): Promise<string[]> {
  const bucket = runsBucket(settings);
  const predictions = await readPredictions(store, bucket, runId);
  if (!predictions || predictions.targets.length === 0) return [];
  const plots: [string, string][] = [];
  const folders = targetFileNames(predictions.targets);
  predictions.targets.forEach((target, index) => {
    const charts = targetPlots(predictions, target, label);
    plots.push([plotFile(PLOT_FILES.forecast, index, folders[index]), charts.forecast]);
    if (charts.lastDay !== undefined) plots.push([plotFile(PLOT_FILES.lastDay, index, folders[index]), charts.lastDay]);
    plots.push([plotFile(PLOT_FILES.residuals, index, folders[index]), charts.residuals]);
  });
  const keys: string[] = [];
  for (const [file, svg] of plots) {
    const key = runKey(runId, file);
    await store.put(bucket, key, svg, { contentType: 'image/svg+xml' });
    keys.push(key);
  }
  return keys;
}
