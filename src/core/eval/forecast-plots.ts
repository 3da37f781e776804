import type { Settings } from '../config/settings.js';
import { getJsonIfExists } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { RUN_FILES } from '../registry/run-record.js';
import { runKey, runsBucket } from '../registry/run-store.js';
import type { PredictionsArtifact } from '../train/predictions-artifact.js';
import { intervalBands } from '../charts/interval-bands.js';
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

/** The plots of one target: forecast vs actual (the whole test and, past a day and a half, its last day) and residuals. */
function targetPlots(predictions: PredictionsArtifact, target: string, label: string): { forecast: string; lastDay?: string; residuals: string } {
  const actual = firstStep(predictions.actual[target], predictions.horizon);
  const predicted = firstStep(predictions.predicted[target], predictions.horizon);
  // predictions.json stores a NaN forecast (or actual) as null, and `actual - null` would plot the actual as the residual.
  const residuals = actual.map((value, i) => (isNumber(value) && isNumber(predicted[i]) ? value - predicted[i] : Number.NaN));
  const xTimes = firstStep(predictions.times, predictions.horizon);
  const bands = intervalBands(Object.fromEntries(Object.entries(predictions.intervals?.[target] ?? {}).map(([level, band]) => [level, { lower: firstStep(band.lower, predictions.horizon), upper: firstStep(band.upper, predictions.horizon) }])));
  const lastDay = lastDayStart(xTimes);
  const forecastChart = (from: number, span: string, detail?: number) =>
    renderLineChart({
      title: `${label}: ${target} forecast vs actual (${span}, step 1)`,
      xLabel: 'forecast time (UTC)',
      yLabel: `${target} (original units)`,
      xTimes: xTimes.slice(from),
      bands: bands.map((band) => ({ ...band, lower: band.lower.slice(from), upper: band.upper.slice(from) })),
      series: [
        { name: 'actual', values: actual.slice(from), color: '#333333' },
        { name: 'forecast', values: predicted.slice(from), color: '#d62728' },
      ],
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

/**
 * Writes forecast-vs-actual (the whole test and, past a day and a half, its last day) and residual plots of a
 * run's test predictions into the run (`<run_id>/plots/`), for every target it forecasts. Returns the keys
 * written, or [] when the run has no predictions.
 */
export async function writeForecastPlots(store: ObjectStore, settings: Settings, runId: string, label: string): Promise<string[]> {
  const bucket = runsBucket(settings);
  const predictions = await getJsonIfExists<PredictionsArtifact>(store, bucket, runKey(runId, RUN_FILES.predictions));
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
