import { describe, expect, it } from 'vitest';
import { formatTick, niceTicks, renderLineChart } from './svg-chart.js';

describe('core > charts > svg-chart', () => {
  it('puts axis ticks on round values and writes them short', () => {
    expect(niceTicks(0.008733, 0.01296)).toEqual([0.009, 0.01, 0.011, 0.012]);
    expect(niceTicks(0, 3.1e8)).toEqual([0, 1e8, 2e8, 3e8]);
    expect(niceTicks(0, 3.1e8).map(formatTick)).toEqual(['0', '100M', '200M', '300M']);
    expect(formatTick(0.015)).toBe('0.015');
    expect(formatTick(-2500)).toBe('-2.5k');
  });

  it('draws interval bands and date ticks', () => {
    const times = Array.from({ length: 10 }, (_, i) => Date.UTC(2018, 1, 28, 3, 2 * i));
    const svg = renderLineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      xTimes: times,
      bands: [{ name: '80 % interval', lower: times.map(() => 0), upper: times.map(() => 2) }],
      series: [{ name: 'forecast', values: times.map(() => 1) }],
    });
    expect(svg).toContain('<polygon');
    expect(svg).toContain('02-28 03:00');
    expect(svg).toContain('80 % interval');
  });
});
