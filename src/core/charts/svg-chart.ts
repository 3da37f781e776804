export interface ChartSeries {
  name: string;
  values: ArrayLike<number>;
  color?: string;
  /** Draw points instead of a line (residual plots). */
  points?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** x value of index 0 and the step between points (default 1-based index). */
  xStart?: number;
  width?: number;
  height?: number;
  /** Draw a horizontal reference line at this y (e.g. 0 for residuals). */
  baseline?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];
const MAX_POINTS = 2000;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e5 || abs < 1e-3)) return value.toExponential(2);
  return Number(value.toPrecision(4)).toString();
}

/** A small dependency-free SVG line chart; long series are thinned to MAX_POINTS evenly spaced points. */
export function renderLineChart(options: LineChartOptions): string {
  const width = options.width ?? 800;
  const height = options.height ?? 420;
  const margin = { left: 80, right: 20, top: 40, bottom: 60 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const xStart = options.xStart ?? 1;
  const finite = options.series.flatMap((s) => Array.from(s.values).filter(Number.isFinite));
  if (options.baseline !== undefined) finite.push(options.baseline);
  let [min, max] = finite.length ? reduceMinMax(finite) : [0, 1];
  if (min === max) [min, max] = [min - 1, max + 1];
  const length = Math.max(1, ...options.series.map((s) => s.values.length));
  const x = (i: number): number => margin.left + (length === 1 ? plotW / 2 : (i / (length - 1)) * plotW);
  const y = (v: number): number => margin.top + plotH - ((v - min) / (max - min)) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`,
    `<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}" stroke="#333"/>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const value = min + ((max - min) * t) / 4;
    parts.push(`<text x="${margin.left - 6}" y="${y(value) + 4}" text-anchor="end">${formatTick(value)}</text>`);
    parts.push(`<line x1="${margin.left}" y1="${y(value)}" x2="${margin.left + plotW}" y2="${y(value)}" stroke="#eee"/>`);
    const index = Math.round(((length - 1) * t) / 4);
    parts.push(`<text x="${x(index)}" y="${margin.top + plotH + 18}" text-anchor="middle">${xStart + index}</text>`);
  }
  if (options.baseline !== undefined) parts.push(`<line x1="${margin.left}" y1="${y(options.baseline)}" x2="${margin.left + plotW}" y2="${y(options.baseline)}" stroke="#888" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 18}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  parts.push(`<text x="16" y="${margin.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${margin.top + plotH / 2})">${escapeXml(options.yLabel)}</text>`);
  options.series.forEach((series, s) => {
    const color = series.color ?? PALETTE[s % PALETTE.length];
    const step = Math.max(1, Math.ceil(series.values.length / MAX_POINTS));
    const coords: string[] = [];
    for (let i = 0; i < series.values.length; i += step) {
      if (Number.isFinite(series.values[i])) coords.push(`${x(i).toFixed(1)},${y(series.values[i]).toFixed(1)}`);
    }
    if (series.points) parts.push(...coords.map((c) => `<circle cx="${c.split(',')[0]}" cy="${c.split(',')[1]}" r="1.5" fill="${color}"/>`));
    else parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${coords.join(' ')}"/>`);
    parts.push(`<rect x="${margin.left + 10 + s * 150}" y="${margin.top - 14}" width="10" height="10" fill="${color}"/>`);
    parts.push(`<text x="${margin.left + 24 + s * 150}" y="${margin.top - 5}">${escapeXml(series.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function reduceMinMax(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
