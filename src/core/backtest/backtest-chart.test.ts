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

  it('tells the models of a long backtest apart: each model\'s folds pale, its mean over a window of folds bold in its colour', () => {
    // Three models with spiky fold errors, each a steady amount above the one before: drawn raw, their lines lay over each other.
    const count = 1500;
    const spiky = (level: number): number[] => Array.from({ length: count }, (_, i) => level + (i % 7 === 0 ? 0.3 : 0.01 * (i % 5)));
    const models = [0.02, 0.05, 0.08].map((level, index) => ({ model_type: ['NAIVE', 'GRU', 'MSTL'][index], folds: spiky(level).map((rmse) => ({ metrics: { rmse } })) }));
    const origins = Array.from({ length: count }, (_, i) => new Date(Date.UTC(2025, 0, 1) + i * 120_000).toISOString().slice(0, 19));
    const svg = renderBacktestChart({ ...record(1), origins, models: models as unknown as BacktestModelResult[] });
    const legend = [...svg.matchAll(/<text class="legend"[^>]*>([^<]*)<\/text>/g)].map((match) => match[1]);
    // The models, then the note on the spikes drawn at the top edge.
    expect(legend.slice(0, 3)).toEqual(['NAIVE', 'GRU', 'MSTL']);
    expect(legend.slice(3).every((entry) => entry.endsWith('drawn at the top edge'))).toBe(true);
    const lines = [...svg.matchAll(/<polyline fill="none" stroke="(#[0-9a-f]{6})" (.*?)points="([^"]+)"/g)].map((match) => ({
      color: match[1],
      faint: /stroke-opacity="0\.3"/.test(match[2]),
      width: Number(/stroke-width="([\d.]+)"/.exec(match[2])![1]),
      meanY: match[3].split(' ').reduce((sum, pair) => sum + Number(pair.split(',')[1]), 0) / match[3].split(' ').length,
    }));
    const colors = [...new Set(lines.map((line) => line.color))];
    expect(colors).toHaveLength(3);
    for (const color of colors) {
      expect(lines.filter((line) => line.color === color && line.faint).length, color).toBeGreaterThan(0);
      expect(lines.filter((line) => line.color === color && !line.faint).map((line) => line.width), color).toEqual([1.8]);
    }
    // The bold lines stand in the models' order, lowest error lowest on the page (the larger y), a clear gap apart.
    const bold = colors.map((color) => lines.find((line) => line.color === color && !line.faint)!.meanY);
    expect(bold[0] - bold[1]).toBeGreaterThan(10);
    expect(bold[1] - bold[2]).toBeGreaterThan(10);
    expect(svg).toContain('pale: each fold, bold: mean of the 31 folds around it');
  });

  it('draws a short backtest\'s folds as they are, with no smoothing', () => {
    const svg = renderBacktestChart(record(1));
    expect(svg).not.toContain('stroke-opacity');
    expect(svg).not.toContain('pale: each fold');
  });
  it('scales a long backtest to its bold means, not to the rare spikes of single folds, and marks every fold it clips', () => {
    // Two models near 0.03 and 0.05, one fold in fifty of each ten to twenty times that: scaled to the spikes, the
    // bold means used the bottom tenth of the plot.
    const count = 1500;
    const spiky = (level: number, phase: number): number[] => Array.from({ length: count }, (_, i) => ((i + phase) % 50 === 0 ? level * (10 + (i % 11)) : level * (1 + 0.3 * Math.sin(i / 40))));
    const models = [
      { model_type: 'NAIVE', folds: spiky(0.05, 0).map((rmse) => ({ metrics: { rmse } })) },
      { model_type: 'GRU', folds: spiky(0.03, 25).map((rmse) => ({ metrics: { rmse } })) },
    ];
    const origins = Array.from({ length: count }, (_, i) => new Date(Date.UTC(2025, 0, 1) + i * 120_000).toISOString().slice(0, 19));
    const svg = renderBacktestChart({ ...record(1), origins, models: models as unknown as BacktestModelResult[] });
    const [, , top, bottom] = /<line x1="([\d.]+)" y1="([\d.]+)" x2="\1" y2="([\d.]+)" stroke="#333"\/>/.exec(svg)!.map(Number);
    const lines = [...svg.matchAll(/<polyline fill="none" stroke="(#[0-9a-f]{6})" (.*?)points="([^"]+)"/g)].map((match) => ({
      color: match[1],
      faint: /stroke-opacity/.test(match[2]),
      points: match[3].split(' ').map((pair) => ({ x: Number(pair.split(',')[0]), y: Number(pair.split(',')[1]) })),
    }));
    const bold = lines.filter((line) => !line.faint);
    expect(bold).toHaveLength(2);
    // The higher mean reaches at least 40 % of the way up the plot.
    const boldTop = Math.min(...bold.flatMap((line) => line.points.map((p) => p.y)));
    expect((bottom - boldTop) / (bottom - top)).toBeGreaterThanOrEqual(0.4);
    // Nothing is drawn above the plot; each fold drawn on its top edge sits under a marker of its model's colour.
    const pale = lines.filter((line) => line.faint).flatMap((line) => line.points.map((p) => ({ ...p, color: line.color })));
    expect(Math.min(...pale.map((p) => p.y))).toBe(top);
    const atTop = pale.filter((p) => p.y === top);
    const markers = [...svg.matchAll(/<path class="clipped" d="M[\d.]+,[\d.]+ L([\d.]+),([\d.]+)[^"]*" fill="([^"]+)"/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), color: m[3] }));
    expect(atTop.length).toBeGreaterThan(0);
    for (const p of atTop) expect(markers.some((m) => m.color === p.color && m.y === top && Math.abs(m.x - p.x) <= 1), `${p.color} at ${p.x}`).toBe(true);
    // The legend counts the clipped folds (of every model) and gives the highest, against the axis's top label.
    const note = /<text class="legend"[^>]*>(\d+) fold errors above ([\d.]+) \(highest ([\d.]+)\) drawn at the top edge<\/text>/.exec(svg)!;
    const axisTop = Number(note[2]);
    expect(Number([...svg.matchAll(/<text x="[\d.]+" y="[\d.]+" text-anchor="end">([^<]*)<\/text>/g)].at(-1)![1])).toBe(axisTop);
    const all = models.flatMap((model) => model.folds.map((fold) => fold.metrics.rmse));
    expect(Number(note[1])).toBe(all.filter((rmse) => rmse > axisTop).length);
    expect(Number(note[3])).toBeCloseTo(Math.max(...all), 3);
  });

  it('clips nothing of a long backtest without spikes', () => {
    const count = 400;
    const folds = Array.from({ length: count }, (_, i) => ({ metrics: { rmse: 0.03 + 0.01 * Math.sin(i / 7) } }));
    const origins = Array.from({ length: count }, (_, i) => new Date(Date.UTC(2025, 0, 1) + i * 120_000).toISOString().slice(0, 19));
    const svg = renderBacktestChart({ ...record(1), origins, models: [{ model_type: 'GRU', folds }] as unknown as BacktestModelResult[] });
    expect(svg).toContain('pale: each fold');
    expect(svg).not.toContain('class="clipped"');
    expect(svg).not.toContain('drawn at the top edge');
  });
});
