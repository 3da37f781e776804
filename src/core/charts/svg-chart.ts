export interface ChartSeries {
  name: string;
  values: ArrayLike<number>;
  color?: string;
  /** Draw points instead of a line (residual plots). */
  points?: boolean;
}

/** A shaded range between two series (a prediction interval). */
export interface ChartBand {
  name: string;
  lower: ArrayLike<number>;
  upper: ArrayLike<number>;
  color?: string;
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
  /** Epoch ms of each point: the x axis then shows dates and times instead of indices. */
  xTimes?: ArrayLike<number>;
  /** Shaded ranges drawn under the series. */
  bands?: ChartBand[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd'];
const MAX_POINTS = 2000;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const SI = [
  { factor: 1e12, suffix: 'T' },
  { factor: 1e9, suffix: 'G' },
  { factor: 1e6, suffix: 'M' },
  { factor: 1e3, suffix: 'k' },
];

/** Round tick values (1, 2 or 5 times a power of ten) covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let value = Math.ceil(min / step) * step; value <= max + step * 1e-9; value += step) ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

/** Short tick text: thousands as k, millions as M, ...; small values without float noise (0.015, not 0.01500000001). */
export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs === 0) return '0';
  for (const { factor, suffix } of SI) if (abs >= factor) return `${Number((value / factor).toPrecision(3))}${suffix}`;
  if (abs < 1e-4) return value.toExponential(1);
  return String(Number(value.toPrecision(3)));
}

/** "MM-DD HH:MM" in UTC, the zone flts reads naive timestamps in. */
function formatTime(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/** A small dependency-free SVG line chart; long series are thinned to MAX_POINTS evenly spaced points. */
export function renderLineChart(options: LineChartOptions): string {
  const width = options.width ?? 800;
  const height = options.height ?? 420;
  const margin = { left: 80, right: 20, top: 40, bottom: 60 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const xStart = options.xStart ?? 1;
  const finite = [...options.series.map((s) => s.values), ...(options.bands ?? []).flatMap((b) => [b.lower, b.upper])].flatMap((values) => Array.from(values).filter(Number.isFinite));
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
  for (const value of niceTicks(min, max)) {
    parts.push(`<text x="${margin.left - 6}" y="${y(value) + 4}" text-anchor="end">${formatTick(value)}</text>`);
    parts.push(`<line x1="${margin.left}" y1="${y(value)}" x2="${margin.left + plotW}" y2="${y(value)}" stroke="#eee"/>`);
  }
  const xTicks = options.xTimes ? 5 : Math.min(5, length);
  for (let t = 0; t < xTicks; t++) {
    const index = Math.round(((length - 1) * t) / Math.max(1, xTicks - 1));
    const label = options.xTimes ? formatTime(options.xTimes[index]) : String(xStart + index);
    parts.push(`<text x="${x(index)}" y="${margin.top + plotH + 18}" text-anchor="middle">${escapeXml(label)}</text>`);
  }
  if (options.baseline !== undefined) parts.push(`<line x1="${margin.left}" y1="${y(options.baseline)}" x2="${margin.left + plotW}" y2="${y(options.baseline)}" stroke="#888" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 18}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  parts.push(`<text x="16" y="${margin.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${margin.top + plotH / 2})">${escapeXml(options.yLabel)}</text>`);
  const legendOffset = (options.bands ?? []).length;
  (options.bands ?? []).forEach((band, b) => {
    const color = band.color ?? '#1f77b4';
    const step = Math.max(1, Math.ceil(band.lower.length / MAX_POINTS));
    const upper: string[] = [];
    const lower: string[] = [];
    for (let i = 0; i < band.lower.length; i += step) {
      if (!Number.isFinite(band.lower[i]) || !Number.isFinite(band.upper[i])) continue;
      upper.push(`${x(i).toFixed(1)},${y(band.upper[i]).toFixed(1)}`);
      lower.push(`${x(i).toFixed(1)},${y(band.lower[i]).toFixed(1)}`);
    }
    parts.push(`<polygon fill="${color}" fill-opacity="0.18" stroke="none" points="${[...upper, ...lower.reverse()].join(' ')}"/>`);
    parts.push(`<rect x="${margin.left + 10 + b * 150}" y="${margin.top - 14}" width="10" height="10" fill="${color}" fill-opacity="0.3"/>`);
    parts.push(`<text x="${margin.left + 24 + b * 150}" y="${margin.top - 5}">${escapeXml(band.name)}</text>`);
  });
  options.series.forEach((series, index) => {
    const s = index + legendOffset;
    const color = series.color ?? PALETTE[index % PALETTE.length];
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
