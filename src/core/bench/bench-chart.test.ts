import { describe, expect, it } from 'vitest';
import { renderBenchChart } from './bench-chart.js';
import type { BenchCell, BenchProtocol, BenchReport } from './bench-types.js';

function cell(phase: 'predict' | 'baseline', protocol: BenchProtocol, replicas: number, connections: number, requestsPerSec: number, p99: number): BenchCell {
  return {
    phase,
    protocol,
    engine: 'onnx',
    replicas,
    connections,
    durationSec: 2,
    route: phase === 'baseline' ? 'GET /healthz' : 'POST /predict',
    requests: requestsPerSec * 2,
    requestsPerSec,
    latency: { p50: p99 / 4, p90: p99 / 2, p99, max: p99 * 2, mean: p99 / 3 },
    errors: { non2xx: {}, timeouts: 0, connection: {}, total: 0 },
    cpu: null,
    serverRssMiB: null,
    fractionOfBaseline: null,
  };
}

/** A run of two replica counts, two protocols and two connection counts, with numbers as a 2-core machine gave them. */
function report(): BenchReport {
  return {
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    balancer: 'node-cluster',
    target: null,
    modelName: 'flts',
    runId: 'd2e65bd91084455e9c68a84d5075b2d6',
    modelType: 'LSTM',
    payload: { source: 'PobleSec_test.csv', origin: 'named', why: '', rowsPerRequest: 16, distinctBodies: 10, meanBytes: 2000 },
    matrix: { protocols: ['http', 'oip-http'], replicas: [1, 2], connections: [4, 16], durationSec: 2, baselineDurationSec: 1, warmupSec: 1 },
    machine: { cpus: 2, cpuModel: 'x', memoryGiB: 4, node: 'v24', platform: 'linux', loadAverageStart: [0], loadAverageEnd: [0] },
    cells: [
      cell('baseline', 'http', 1, 4, 9700, 1.2),
      cell('baseline', 'http', 1, 16, 9500, 3),
      cell('predict', 'http', 1, 4, 2300, 25.1),
      cell('predict', 'http', 1, 16, 4400, 27.4),
      cell('predict', 'oip-http', 1, 4, 3100, 6.9),
      cell('predict', 'oip-http', 1, 16, 4200, 44.6),
      cell('baseline', 'http', 2, 4, 14400, 1.1),
      cell('baseline', 'http', 2, 16, 28200, 5.1),
      cell('predict', 'http', 2, 4, 2900, 10.5),
      cell('predict', 'http', 2, 16, 5900, 18.2),
      cell('predict', 'oip-http', 2, 4, 2500, 15.5),
      cell('predict', 'oip-http', 2, 16, 8900, 9.1),
    ],
  };
}

/** A tick label's value, its SI suffix read back. */
const valueOf = (label: string): number => Number(label.replace(/[kMG]$/, '')) * ({ k: 1e3, M: 1e6, G: 1e9 }[label.slice(-1)] ?? 1);

