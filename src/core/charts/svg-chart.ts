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
  /** A dashed vertical line at this x (index from `xStart`, e.g. the epoch training kept), named in the legend. */
  xMarker?: { at: number; name: string };
  /** A logarithmic y axis, for values spanning orders of magnitude (a loss curve); linear if any value is <= 0. */
  yLog?: boolean;
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

/**
 * Of round steps, the one whose ticks within [min, max] come nearest to `count` (the more ticks on a tie). The
 * first step wide enough is not enough: on an axis from -350M to 850M it leaves two ticks, 0 and 500M, where a
 * step of 200M gives six.
 */
function nearestStep(steps: readonly number[], min: number, max: number, count: number): number {
  const gap = (step: number) => Math.abs(Math.floor(max / step + 1e-9) - Math.ceil(min / step - 1e-9) + 1 - count);
  return steps.reduce((best, step) => (gap(step) < gap(best) || (gap(step) === gap(best) && step < best) ? step : best));
}

/** Round tick values (1, 2 or 5 times a power of ten) within [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  const power = 10 ** Math.floor(Math.log10((max - min) / Math.max(1, count)));
  const step = nearestStep([0.5, 1, 2, 5, 10, 20].map((m) => m * power), min, max, count);
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

/** Ticks for a logarithmic axis over [min, max] (both > 0): 1, 2 and 5 times each power of ten (powers of ten
 * alone over many decades), or, within less than a decade where those are too few, the linear axis's round values. */
export function logTicks(min: number, max: number, count = 8): number[] {
  const withMantissas = (mantissas: number[]): number[] => {
    const ticks: number[] = [];
    for (let power = Math.floor(Math.log10(min)); power <= Math.ceil(Math.log10(max)); power++) {
      for (const mantissa of mantissas) {
        const value = Number((mantissa * 10 ** power).toPrecision(12));
        if (value >= min * (1 - 1e-9) && value <= max * (1 + 1e-9)) ticks.push(value);
      }
    }
    return ticks;
  };
  const ticks = withMantissas([1, 2, 5]);
  if (ticks.length < 3) return niceTicks(min, max, 6).filter((value) => value > 0);
  if (ticks.length <= count) return ticks;
  const decades = withMantissas([1]);
  const every = Math.ceil(decades.length / count);
  return decades.filter((_, i) => i % every === 0);
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Steps a time axis ticks at: round minutes, hours and days. */
const TIME_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080].map((minutes) => minutes * MINUTE_MS);

/** "MM-DD HH:MM" in UTC, the zone flts reads naive timestamps in; "MM-DD" for ticks a day or more apart. */
function formatTime(epochMs: number, stepMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return stepMs >= DAY_MS ? iso.slice(5, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/** Round UTC times (on the hour, at midnight, ...) within [first, last], about `count` of them. */
export function timeTicks(first: number, last: number, count = 5): { ticks: number[]; stepMs: number } {
  const week = TIME_STEPS_MS[TIME_STEPS_MS.length - 1];
  const stepMs = (last - first) / week > count ? Math.ceil((last - first) / count / week) * week : nearestStep(TIME_STEPS_MS, first, last, count);
  const ticks: number[] = [];
  for (let tick = Math.ceil(first / stepMs) * stepMs; tick <= last; tick += stepMs) ticks.push(tick);
  return { ticks, stepMs };
}

/** Where `time` falls among increasing `times`, as a fractional index (points are spaced by index, not by time). */
function indexOfTime(times: ArrayLike<number>, time: number): number {
  let lo = 0;
  let hi = times.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= time) lo = mid;
    else hi = mid;
  }
  const span = times[hi] - times[lo];
  return span > 0 ? lo + (time - times[lo]) / span : lo;
}

/** x-axis ticks as (index, label): round times for a time axis, round integers for an index axis. */
function xAxisTicks(options: LineChartOptions, length: number, xStart: number): { index: number; label: string }[] {
  const times = options.xTimes;
  if (times && times.length > 0) {
    const { ticks, stepMs } = timeTicks(times[0], times[times.length - 1]);
    if (ticks.length === 0) return Number.isFinite(times[0]) ? [{ index: 0, label: formatTime(times[0], 0) }] : [];
    return ticks.map((tick) => ({ index: indexOfTime(times, tick), label: formatTime(tick, stepMs) }));
  }
  if (length === 1) return [{ index: 0, label: String(xStart) }];
  const last = xStart + length - 1;
  return niceTicks(xStart, last, 6).filter(Number.isInteger).map((value) => ({ index: value - xStart, label: String(value) }));
}

/** Anchors a label so that it stays inside the chart: at its tick, or flush with the edge it would cross. */
function anchorWithin(x: number, label: string, width: number): string {
  const half = label.length * 3.5;
  return x - half < 2 ? 'start' : x + half > width - 2 ? 'end' : 'middle';
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
  const log = options.yLog === true && min > 0;
  if (min === max) [min, max] = log ? [min / 2, max * 2] : [min - 1, max + 1];
  const scale = log ? Math.log10 : (v: number): number => v;
  const [low, high] = [scale(min), scale(max)];
  const length = Math.max(1, ...options.series.map((s) => s.values.length));
  const x = (i: number): number => margin.left + (length === 1 ? plotW / 2 : (i / (length - 1)) * plotW);
  const y = (v: number): number => margin.top + plotH - ((scale(v) - low) / (high - low)) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`,
    `<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}" stroke="#333"/>`,
  ];
  for (const value of log ? logTicks(min, max) : niceTicks(min, max)) {
    parts.push(`<text x="${margin.left - 6}" y="${y(value) + 4}" text-anchor="end">${formatTick(value)}</text>`);
    parts.push(`<line x1="${margin.left}" y1="${y(value)}" x2="${margin.left + plotW}" y2="${y(value)}" stroke="#eee"/>`);
  }
  for (const tick of xAxisTicks(options, length, xStart)) {
    const at = x(tick.index);
    parts.push(`<text class="x-tick" x="${at.toFixed(1)}" y="${margin.top + plotH + 18}" text-anchor="${anchorWithin(at, tick.label, width)}">${escapeXml(tick.label)}</text>`);
    parts.push(`<line x1="${at.toFixed(1)}" y1="${margin.top + plotH}" x2="${at.toFixed(1)}" y2="${margin.top + plotH + 4}" stroke="#333"/>`);
  }
  if (options.baseline !== undefined) parts.push(`<line x1="${margin.left}" y1="${y(options.baseline)}" x2="${margin.left + plotW}" y2="${y(options.baseline)}" stroke="#888" stroke-dasharray="4 3"/>`);
  if (options.xMarker) {
    const at = x(options.xMarker.at - xStart).toFixed(1);
    parts.push(`<line x1="${at}" y1="${margin.top}" x2="${at}" y2="${margin.top + plotH}" stroke="#888" stroke-dasharray="4 3"/>`);
  }
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
    parts.push(`<polygon fill="${color}" fill-opacity="0.3" stroke="none" points="${[...upper, ...lower.reverse()].join(' ')}"/>`);
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
  if (options.xMarker) {
    const left = margin.left + 10 + (legendOffset + options.series.length) * 150;
    parts.push(`<line x1="${left}" y1="${margin.top - 9}" x2="${left + 10}" y2="${margin.top - 9}" stroke="#888" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${left + 14}" y="${margin.top - 5}">${escapeXml(options.xMarker.name)}</text>`);
  }
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
