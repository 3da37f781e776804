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

/** The mean of the finite values within `half` places either side of each value (NaN where the value is missing). */
export function centredMean(values: readonly number[], half: number): number[] {
  return values.map((value, i) => {
    if (!Number.isFinite(value)) return Number.NaN;
    let sum = 0;
    let count = 0;
    for (let k = Math.max(0, i - half); k <= Math.min(values.length - 1, i + half); k++) {
      if (Number.isFinite(values[k])) {
        sum += values[k];
        count += 1;
      }
    }
    return sum / count;
  });
}

/**
 * Scaled RMSE of every fold per model, fold origins in time order: how the error moves through the test period.
 * Past SMOOTH_PAST_FOLDS folds each model's folds are drawn pale and its mean over a window of folds bold, in the
 * model's colour, so that the models can be told apart and compared through the test.
 */
export function renderBacktestChart(record: BacktestRecord): string {
  const first = record.origins[0] ?? '';
  const last = record.origins.at(-1) ?? '';
  const folds = Math.max(0, ...record.models.map((model) => model.folds.length));
  const half = folds > SMOOTH_PAST_FOLDS ? Math.max(1, Math.round((folds * WINDOW_SHARE) / 2)) : 0;
  const every = `every ${record.stride === 1 ? 'row' : `${record.stride} rows`}`;
  const raw = record.models.map((model, index) => ({ name: model.model_type, values: model.folds.map((fold) => fold.metrics.rmse), color: PALETTE[index % PALETTE.length] }));
  return renderLineChart({
    // The chart is read apart from its record (a browser, an artefact store): its title says which data it scored.
    title: `Backtest error over time, config_hash ${record.config_hash.slice(0, 12)}, horizon ${record.horizon} (origins ${first} .. ${last} UTC)`,
    xLabel: half > 0 ? `fold origin (UTC; ${every}); pale: each fold, bold: mean of the ${2 * half + 1} folds around it` : `fold origin (UTC; ${every})`,
    xTimes: record.origins.map(parseTimestamp),
    yLabel: 'RMSE (scaled)',
    series: half > 0 ? [...raw.map((series) => ({ ...series, faint: true })), ...raw.map((series) => ({ ...series, values: centredMean(series.values, half) }))] : raw,
  });
}
