import { centredMean } from '../charts/centred-mean.js';
import { PALETTE, renderLineChart } from '../charts/svg-chart.js';
import { parseTimestamp } from '../data/timestamps.js';
import type { BacktestRecord } from './backtest-record.js';

/**
 * Past this many folds each model's line is mostly spikes a pixel apart, and the models' lines lie over each other:
 * on a 1,500-fold test the last model drawn hid the others and no model could be told from another.
 */
export const SMOOTH_PAST_FOLDS = 200;
/** The smoothed line's window spans about this share of the folds (30 of 1,500: an hour of 2-minute rows). */
const WINDOW_SHARE = 1 / 50;


/** The value below which `share` of the finite values lie (nearest rank). */
function quantile(values: readonly number[], share: number): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? Number.NaN;
}

/**
 * Where the y axis of a smoothed chart ends: the 99th percentile of the folds' errors, kept between 1.5 and 2 times
 * the highest mean. Scaled to the pale spikes (0.48 on PobleSec's test), the bold means, which a reader compares,
 * used the bottom sixth of the plot; under this cap they reach half to two thirds of the way up (less what the axis
 * gives to end on a round value), and the fold or so in a hundred above it is drawn at the top edge, marked.
 */
export function errorAxisCap(folds: readonly number[], means: readonly number[]): number {
  const highestMean = Math.max(...means.filter(Number.isFinite));
  return Math.min(Math.max(quantile(folds, 0.99), 1.5 * highestMean), 2 * highestMean);
}

/**
 * Scaled RMSE of every fold per model, fold origins in time order: how the error moves through the test period.
 * Past SMOOTH_PAST_FOLDS folds each model's folds are drawn pale and its mean over a window of folds bold, in the
 * model's colour, so that the models can be told apart and compared through the test; the y axis is then
 * scaled to the means (errorAxisCap), the folds above it drawn at the top edge and counted in the legend.
 */
export function renderBacktestChart(record: BacktestRecord): string {
  const first = record.origins[0] ?? '';
  const last = record.origins.at(-1) ?? '';
  const folds = Math.max(0, ...record.models.map((model) => model.folds.length));
  const half = folds > SMOOTH_PAST_FOLDS ? Math.max(1, Math.round((folds * WINDOW_SHARE) / 2)) : 0;
  const every = `every ${record.stride === 1 ? 'row' : `${record.stride} rows`}`;
  const raw = record.models.map((model, index) => ({ name: model.model_type, values: model.folds.map((fold) => fold.metrics.rmse), color: PALETTE[index % PALETTE.length] }));
  const means = half > 0 ? raw.map((series) => ({ ...series, values: centredMean(series.values, half) })) : [];
  const cap = half > 0 ? errorAxisCap(raw.flatMap((series) => series.values), means.flatMap((series) => series.values)) : Number.NaN;
  return renderLineChart({
    // The chart is read apart from its record (a browser, an artefact store): its title says which data it scored.
    title: `Backtest error over time, config_hash ${record.config_hash.slice(0, 12)}, horizon ${record.horizon} (origins ${first} .. ${last} UTC)`,
    xLabel: half > 0 ? `fold origin (UTC; ${every}); pale: each fold, bold: mean of the ${2 * half + 1} folds around it` : `fold origin (UTC; ${every})`,
    xTimes: record.origins.map(parseTimestamp),
    yLabel: 'RMSE (scaled)',
    series: half > 0 ? [...raw.map((series) => ({ ...series, faint: true })), ...means] : raw,
    ...(Number.isFinite(cap) ? { yCap: { at: cap, noun: 'fold error' } } : {}),
  });
}
