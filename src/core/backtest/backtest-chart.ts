import { renderLineChart } from '../charts/svg-chart.js';
import { parseTimestamp } from '../data/timestamps.js';
import type { BacktestRecord } from './backtest-record.js';

/** Scaled RMSE of every fold per model, fold origins in time order: how the error moves through the test period. */
export function renderBacktestChart(record: BacktestRecord): string {
  const first = record.origins[0] ?? '';
  const last = record.origins.at(-1) ?? '';
  return renderLineChart({
    // The chart is read apart from its record (a browser, an artefact store): its title says which data it scored.
    title: `Backtest error over time, config_hash ${record.config_hash.slice(0, 12)}, horizon ${record.horizon} (origins ${first} .. ${last} UTC)`,
    xLabel: `fold origin (UTC; every ${record.stride === 1 ? 'row' : `${record.stride} rows`})`,
    xTimes: record.origins.map(parseTimestamp),
    yLabel: 'RMSE (scaled)',
    series: record.models.map((model) => ({ name: model.model_type, values: model.folds.map((fold) => fold.metrics.rmse) })),
  });
}
