import path from 'node:path';
import { intervalBands } from '../charts/interval-bands.js';
import { renderLineChart } from '../charts/svg-chart.js';
import { targetFileNames } from '../charts/target-file-names.js';
import { formatTimestamp } from '../data/timestamps.js';
import type { BatchForecast } from './batch-forecast.js';

/**
 * The fewest data rows a forecast plot shows before the forecast: enough for the recent level and cycle to read
 * (four hours of two-minute rows); more when the model reads a longer window or the horizon is long, so that the
 * forecast never takes more than a quarter of the width.
 */
const MIN_HISTORY_ROWS = 120;

/** The data's own values of each target, in original units, at its row times: what the plot shows as history. */
export interface PlotHistory {
  time: ArrayLike<number>;
  values: readonly ArrayLike<number>[];
}

export interface ForecastPlotLabels {
  runId: string;
  modelType: string;
  configHash: string;
  /** Rows the model reads per window. */
  inputRows: number;
}

/**
 * Where the plot of each target goes: the first target's in the file named, each further one's beside it with
 * the target in its name (`forecast.svg`, then `forecast.up.svg`; targetFileNames).
 */
export function forecastPlotFiles(file: string, targets: readonly string[]): string[] {
  const extension = path.extname(file);
  const stem = file.slice(0, file.length - extension.length);
  const names = targetFileNames(targets);
  return targets.map((_, index) => (index === 0 ? file : `${stem}.${names[index]}${extension}`));
}

/**
 * One target's forecast plot: the tail of the data and, at each time, the latest forecast made for it (one step
 * ahead over the data, then the last window's whole horizon past its end), with the bands of every interval level.
 * The numbers are the batch forecast's own; nothing is recomputed.
 */
export function renderForecastPlot(forecast: BatchForecast, history: PlotHistory, targetIndex: number, labels: ForecastPlotLabels): string {
  const target = forecast.targets[targetIndex];
  // The latest forecast of each time: the window with the latest origin among those reaching it.
  const latestRow = new Map<number, number>();
  for (let r = 0; r < forecast.time.length; r++) {
    const earlier = latestRow.get(forecast.time[r]);
    if (earlier === undefined || forecast.origin[r] >= forecast.origin[earlier]) latestRow.set(forecast.time[r], r);
  }
  const lastTime = history.time.length > 0 ? history.time[history.time.length - 1] : -Infinity;
  const future = [...latestRow.keys()].filter((time) => time > lastTime).sort((a, b) => a - b);
  const tailRows = Math.min(history.time.length, Math.max(MIN_HISTORY_ROWS, labels.inputRows, 3 * future.length));
  const from = history.time.length - tailRows;
  const times = [...Array.from({ length: tailRows }, (_, i) => history.time[from + i]), ...future];
  const rows = times.map((time) => latestRow.get(time));
  const valuesAt = (column: ArrayLike<number>): number[] => rows.map((r) => (r === undefined ? Number.NaN : column[r]));
  const actual = [...Array.from({ length: tailRows }, (_, i) => history.values[targetIndex][from + i]), ...future.map(() => Number.NaN)];
  const levels = forecast.intervals?.[target] ?? {};
  const bands = intervalBands(Object.fromEntries(Object.entries(levels).map(([level, band]) => [level, { lower: valuesAt(band.lower), upper: valuesAt(band.upper) }])));
  return renderLineChart({
    // Read apart from the command that wrote it: the title names the run and the data version it forecast with.
    title: `${target} forecast, run ${labels.runId} (${labels.modelType}, config_hash ${labels.configHash.slice(0, 12)})`,
    xLabel: 'time (UTC)',
    yLabel: `${target} (original units)`,
    xTimes: times,
    // Past the marker every value is a forecast: the data ends at the tail's last row (x counts from 1).
    ...(tailRows > 0 && future.length > 0 ? { xMarker: { at: tailRows, name: `end of the data (${formatTimestamp(lastTime)} UTC)` } } : {}),
    bands,
    series: [
      { name: 'actual', values: actual, color: '#333333' },
      { name: 'forecast', values: valuesAt(forecast.predicted[targetIndex]), color: '#d62728' },
    ],
  });
}