describe('core > bench > bench-chart', () => {
  it('labels each y axis with a few round values, written short, that reach past the highest cell', () => {
    const svg = renderBenchChart(report());
    const labels = [...svg.matchAll(/<text[^>]*x="(\d+(?:\.\d+)?)"[^>]*text-anchor="end">([^<]*)<\/text>/g)].map((m) => ({ x: Number(m[1]), label: m[2] }));
    const panels = [labels.filter((l) => l.x < 480), labels.filter((l) => l.x >= 480)];
    const highest = [28200, 44.6];
    panels.forEach((panel, p) => {
      const values = panel.map((l) => valueOf(l.label)).sort((a, b) => a - b);
      expect(values.length).toBeGreaterThanOrEqual(4);
      expect(values.length).toBeLessThanOrEqual(9);
      const step = values[1] - values[0];
      // A step of 1, 2 or 5 times a power of ten, every label a multiple of it, and no label longer than "100k".
      const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
      expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9), `step ${step}`).toBe(true);
      for (const value of values) expect(Math.abs(value / step - Math.round(value / step))).toBeLessThan(1e-9);
      for (const { label } of panel) expect(label.length).toBeLessThanOrEqual(4);
      expect(values[values.length - 1]).toBeGreaterThanOrEqual(highest[p]);
    });
  });

  it('keeps the legend off the lines, inside the chart, and names the run and model in the title', () => {
    const svg = renderBenchChart(report());
    const [width, height] = [Number(/width="(\d+)"/.exec(svg)?.[1]), Number(/height="(\d+)"/.exec(svg)?.[1])];
    // Each legend entry's box (the only text without an anchor): its 20 px swatch 25 px before the text, the text at 7.6 px a character, 12 px high.
    const boxes = [...svg.matchAll(/<text (?:class="legend" )?x="([\d.]+)" y="([\d.]+)">([^<]*)<\/text>/g)].map((m) => ({
      left: Number(m[1]) - 25,
      right: Number(m[1]) + m[3].length * 7.6,
      top: Number(m[2]) - 12,
      bottom: Number(m[2]) + 4,
    }));
    expect(boxes.length).toBeGreaterThanOrEqual(6);
    for (const box of boxes) {
      expect(box.left).toBeGreaterThanOrEqual(0);
      expect(box.right).toBeLessThanOrEqual(width);
      expect(box.bottom).toBeLessThanOrEqual(height);
    }
    // Every line sampled each pixel along its segments, and every point: none inside a legend entry.
    const lines = [...svg.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1].split(' ').map((pair) => pair.split(',').map(Number)));
    const inside = (px: number, py: number): boolean => boxes.some((b) => px >= b.left && px <= b.right && py >= b.top && py <= b.bottom);
    for (const points of lines) {
      for (let i = 1; i < points.length; i++) {
        const [[x0, y0], [x1, y1]] = [points[i - 1], points[i]];
        const steps = Math.ceil(Math.hypot(x1 - x0, y1 - y0));
        for (let s = 0; s <= steps; s++) expect(inside(x0 + ((x1 - x0) * s) / steps, y0 + ((y1 - y0) * s) / steps)).toBe(false);
      }
    }
    const title = /<text class="title"[^>]*>([^<]*)</.exec(svg)?.[1] ?? '';
    expect(title).toContain('d2e65bd9');
    expect(title).toContain('LSTM');
  });

  it('draws every cell inside its panel, clear of the y axis and the panel\'s right edge, under its replica label', () => {
    const svg = renderBenchChart(report());
    const axes = [...svg.matchAll(/<line x1="([\d.]+)" y1="([\d.]+)" x2="\1" y2="([\d.]+)" stroke="#333"\/>/g)].map((m) => Number(m[1]));
    const bottoms = [...svg.matchAll(/<line x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="\2" stroke="#333"\/>/g)].map((m) => ({ left: Number(m[1]), right: Number(m[3]) }));
    expect(axes).toHaveLength(2);
    const circles = [...svg.matchAll(/<circle cx="([\d.]+)" cy="[\d.]+" r="([\d.]+)"/g)].map((m) => ({ x: Number(m[1]), r: Number(m[2]) }));
    expect(circles.length).toBeGreaterThan(0);
    for (const c of circles) {
      const panel = bottoms.find((b) => c.x >= b.left - 1e-6 && c.x <= b.right + 1e-6)!;
      expect(panel, `circle at ${c.x}`).toBeDefined();
      expect(c.x - c.r - panel.left, `circle at ${c.x}`).toBeGreaterThanOrEqual(10);
      expect(panel.right - (c.x + c.r), `circle at ${c.x}`).toBeGreaterThanOrEqual(10);
    }
    // Each replica label sits under its cells.
    const xs = [...new Set(circles.map((c) => c.x))];
    const labels = [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="middle">(\d+)<\/text>/g)].map((m) => Number(m[1]));
    expect(labels).toHaveLength(4);
    for (const x of xs) expect(labels.some((l) => Math.abs(l - x) < 0.1), `cells at ${x}`).toBe(true);
  });

  it('draws each grey ceiling with its own dash, so the ceilings of 4 and 16 connections are told apart', () => {
    const svg = renderBenchChart(report());
    const dashes = [...svg.matchAll(/<polyline[^>]*stroke="#999"[^>]*stroke-dasharray="([^"]*)"/g)].map((m) => m[1]);
    expect(dashes).toHaveLength(2);
    expect(new Set(dashes).size).toBe(2);
  });
});
