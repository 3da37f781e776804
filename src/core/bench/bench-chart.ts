import type { BenchReport } from './bench-types.js';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

interface Panel {
  title: string;
  yLabel: string;
  value: (rps: number, p99: number) => number;
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const tick = (value: number): string => (value >= 1000 ? value.toFixed(0) : Number(value.toPrecision(3)).toString());

/**
 * Two panels side by side, throughput and p99 latency of the predict cells against the replica count (evenly
 * spaced categories), one line per protocol and connection count; dashed grey lines are the baselines' throughput.
 */
export function renderBenchChart(report: BenchReport): string {
  const width = 960;
  const height = 420;
  const panelW = width / 2;
  const margin = { left: 70, right: 20, top: 50, bottom: 60 };
  const plotW = panelW - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const replicaValues = [...new Set(report.cells.map((c) => c.replicas))];
  const labels = replicaValues.map((r) => (r === null ? 'target' : String(r)));
  const x = (i: number): number => margin.left + (replicaValues.length === 1 ? plotW / 2 : (i / (replicaValues.length - 1)) * plotW);
  const panels: Panel[] = [
    { title: 'Throughput (2xx req/s)', yLabel: 'requests/s', value: (rps) => rps },
    { title: 'p99 latency (ms)', yLabel: 'ms', value: (_rps, p99) => p99 },
  ];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  panels.forEach((panel, p) => {
    const ox = p * panelW;
    const variants = [...new Set(report.cells.map((c) => c.variant))];
    const protocols = report.matrix.protocols;
    const baselines = [...new Set(report.cells.filter((c) => c.phase === 'baseline').map((c) => c.protocol))];
    // Lines are told apart by what varies in the run: the compared configuration, the protocol, or both.
    const prefix = (variant: string | undefined, protocol: string, all: readonly string[]): string => `${variant ? `${variant}, ` : ''}${all.length > 1 ? `${protocol}, ` : ''}`;
    const find = (phase: string, variant: string | undefined, protocol: string, replicas: number | null, connections: number) =>
      report.cells.find((c) => c.phase === phase && c.variant === variant && c.protocol === protocol && c.replicas === replicas && c.connections === connections);
    const series = variants.flatMap((variant) =>
      protocols.flatMap((protocol) =>
        report.matrix.connections.map((connections) => ({
          name: `${prefix(variant, protocol, protocols)}${connections} connections`,
          phase: 'predict',
          values: replicaValues.map((r) => find('predict', variant, protocol, r, connections)),
        })),
      ),
    );
    if (p === 0) {
      for (const variant of variants) {
        for (const protocol of baselines) {
          for (const connections of report.matrix.connections) {
            series.push({ name: `ceiling, ${prefix(variant, protocol, baselines)}${connections} conn.`, phase: 'baseline', values: replicaValues.map((r) => find('baseline', variant, protocol, r, connections)) });
          }
        }
      }
    }
    const all = series.flatMap((s) => s.values.filter((c) => c !== undefined).map((c) => panel.value(c.requestsPerSec, c.latency.p99)));
    const max = Math.max(1, ...all) * 1.1;
    const y = (v: number): number => margin.top + plotH - (v / max) * plotH;
    parts.push(`<text x="${ox + panelW / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(panel.title)}</text>`);
    parts.push(`<line x1="${ox + margin.left}" y1="${margin.top + plotH}" x2="${ox + margin.left + plotW}" y2="${margin.top + plotH}" stroke="#333"/>`);
    parts.push(`<line x1="${ox + margin.left}" y1="${margin.top}" x2="${ox + margin.left}" y2="${margin.top + plotH}" stroke="#333"/>`);
    for (let t = 0; t <= 4; t++) {
      const v = (max * t) / 4;
      parts.push(`<line x1="${ox + margin.left}" y1="${y(v)}" x2="${ox + margin.left + plotW}" y2="${y(v)}" stroke="#eee"/>`);
      parts.push(`<text x="${ox + margin.left - 6}" y="${y(v) + 4}" text-anchor="end">${tick(v)}</text>`);
    }
    labels.forEach((label, i) => parts.push(`<text x="${ox + x(i)}" y="${margin.top + plotH + 18}" text-anchor="middle">${label}</text>`));
    parts.push(`<text x="${ox + margin.left + plotW / 2}" y="${height - 16}" text-anchor="middle">replicas</text>`);
    parts.push(`<text transform="translate(${ox + 16} ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${panel.yLabel}</text>`);
    series.forEach((s, k) => {
      const color = s.phase === 'baseline' ? '#999' : PALETTE[k % PALETTE.length];
      const points = s.values.map((c, i) => (c ? `${(ox + x(i)).toFixed(1)},${y(panel.value(c.requestsPerSec, c.latency.p99)).toFixed(1)}` : '')).filter(Boolean);
      const dash = s.phase === 'baseline' ? ' stroke-dasharray="5 4"' : '';
      if (points.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${points.join(' ')}"/>`);
      for (const point of points) parts.push(`<circle cx="${point.split(',')[0]}" cy="${point.split(',')[1]}" r="3" fill="${color}"/>`);
      const ly = margin.top + 4 + k * 16;
      parts.push(`<line x1="${ox + margin.left + 10}" y1="${ly}" x2="${ox + margin.left + 30}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
      parts.push(`<text x="${ox + margin.left + 35}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
