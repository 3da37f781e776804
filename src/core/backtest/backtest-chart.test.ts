import { describe, expect, it } from 'vitest';
import type { BacktestModelResult } from './backtest-model.js';
import { renderBacktestChart } from './backtest-chart.js';
import type { BacktestRecord } from './backtest-record.js';

function record(stride: number): BacktestRecord {
  const folds = [0.1, 0.2].map((rmse) => ({ metrics: { rmse } }));
  return {
    config_hash: `abcdef012345${'0'.repeat(52)}`,
    created_at: '2025-01-01T00:00:00.000Z',
    horizon: 30,
    stride,
    refit_every: 0,
    origins: ['2025-01-01T00:00:00', '2025-01-02T00:00:00'],
    models: [{ model_type: 'GRU', folds } as unknown as BacktestModelResult],
    ranking: [],
  };
}

describe('core > backtest > chart', () => {
  it('names the data it scored in its title and its stride in words a person reads', () => {
    const one = renderBacktestChart(record(1));
    // Wider than the chart: on two lines, the second a tspan.
    const title = /<text class="title"[^>]*>(.*?)<\/text>/.exec(one)![1].replace(/<tspan[^>]*>/g, ' ').replace(/<\/tspan>/g, '');
    expect(title).toBe('Backtest error over time, config_hash abcdef012345, horizon 30 (origins 2025-01-01T00:00:00 .. 2025-01-02T00:00:00 UTC)');
    expect(one).toContain('fold origin (UTC; every row)');
    expect(renderBacktestChart(record(10))).toContain('fold origin (UTC; every 10 rows)');
  });
});
