import { formatTicks, niceAxis, PALETTE } from '../charts/svg-chart.js';
import type { BenchReport } from './bench-types.js';

interface Panel {
  title: string;
  yLabel: string;
  value: (rps: number, p99: number) => number;
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const LEGEND_ROW_PX = 16;
const CEILING_DASHES = ['6 4', '2 3', '10 3 2 3', '1 6', '10 6'];
/** Rough width of a 12 px legend entry: its swatch, its text (7.6 px a character) and the space after it. */
const legendEntryWidth = (name: string): number => 25 + name.length * 7.6 + 24;

/** What the chart measured: the served run and its model, or the external target. */
function benchTitle(report: BenchReport): string {
  if (report.target) return `flts bench of ${report.target}`;
  const run = report.runId ? `run ${report.runId.slice(0, 8)}${report.modelType ? ` (${report.modelType})` : ''}` : 'the promoted run';
  return `flts bench of ${run}, ${report.balancer}`;
}

/**
 * Two panels side by side, throughput and p99 latency of the predict cells against the replica count (evenly
 * spaced categories, each in the middle of its slot), one line per protocol and connection count; dashed grey lines are the baselines' throughput.
 * The y axes end on round values (31040 and 48.9 were a tenth over the highest cell, labelled in quarters of it), and
 * the legend, one for both panels (a line wears the same colour in each), sits below them: drawn in the plot's top
 * left, it covered the lines that start high there, the slow p99s of one replica.
 */
export function renderBenchChart(report: BenchReport): string {
  const width = 960;
  const panelW = width / 2;
  const margin = { left: 70, right: 20, top: 66, bottom: 60 };
  const plotW = panelW - margin.left - margin.right;
  const plotH = 420 - 50 - margin.bottom;
  const replicaValues = [...new Set(report.cells.map((c) => c.replicas))];
  const labels = replicaValues.map((r) => (r === null ? 'target' : String(r)));
  // Each replica count in the middle of its own slot: at the plot's ends, the first cell's marker sat on the y axis
  // line and the last one's on the plot's right edge, half of each lost.
  const x = (i: number): number => margin.left + ((i + 0.5) / replicaValues.length) * plotW;
  const panels: Panel[] = [
    { title: 'Throughput (2xx req/s)', yLabel: 'requests/s', value: (rps) => rps },
    { title: 'p99 latency (ms)', yLabel: 'ms', value: (_rps, p99) => p99 },
  ];
  const variants = [...new Set(report.cells.map((c) => c.variant))];
  const protocols = report.matrix.protocols;
  const baselines = [...new Set(report.cells.filter((c) => c.phase === 'baseline').map((c) => c.protocol))];
  // Lines are told apart by what varies in the run: the compared configuration, the protocol, or both.
  const prefix = (variant: string | undefined, protocol: string, all: readonly string[]): string => `${variant ? `${variant}, ` : ''}${all.length > 1 ? `${protocol}, ` : ''}`;
  const find = (phase: string, variant: string | undefined, protocol: string, replicas: number | null, connections: number) =>
    report.cells.find((c) => c.phase === phase && c.variant === variant && c.protocol === protocol && c.replicas === replicas && c.connections === connections);
  const predictSeries = variants.flatMap((variant) =>
    protocols.flatMap((protocol) =>
      report.matrix.connections.map((connections) => ({
        name: `${prefix(variant, protocol, protocols)}${connections} connections`,
        phase: 'predict',
        values: replicaValues.map((r) => find('predict', variant, protocol, r, connections)),
      })),
    ),
  );
  const baselineSeries = variants.flatMap((variant) =>
    baselines.flatMap((protocol) =>
      report.matrix.connections.map((connections) => ({
        name: `ceiling, ${prefix(variant, protocol, baselines)}${connections} conn.`,
        phase: 'baseline',
        values: replicaValues.map((r) => find('baseline', variant, protocol, r, connections)),
      })),
    ),
  );
  const colorOf = (s: { phase: string }, k: number): string => (s.phase === 'baseline' ? '#999' : PALETTE[k % PALETTE.length]);
  // The ceilings are all grey: each its own dash, or two of them (4 and 16 connections) could not be told apart.
  const dashOf = (s: { phase: string }, k: number): string => (s.phase === 'baseline' ? ` stroke-dasharray="${CEILING_DASHES[(k - predictSeries.length) % CEILING_DASHES.length]}"` : '');
  // The legend's entries, left to right below the panels, wrapping to a new row rather than past the chart's edge.
  const legendTop = margin.top + plotH + 56;
  const legend: string[] = [];
  let row = 0;
  let at = 20;
  [...predictSeries, ...baselineSeries].forEach((s, k) => {
    const entryWidth = legendEntryWidth(s.name);
    if (at > 20 && at + entryWidth - 24 > width - 20) {
      row += 1;
      at = 20;
    }
    const ly = legendTop + row * LEGEND_ROW_PX;
    legend.push(`<line x1="${at}" y1="${ly}" x2="${at + 20}" y2="${ly}" stroke="${colorOf(s, k)}" stroke-width="2"${dashOf(s, k)}/>`);
    legend.push(`<text class="legend" x="${at + 25}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
    at += entryWidth;
  });
  const height = legendTop + row * LEGEND_ROW_PX + 16;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text class="title" x="${width / 2}" y="20" text-anchor="middle" font-size="15">${escapeXml(benchTitle(report))}</text>`,
  ];
  panels.forEach((panel, p) => {
    const ox = p * panelW;
    const series = p === 0 ? [...predictSeries, ...baselineSeries] : predictSeries;
    const all = series.flatMap((s) => s.values.filter((c) => c !== undefined).map((c) => panel.value(c.requestsPerSec, c.latency.p99)));
    const axis = niceAxis(0, Math.max(0, ...all.filter(Number.isFinite)) || 1);
    const y = (v: number): number => margin.top + plotH - (v / axis.max) * plotH;
    parts.push(`<text x="${ox + panelW / 2}" y="44" text-anchor="middle" font-size="14">${escapeXml(panel.title)}</text>`);
    parts.push(`<line x1="${ox + margin.left}" y1="${margin.top + plotH}" x2="${ox + margin.left + plotW}" y2="${margin.top + plotH}" stroke="#333"/>`);
    parts.push(`<line x1="${ox + margin.left}" y1="${margin.top}" x2="${ox + margin.left}" y2="${margin.top + plotH}" stroke="#333"/>`);
    const tickLabels = formatTicks(axis.ticks);
    for (const [k, v] of axis.ticks.entries()) {
      parts.push(`<line x1="${ox + margin.left}" y1="${y(v)}" x2="${ox + margin.left + plotW}" y2="${y(v)}" stroke="#eee"/>`);
      parts.push(`<text class="y-tick" x="${ox + margin.left - 6}" y="${y(v) + 4}" text-anchor="end">${tickLabels[k]}</text>`);
    }
    labels.forEach((label, i) => parts.push(`<text x="${ox + x(i)}" y="${margin.top + plotH + 18}" text-anchor="middle">${label}</text>`));
    parts.push(`<text x="${ox + margin.left + plotW / 2}" y="${margin.top + plotH + 40}" text-anchor="middle">replicas</text>`);
    parts.push(`<text transform="translate(${ox + 16} ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${panel.yLabel}</text>`);
    series.forEach((s, k) => {
      const color = colorOf(s, k);
      const points = s.values.map((c, i) => (c ? `${(ox + x(i)).toFixed(1)},${y(panel.value(c.requestsPerSec, c.latency.p99)).toFixed(1)}` : '')).filter(Boolean);
      if (points.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dashOf(s, k)} points="${points.join(' ')}"/>`);
      for (const point of points) parts.push(`<circle cx="${point.split(',')[0]}" cy="${point.split(',')[1]}" r="3" fill="${color}"/>`);
    });
  });
  parts.push(...legend);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
