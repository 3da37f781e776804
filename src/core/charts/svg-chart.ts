export interface ChartSeries {
  name: string;
  values: ArrayLike<number>;
  color?: string;
  /** Draw points instead of a line (residual plots). */
  points?: boolean;
  /**
   * Drawn thin and pale, with no legend entry: the raw values under a smoothed line of the same colour, which is
   * drawn bold so that it reads over every series' pale values.
   */
  faint?: boolean;
}

/** A shaded range between two series (a prediction interval). */
export interface ChartBand {
  name: string;
  lower: ArrayLike<number>;
  upper: ArrayLike<number>;
  /** Default: the band's shade of {@link bandShades}, by its place among the chart's bands. */
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
  /**
   * Shaded ranges drawn under the series, in this order and each opaque over the ones before it: nested intervals
   * go widest first, so that every level keeps the band of its own shade that its legend entry shows.
   */
  bands?: ChartBand[];
  /** A dashed vertical line at this x (index from `xStart`, e.g. the epoch training kept), named in the legend. */
  xMarker?: { at: number; name: string };
  /**
   * A grey stretch from this x (index from `xStart`) to the plot's right edge, named in the legend: where a dense
   * chart of the whole is drawn in detail in another (the last day of a test of many).
   */
  xSpan?: { from: number; name: string };
  /** A logarithmic y axis, for values spanning orders of magnitude (a loss curve); linear if any value is <= 0. */
  yLog?: boolean;
  /**
   * A linear axis ends at the round value at or above this one even where values go higher: rare spikes would
   * otherwise take the height the lines a reader compares need. A value above the axis is drawn at the plot's top
   * edge under a marker in its series' colour, and a legend entry says how many are (counted as `noun`, "fold
   * error", with an s past one) and the highest.
   */
  yCap?: { at: number; noun: string };
}

/** Ten distinct colours: a backtest of the default set draws six models, and a sixth must not wear the first's. */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const MAX_POINTS = 2000;
/** Pixels kept free between a linear axis's ends and the plot's edges. */
const Y_INSET_PX = 6;
// Lighter than the grid (#eee), which stays visible across it.
const SPAN_FILL = '#f2f2f2';

/**
 * Light to mid blues (ColorBrewer's Blues, its two palest and its darkest left out): bands behind the lines stay
 * light enough for a dark actual and a red forecast to read over the innermost one, and the outermost stays dark
 * enough to be seen on white (#deebf7, 1.2:1, all but vanished round the spikes of a four-day test).
 */
const BAND_RAMP = ['#c6dbef', '#9ecae1', '#6baed6', '#4292c6'];

const rgbOf = (hex: string): number[] => [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
const hexOf = (rgb: number[]): string => `#${rgb.map((channel) => Math.round(channel).toString(16).padStart(2, '0')).join('')}`;

/**
 * One shade per band, palest first, spread over the whole ramp: nested prediction intervals drawn widest first
 * darken towards the forecast, and each level is told apart from its neighbours (three or more levels used to
 * share one colour). One band takes the ramp's middle.
 */
export function bandShades(count: number): string[] {
  return Array.from({ length: count }, (_, index) => {
    const position = count === 1 ? 0.5 : index / (count - 1);
    const scaled = position * (BAND_RAMP.length - 1);
    const below = Math.min(Math.floor(scaled), BAND_RAMP.length - 2);
    const [from, to] = [rgbOf(BAND_RAMP[below]), rgbOf(BAND_RAMP[below + 1])];
    return hexOf(from.map((channel, c) => channel + (to[c] - channel) * (scaled - below)));
  });
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const SI = [
  { factor: 1e15, suffix: 'P' },
  { factor: 1e12, suffix: 'T' },
  { factor: 1e9, suffix: 'G' },
  { factor: 1e6, suffix: 'M' },
  { factor: 1e3, suffix: 'k' },
];

/**
 * Of round steps, the one whose ticks within [min, max] come nearest to `count` (the more ticks on a tie). The
 * first step wide enough is not enough: on an axis from -350M to 850M it leaves two ticks, 0 and 500M, where a
 * step of 200M gives six. A tick short counts one and a half times a tick over: too few leave a stretch of the
 * axis unlabelled (a residual axis from -470M to 1.06G labelled 0, 500M and 1G alone), too many only crowd it.
 */
function nearestStep(steps: readonly number[], min: number, max: number, count: number): number {
  const gap = (step: number): number => {
    const ticks = Math.floor(max / step + 1e-9) - Math.ceil(min / step - 1e-9) + 1;
    return ticks < count ? 1.5 * (count - ticks) : ticks - count;
  };
  return steps.reduce((best, step) => (gap(step) < gap(best) || (gap(step) === gap(best) && step < best) ? step : best));
}

/** Round steps (1, 2 or 5 times a power of ten) around the `count`-th part of [min, max]. */
function roundSteps(min: number, max: number, count: number): number[] {
  const power = 10 ** Math.floor(Math.log10((max - min) / Math.max(1, count)));
  return [0.5, 1, 2, 5, 10, 20].map((m) => m * power);
}

/** The round step that gives about `count` ticks within [min, max]. */
function niceStep(min: number, max: number, count: number): number {
  return nearestStep(roundSteps(min, max, count), min, max, count);
}

/** Multiples of `step` within [min, max]. */
function ticksAt(min: number, max: number, step: number): number[] {
  const ticks: number[] = [];
  for (let value = Math.ceil(min / step - 1e-9) * step; value <= max + step * 1e-9; value += step) ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

/** Round tick values (1, 2 or 5 times a power of ten) within [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  return ticksAt(min, max, niceStep(min, max, count));
}

/**
 * A widened axis may leave this share of itself beyond its values at no cost; each further share costs
 * SLACK_COST ticks off the count wanted. The step giving the nearest tick count alone took 500M for residuals of
 * -474M to 1.06G: an axis of -500M to 1.5G, its top quarter empty (250M now, -500M to 1.25G). A hard limit
 * instead gave a backtest's errors of 0.003 to 0.25 twelve ticks of 0.025 rather than 0 to 0.3 by 0.05.
 */
const FREE_SLACK = 0.1;
const SLACK_COST = 40;

/**
 * A linear axis over [min, max] widened to the round ticks around it, so that it ends on labelled values and no
 * line runs along the top of the plot past its last label (a forecast peaking at 1.75G under a top label of 1.5G),
 * by the step that best weighs about `count` ticks against the axis left empty (FREE_SLACK).
 */
export function niceAxis(min: number, max: number, count = 5): { min: number; max: number; ticks: number[] } {
  const widen = (step: number): [number, number] => [Number((Math.floor(min / step + 1e-9) * step).toPrecision(12)), Number((Math.ceil(max / step - 1e-9) * step).toPrecision(12))];
  // 2.5 times a power of ten too: between steps of 2 and 5 the choice was an axis of 0.0061 to 0.0713 on 0 to
  // 0.08 (a fifth empty) by 0.02, or fifteen ticks of 0.005.
  const steps = [...roundSteps(min, max, count), ...[0.25, 2.5].map((m) => m * 10 ** Math.floor(Math.log10((max - min) / Math.max(1, count))))].sort((a, b) => a - b);
  // Counted in steps, not from the rounded ends: a range below their twelve digits would have none.
  const cost = (step: number): number => {
    const intervals = Math.ceil(max / step - 1e-9) - Math.floor(min / step + 1e-9);
    const ticks = intervals + 1;
    const slack = intervals > 0 ? 1 - (max - min) / (intervals * step) : 0;
    return (ticks < count ? 1.5 * (count - ticks) : ticks - count) + SLACK_COST * Math.max(0, slack - FREE_SLACK);
  };
  const step = steps.reduce((best, candidate) => (cost(candidate) < cost(best) - 1e-9 ? candidate : best));
  const [low, high] = widen(step);
  return { min: low, max: high, ticks: ticksAt(low, high, step) };
}

/** Short tick text: thousands as k, millions as M, ...; small values without float noise (0.015, not 0.01500000001). */
export function formatTick(value: number): string {
  return tickText(value, 3);
}

/** {@link formatTick} with `digits` significant digits at most (its own function: formatTick is passed to map). */
function tickText(value: number, digits: number): string {
  return tickParts(value, digits).text;
}

/** A tick's label and the value it reads as. */
function tickParts(value: number, digits: number, exponent = false): { text: string; shown: number } {
  const abs = Math.abs(value);
  if (abs === 0) return { text: '0', shown: 0 };
  if (exponent && abs < 1) {
    const text = value.toExponential(Math.max(1, digits - 2));
    return { text, shown: Number(text) };
  }
  for (const { factor, suffix } of SI) {
    if (abs >= factor) {
      const mantissa = Number((value / factor).toPrecision(digits));
      return { text: `${mantissa}${suffix}`, shown: mantissa * factor };
    }
  }
  if (abs < 1e-4) {
    const text = value.toExponential(Math.max(1, digits - 2));
    return { text, shown: Number(text) };
  }
  const shown = Number(value.toPrecision(digits));
  return { text: String(shown), shown };
}

/**
 * The labels of an axis's ticks, with as few significant digits (three or more) as write every tick as it is: an
 * axis of values near 1e9 spanning 300k was labelled 1G four times, one near 0.0102 had 0.0101 twice, and ticks
 * 250k apart near -500M read -499.8M for -499.75M.
 */
export function formatTicks(values: readonly number[]): string[] {
  const spread = values.length > 1 ? Math.max(...values) - Math.min(...values) : Math.abs(values[0] ?? 0);
  // One notation below 1: a loss axis read 0.001, 0.0001, then 1.0e-5 and 1.0e-6, two ways of writing one scale.
  const exponent = values.some((value) => value !== 0 && Math.abs(value) < 1e-4);
  for (let digits = 3; digits < 15; digits++) {
    const parts = values.map((value) => tickParts(value, digits, exponent));
    if (new Set(parts.map((part) => part.text)).size === parts.length && parts.every((part, i) => Math.abs(part.shown - values[i]) <= 1e-6 * spread)) return parts.map((part) => part.text);
  }
  return values.map((value) => tickText(value, 15));
}

/** Each mantissa times each power of ten, within [min, max] (both > 0). */
function decadeTicks(min: number, max: number, mantissas: readonly number[]): number[] {
  const ticks: number[] = [];
  for (let power = Math.floor(Math.log10(min)); power <= Math.ceil(Math.log10(max)); power++) {
    for (const mantissa of mantissas) {
      const value = Number((mantissa * 10 ** power).toPrecision(12));
      if (value >= min * (1 - 1e-9) && value <= max * (1 + 1e-9)) ticks.push(value);
    }
  }
  return ticks;
}

/** Ticks for a logarithmic axis over [min, max] (both > 0): 1, 2 and 5 times each power of ten (powers of ten
 * alone over many decades), or, within less than a decade where those are too few, the linear axis's round values. */
export function logTicks(min: number, max: number, count = 8): number[] {
  const withMantissas = (mantissas: number[]): number[] => decadeTicks(min, max, mantissas);
  const ticks = withMantissas([1, 2, 5]);
  if (ticks.length < 3) return niceTicks(min, max, 6).filter((value) => value > 0);
  if (ticks.length <= count) return ticks;
  const decades = withMantissas([1]);
  const every = Math.ceil(decades.length / count);
  return decades.filter((_, i) => i % every === 0);
}

/** The largest (`up` false) or smallest (`up` true) of each mantissa times a power of ten at or past `value` (> 0). */
function roundLog(value: number, mantissas: readonly number[], up: boolean): number {
  const power = Math.floor(Math.log10(value));
  const candidates = [power - 1, power, power + 1].flatMap((p) => mantissas.map((m) => Number((m * 10 ** p).toPrecision(12))));
  return up ? Math.min(...candidates.filter((c) => c >= value * (1 - 1e-9))) : Math.max(...candidates.filter((c) => c <= value * (1 + 1e-9)));
}

/**
 * A logarithmic axis over [min, max] (both > 0) widened to the ticks around it, so that it ends on labelled values as
 * a linear one does: 1, 2 and 5 times each power of ten, or powers of ten alone (every so many) past `count` ticks.
 * Ticked within its values alone, a loss curve from 0.0105 to 0.0009 ran above its top label (0.01) and below its
 * lowest (0.001), and one from 0.3 to 0.0004 was labelled 0.001, 0.01 and 0.1 alone.
 */
export function logAxis(min: number, max: number, count = 8): { min: number; max: number; ticks: number[] } {
  const [low, high] = [roundLog(min, [1, 2, 5], false), roundLog(max, [1, 2, 5], true)];
  const ticks = decadeTicks(low, high, [1, 2, 5]);
  if (ticks.length <= count) return { min: low, max: high, ticks };
  const first = Math.round(Math.log10(roundLog(min, [1], false)));
  const decades = Math.round(Math.log10(roundLog(max, [1], true))) - first;
  const every = Math.ceil(decades / (count - 1));
  const powers = Array.from({ length: Math.ceil(decades / every) + 1 }, (_, i) => Number((10 ** (first + i * every)).toPrecision(12)));
  return { min: powers[0], max: powers[powers.length - 1], ticks: powers };
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** Steps a time axis ticks at: round minutes, hours and days, then weeks (a 35-day test had two labels, 2 weeks apart). */
const TIME_STEPS_MS = [
  ...[1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880].map((minutes) => minutes * MINUTE_MS),
  ...[1, 2, 4, 8, 13, 26, 52].map((weeks) => weeks * WEEK_MS),
];

/**
 * "MM-DD HH:MM" in UTC, the zone flts reads naive timestamps in; "MM-DD" for ticks a day or more apart, and
 * "YYYY-MM-DD" for ticks four weeks or more apart, whose axis may cross a new year.
 */
function formatTime(epochMs: number, stepMs: number): string {
  const iso = new Date(epochMs).toISOString();
  if (stepMs >= 4 * WEEK_MS) return iso.slice(0, 10);
  return stepMs >= DAY_MS ? iso.slice(5, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/** Round UTC times (on the hour, at midnight, ...) within [first, last], about `count` of them. */
export function timeTicks(first: number, last: number, count = 5): { ticks: number[]; stepMs: number } {
  const longest = TIME_STEPS_MS[TIME_STEPS_MS.length - 1];
  const stepMs = (last - first) / longest > count ? Math.ceil((last - first) / count / longest) * longest : nearestStep(TIME_STEPS_MS, first, last, count);
  // Epoch time 0 was a Thursday: steps of weeks count from a Monday, so weekly ticks fall on Mondays.
  const origin = stepMs % WEEK_MS === 0 ? 4 * DAY_MS : 0;
  const ticks: number[] = [];
  for (let tick = Math.ceil((first - origin) / stepMs) * stepMs + origin; tick <= last; tick += stepMs) ticks.push(tick);
  return { ticks, stepMs };
}

/** Where `time` falls among increasing `times`, as a fractional index (an axis spaced by index: times that do not rise). */
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

/**
 * Whether points can be placed by their time: every time finite and each later than the one before. Spaced by
 * index instead, a day missing from the data took no room on the page, and the line ran straight on over it.
 */
function risingTimes(times: ArrayLike<number> | undefined, length: number): times is ArrayLike<number> {
  if (!times || times.length < Math.max(2, length)) return false;
  for (let i = 0; i < times.length; i++) if (!Number.isFinite(times[i]) || (i > 0 && !(times[i] > times[i - 1]))) return false;
  return true;
}

/** A step this many times the usual one (the median) leaves rows out: the lines break there. */
const GAP_FACTOR = 1.5;

/** The periods a gap of the calendar repeats at: the nights of working hours, the weekends of working days. */
const CALENDAR_PERIODS = [DAY_MS, WEEK_MS];
/** A clock change moves a local gap by an hour against UTC, or makes the gap it falls in an hour shorter or longer. */
const CLOCK_CHANGE_MS = 3_600_000;
const CLOCK_SHIFTS = [0, -CLOCK_CHANGE_MS, CLOCK_CHANGE_MS];
/** A gap of the calendar comes back in at least this share of the periods the times span (holidays aside). */
const CALENDAR_SHARE = 0.5;

/**
 * The indices after which rows are missing: the step to the next time is more than GAP_FACTOR times the usual
 * step. A line drawn across such a gap shows values that were never measured (an hour of an outage as a ramp).
 *
 * A gap of the calendar is left out: one that comes back at the same time of the day or of the week, as long (an
 * hour either way for a clock change), in at least half the days or weeks the times span and at least twice, as the
 * weekends of weekday data or the nights of working hours do. The line of a year of weekday rows broke at each of
 * its 52 weekends and read as dashes. An outage, a holiday or a missing row does not come back so, and still breaks it.
 */
export function gapsAfter(times: ArrayLike<number>): Set<number> {
  const steps = Array.from({ length: Math.max(0, times.length - 1) }, (_, i) => times[i + 1] - times[i]);
  const gaps = new Set<number>();
  if (steps.length < 2) return gaps;
  const usual = [...steps].sort((a, b) => a - b)[Math.floor((steps.length - 1) / 2)];
  steps.forEach((step, i) => {
    if (step > GAP_FACTOR * usual) gaps.add(i);
  });
  const span = times[times.length - 1] - times[0];
  const calendar = CALENDAR_PERIODS.map((period) => recurringGaps(times, steps, gaps, period, Math.max(2, (CALENDAR_SHARE * span) / period)));
  for (const i of gaps) if (calendar.some((recurs) => recurs(i))) gaps.delete(i);
  return gaps;
}

/** Whether the gap after an index comes back, at the same time of `period` and as long, at least `needed` times. */
function recurringGaps(times: ArrayLike<number>, steps: readonly number[], gaps: ReadonlySet<number>, period: number, needed: number): (i: number) => boolean {
  const key = (start: number, step: number): string => `${(((start % period) + period) % period)}/${step}`;
  const counts = new Map<string, number>();
  for (const i of gaps) counts.set(key(times[i], steps[i]), (counts.get(key(times[i], steps[i])) ?? 0) + 1);
  return (i) => {
    let count = 0;
    for (const shift of CLOCK_SHIFTS) for (const longer of CLOCK_SHIFTS) count += counts.get(key(times[i] + shift, steps[i] + longer)) ?? 0;
    return count >= needed;
  };
}

/** Runs of consecutive indices [start, end) where `present` holds, broken after each index in `breaks`. */
function runsOf(length: number, present: (i: number) => boolean, breaks: ReadonlySet<number>): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= length; i++) {
    const inRun = i < length && present(i);
    if (inRun && start < 0) start = i;
    if (start >= 0 && (!inRun || breaks.has(i))) {
      runs.push([start, inRun ? i + 1 : i]);
      start = -1;
    }
  }
  return runs;
}

/**
 * The indices of a run a line is drawn through: all of them, or, past MAX_POINTS in the chart, the first, lowest,
 * highest and last of each bucket of `bucket` indices (buckets counted from index 0, so every series and band of a
 * chart is thinned alike). Every other row, as thinned before, left out half the spikes of a test file, and of its
 * residuals the largest ones with them.
 */
function keptIndices(values: ArrayLike<number>, [start, end]: [number, number], bucket: number): number[] {
  if (bucket <= 1) return Array.from({ length: end - start }, (_, k) => start + k);
  const kept: number[] = [];
  for (let from = start; from < end; from = (Math.floor(from / bucket) + 1) * bucket) {
    const to = Math.min(end, (Math.floor(from / bucket) + 1) * bucket);
    let low = from;
    let high = from;
    for (let i = from; i < to; i++) {
      if (values[i] < values[low]) low = i;
      if (values[i] > values[high]) high = i;
    }
    for (const i of [...new Set([from, low, high, to - 1])].sort((a, b) => a - b)) kept.push(i);
  }
  return kept;
}

/** x-axis ticks as (index, label) on an axis spaced by index, or (time, label) on one spaced by time. */
function xAxisTicks(options: LineChartOptions, length: number, xStart: number): { at: number; label: string }[] {
  const times = options.xTimes;
  if (times && times.length > 0) {
    const byTime = risingTimes(times, length);
    const { ticks, stepMs } = timeTicks(times[0], times[times.length - 1]);
    if (ticks.length === 0) return Number.isFinite(times[0]) ? [{ at: byTime ? times[0] : 0, label: formatTime(times[0], 0) }] : [];
    return ticks.map((tick) => ({ at: byTime ? tick : indexOfTime(times, tick), label: formatTime(tick, stepMs) }));
  }
  if (length === 1) return [{ at: 0, label: String(xStart) }];
  const last = xStart + length - 1;
  return niceTicks(xStart, last, 6).filter(Number.isInteger).map((value) => ({ at: value - xStart, label: String(value) }));
}

/** Rough width of a 12 px tick label: DejaVu Sans, the usual sans-serif, draws its digits 7.6 px wide. */
const tickLabelWidth = (label: string): number => label.length * 7.6;

/** DejaVu Sans's advance widths at 12 px of the characters a y tick label is made of (others as a digit). */
const Y_TICK_CHAR_PX: Record<string, number> = { '.': 3.8, '-': 4.3, e: 7.4, k: 7, M: 10.4, G: 9.4, T: 7.4, P: 7.3 };
const yTickLabelWidth = (label: string): number => [...label].reduce((sum, char) => sum + (Y_TICK_CHAR_PX[char] ?? 7.6), 0);
/** The y-axis title's right edge: its baseline at x 16, turned, with descenders 3 px past it and a gap of 3 px. */
const Y_TITLE_RIGHT_PX = 22;

/** Anchors a label so that it stays inside the chart: at its tick, or flush with the edge it would cross. */
function anchorWithin(x: number, label: string, width: number): 'start' | 'middle' | 'end' {
  const half = tickLabelWidth(label) / 2;
  return x - half < 2 ? 'start' : x + half > width - 2 ? 'end' : 'middle';
}

/** The horizontal extent of a label drawn at x with the given anchor. */
export function labelExtent(x: number, label: string, anchor: 'start' | 'middle' | 'end'): { left: number; right: number } {
  const w = tickLabelWidth(label);
  const left = anchor === 'start' ? x : anchor === 'end' ? x - w : x - w / 2;
  return { left, right: left + w };
}

/**
 * x-axis labels placed at their ticks, left to right, leaving out any that would run into the one before: on an
 * axis spaced by index (times that do not rise), round times either side of a gap in the data fall close together
 * (a test file with rows missing had "03-05 11:00" drawn over "03-05 12:00"), and the last label, flush with the
 * edge, can reach back over its neighbour (a backtest's "15:14" under "15:16").
 */
export function placeXLabels(ticks: readonly { x: number; label: string }[], width: number): { x: number; label: string; anchor: 'start' | 'middle' | 'end' }[] {
  const placed: { x: number; label: string; anchor: 'start' | 'middle' | 'end' }[] = [];
  let lastRight = -Infinity;
  for (const tick of ticks) {
    const anchor = anchorWithin(tick.x, tick.label, width);
    const { left, right } = labelExtent(tick.x, tick.label, anchor);
    if (left < lastRight + 8) continue;
    placed.push({ ...tick, anchor });
    lastRight = right;
  }
  return placed;
}

interface LegendEntry {
  name: string;
  /** The swatch's SVG, drawn with its left edge at x and its vertical middle at y. */
  swatch: (x: number, y: number) => string;
}

const LEGEND_ROW_PX = 16;

/** Rough width of 12 px sans-serif text: enough to keep legend entries from running into each other. */
const textWidth = (text: string): number => text.length * 7;

/** Line height of the 15 px title, and the rough width of its text (as textWidth, scaled to its size). */
const TITLE_LINE_PX = 18;
const titleWidth = (text: string): number => text.length * 8.75;

/**
 * The title's lines: words as many as fit `maxWidth` a line, so a long title (a run and a config_hash, a backtest's
 * origins) wraps instead of running past the chart's edges; a word longer than a line is cut across lines.
 */
export function wrapTitle(title: string, maxWidth: number): string[] {
  if (titleWidth(title) <= maxWidth) return [title];
  const perLine = Math.max(1, Math.floor(maxWidth / titleWidth('x')));
  const lines: string[] = [];
  let line = '';
  for (let word of title.split(/\s+/).filter((w) => w !== '')) {
    while (word.length > perLine) {
      if (line) lines.push(line);
      lines.push(word.slice(0, perLine));
      word = word.slice(perLine);
      line = '';
    }
    if (!line) line = word;
    else if (titleWidth(`${line} ${word}`) <= maxWidth) line = `${line} ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  return line || lines.length === 0 ? [...lines, line] : lines;
}

/** The title, centred, on as many lines as it takes (one text element, a tspan a line past the first). */
function titleSvg(lines: readonly string[], width: number): string {
  const [first, ...rest] = lines.map(escapeXml);
  return `<text class="title" x="${width / 2}" y="20" text-anchor="middle" font-size="15">${first}${rest.map((line) => `<tspan x="${width / 2}" dy="${TITLE_LINE_PX}">${line}</tspan>`).join('')}</text>`;
}

/**
 * Legend entries placed left to right across the plot's width, wrapping to a new row rather than past the
 * chart's edge, from `top` down (below the title); returns the SVG and the number of rows.
 */
function layoutLegend(entries: LegendEntry[], left: number, right: number, top = 0): { svg: string[]; rows: number } {
  const svg: string[] = [];
  let row = 0;
  let at = left;
  for (const entry of entries) {
    const entryWidth = 14 + textWidth(entry.name);
    if (at > left && at + entryWidth > right) {
      row += 1;
      at = left;
    }
    const middle = 31 + top + row * LEGEND_ROW_PX;
    svg.push(entry.swatch(at, middle), `<text class="legend" x="${at + 14}" y="${middle + 4}">${escapeXml(entry.name)}</text>`);
    at += entryWidth + 24;
  }
  return { svg, rows: Math.max(1, row + 1) };
}

/**
 * A small dependency-free SVG line chart. With `xTimes` rising, points sit at their times, read in UTC and said so
 * on the axis, and lines break where rows are missing; long series are thinned to about MAX_POINTS points, keeping
 * each stretch's extremes.
 */
export function renderLineChart(options: LineChartOptions): string {
  const width = options.width ?? 800;
  const height = options.height ?? 420;
  const bands = options.bands ?? [];
  const seriesColor = (series: ChartSeries, index: number): string => series.color ?? PALETTE[index % PALETTE.length];
  const shades = bandShades(bands.length);
  const bandColor = (band: ChartBand, index: number): string => band.color ?? shades[index];
  const title = wrapTitle(options.title, width - 40);
  const titleBelow = (title.length - 1) * TITLE_LINE_PX;
  const xStart = options.xStart ?? 1;
  // Tick labels are UTC times (naive timestamps are read as UTC): the axis says so whatever its caller named it.
  const xLabel = options.xTimes && options.xTimes.length > 0 && !/\bUTC\b/.test(options.xLabel) ? `${options.xLabel} (UTC)` : options.xLabel;
  const finite = [...options.series.map((s) => s.values), ...bands.flatMap((b) => [b.lower, b.upper])].flatMap((values) => Array.from(values).filter(Number.isFinite));
  const hasData = finite.length > 0;
  if (options.baseline !== undefined) finite.push(options.baseline);
  let [min, max] = finite.length ? reduceMinMax(finite) : [0, 1];
  const log = options.yLog === true && min > 0;
  // A flat series sits mid-axis, the axis a tenth of its size either side: +-1 labelled one of 1e9 999.999999M to
  // 1.000000001G, and drew one of 1e-9 on the line of 0.
  if (min === max) [min, max] = log ? [min / 2, max * 2] : min === 0 ? [-1, 1] : [min - Math.abs(min) / 10, max + Math.abs(max) / 10];
  // A log axis within less than a decade is ticked at the linear axis's round values: it ends on them too, or the
  // first epoch's loss (0.00516) ran above the top label (0.005) and the last validation loss below the lowest. A
  // wider one ends on its own ticks (logAxis).
  let logRoundTicks: number[] | undefined;
  if (log && decadeTicks(min, max, [1, 2, 5]).length < 3) {
    const rounded = niceAxis(min, max, 6);
    if (rounded.min > 0) [min, max, logRoundTicks] = [rounded.min, rounded.max, rounded.ticks];
  } else if (log) {
    const rounded = logAxis(min, max);
    [min, max, logRoundTicks] = [rounded.min, rounded.max, rounded.ticks];
  }
  const dataMax = max;
  const cap = options.yCap?.at ?? Number.NaN;
  const capped = !log && cap > min && cap < max;
  if (capped) max = cap;
  let linearAxis = log ? undefined : niceAxis(min, max);
  // Ticks are rounded to twelve digits: a range below them (a constant 5e7 and a forecast off it by float noise,
  // or a constant 1e300, which the +-1 above leaves equal) collapsed the axis to one value and every y to Infinity.
  // It is drawn as flat, about a margin its values' size can hold.
  if (linearAxis && !(linearAxis.max > linearAxis.min)) {
    const margin = Math.max(1, Math.abs(min) * 1e-6, Math.abs(max) * 1e-6);
    linearAxis = niceAxis(min - margin, max + margin);
  }
  if (linearAxis) [min, max] = [linearAxis.min, linearAxis.max];
  // With nothing plotted, labels of the stand-in range 0..1 would read as data.
  // The round ticks a log axis was rounded to: niceTicks over them might pick another step, its ends unlabelled.
  const yTicks = hasData ? (linearAxis?.ticks ?? logRoundTicks ?? logTicks(min, max)) : [];
  const yTickLabels = formatTicks(yTicks);
  const clipped = capped ? options.series.flatMap((series, index) => Array.from(series.values, (v, i) => (v > max ? i : -1)).filter((i) => i >= 0).map((i) => ({ index, i }))) : [];
  // Within half a pixel of the smallest plot this chart can have (its whole height): two values drawn as one.
  const halfPixel = (log ? Math.log10(max) - Math.log10(min) : max - min) / height / 2;
  const sameAs = coincidingLines(options.series, (a, b) => (log ? Math.abs(Math.log10(a) - Math.log10(b)) : Math.abs(a - b)) <= halfPixel);
  const legendName = (series: ChartSeries, index: number): string => {
    const under = sameAs[index];
    return under === undefined ? series.name : `${series.name} (dashed: same values as ${options.series[under].name})`;
  };
  // A band whose bounds meet wherever it has them (the intervals of a constant series) draws nothing: its legend
  // entry says so, or it named a shade the chart did not show.
  const flatBand = (band: ChartBand): boolean => {
    let present = 0;
    for (let i = 0; i < band.lower.length; i++) {
      if (!Number.isFinite(band.lower[i]) || !Number.isFinite(band.upper[i])) continue;
      if (Math.abs((log ? Math.log10(band.upper[i]) - Math.log10(band.lower[i]) : band.upper[i] - band.lower[i])) > halfPixel) return false;
      present += 1;
    }
    return present > 0;
  };
  const legend = layoutLegend(
    [
      ...bands.map((band, index) => ({ name: flatBand(band) ? `${band.name} (of no width)` : band.name, swatch: (x: number, y: number) => `<rect x="${x}" y="${y - 5}" width="10" height="10" fill="${bandColor(band, index)}"/>` })),
      ...options.series.flatMap((series, index) => (series.faint ? [] : [{ name: legendName(series, index), swatch: (x: number, y: number) => `<rect x="${x}" y="${y - 5}" width="10" height="10" fill="${seriesColor(series, index)}"/>` }])),
      ...(options.xSpan ? [{ name: options.xSpan.name, swatch: (x: number, y: number) => `<rect x="${x}" y="${y - 5}" width="10" height="10" fill="${SPAN_FILL}" stroke="#bbb"/>` }] : []),
      ...(options.xMarker ? [{ name: options.xMarker.name, swatch: (x: number, y: number) => `<line x1="${x}" y1="${y}" x2="${x + 10}" y2="${y}" stroke="#888" stroke-dasharray="4 3"/>` }] : []),
      ...(clipped.length > 0
        ? [{ name: `${clipped.length} ${options.yCap?.noun ?? 'value'}${clipped.length === 1 ? '' : 's'} above ${formatTicks([max])[0]} (highest ${formatTick(dataMax)}) drawn at the top edge`, swatch: (x: number, y: number) => clipMarker(x + 5, y - 4, '#555') }]
        : []),
    ],
    90,
    width - 20,
    titleBelow,
  );
  // Each title line and legend row past the first pushes the plot down rather than over them; the top tick label clears it.
  const margin = { left: 80, right: 20, top: 46 + titleBelow + (legend.rows - 1) * LEGEND_ROW_PX, bottom: 60 };
  const plotH = height - margin.top - margin.bottom;
  // The plot starts right of the widest y tick label, which ends 6 px left of the axis and starts clear of the
  // y-axis title: the labels of a narrow axis far from zero (4.564e-8, 1.00000001G) ran into the title or off the page.
  margin.left = Math.max(margin.left, Math.ceil(Y_TITLE_RIGHT_PX + 6 + Math.max(0, ...yTickLabels.map(yTickLabelWidth))));
  const plotW = width - margin.left - margin.right;
  const scale = log ? Math.log10 : (v: number): number => v;
  // A log axis ends between its ticks: a margin of 4 % each side keeps the first epoch's loss off the plot's top edge.
  const logMargin = log ? 0.04 * (scale(max) - scale(min)) : 0;
  const [low, high] = [scale(min) - logMargin, scale(max) + logMargin];
  const length = Math.max(1, ...options.series.map((s) => s.values.length));
  const times = options.xTimes;
  const byTime = risingTimes(times, length);
  const breaks = byTime ? gapsAfter(times) : new Set<number>();
  const bucket = length > MAX_POINTS ? Math.ceil(length / (MAX_POINTS / 4)) : 1;
  const xOfTime = (time: number): number => (byTime ? margin.left + ((time - times[0]) / (times[times.length - 1] - times[0])) * plotW : Number.NaN);
  const byIndex = (i: number): number => margin.left + (length === 1 ? plotW / 2 : (i / (length - 1)) * plotW);
  // A marker or span may name an index past the times (or between them): it is placed as on an index axis.
  const x = (i: number): number => (byTime && Number.isInteger(i) && i >= 0 && i < times.length ? xOfTime(times[i]) : byIndex(i));
  // Values span the plot but for a few pixels at each end of a linear axis: a series at the axis's lowest value
  // (traffic of 0 at night, a flat forecast) ran along the axis line, and a dark one was lost in it.
  const inset = log ? 0 : Y_INSET_PX;
  // Past a capped axis's top a value is drawn on the plot's top edge, clear of the top label's grid line below it.
  const y = (v: number): number => (capped && v > max ? margin.top : margin.top + plotH - inset - ((scale(v) - low) / (high - low)) * (plotH - 2 * inset));
  const point = (i: number, v: number): string => `${x(i).toFixed(1)},${y(v).toFixed(1)}`;
  const yLabelMiddle = margin.top + plotH / 2;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    titleSvg(title, width),
  ];
  if (options.xSpan) {
    const from = x(options.xSpan.from - xStart);
    parts.push(`<rect class="x-span" x="${from.toFixed(1)}" y="${margin.top}" width="${(margin.left + plotW - from).toFixed(1)}" height="${plotH}" fill="${SPAN_FILL}"/>`);
  }
  // Bands are opaque: drawn first, so that grid lines, axes and markers stay visible over them.
  bands.forEach((band, index) => {
    const present = (i: number): boolean => Number.isFinite(band.lower[i]) && Number.isFinite(band.upper[i]);
    for (const run of runsOf(band.lower.length, present, breaks)) {
      // A band of one point (a test of one row, a row alone between gaps) is a polygon of no width: drawn as a bar.
      if (run[1] - run[0] === 1) {
        const [at, top, bottom] = [x(run[0]), y(band.upper[run[0]]), y(band.lower[run[0]])];
        parts.push(`<rect class="band" fill="${bandColor(band, index)}" x="${(at - LONE_POINT_PX / 2).toFixed(1)}" y="${Math.min(top, bottom).toFixed(1)}" width="${LONE_POINT_PX}" height="${Math.abs(bottom - top).toFixed(1)}"/>`);
        continue;
      }
      const upper = keptIndices(band.upper, run, bucket).map((i) => point(i, band.upper[i]));
      const lower = keptIndices(band.lower, run, bucket).map((i) => point(i, band.lower[i]));
      parts.push(`<polygon class="band" fill="${bandColor(band, index)}" stroke="none" points="${[...upper, ...lower.reverse()].join(' ')}"/>`);
    }
  });
  parts.push(
    `<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}" stroke="#333"/>`,
  );
  for (const [k, value] of yTicks.entries()) {
    parts.push(`<text x="${margin.left - 6}" y="${y(value) + 4}" text-anchor="end">${yTickLabels[k]}</text>`);
    parts.push(`<line x1="${margin.left}" y1="${y(value)}" x2="${margin.left + plotW}" y2="${y(value)}" stroke="#eee"/>`);
  }
  for (const tick of placeXLabels(xAxisTicks(options, length, xStart).map((t) => ({ x: Number((byTime ? xOfTime(t.at) : x(t.at)).toFixed(1)), label: t.label })), width)) {
    const at = tick.x.toFixed(1);
    parts.push(`<text class="x-tick" x="${at}" y="${margin.top + plotH + 18}" text-anchor="${tick.anchor}">${escapeXml(tick.label)}</text>`);
    parts.push(`<line x1="${at}" y1="${margin.top + plotH}" x2="${at}" y2="${margin.top + plotH + 4}" stroke="#333"/>`);
  }
  if (options.baseline !== undefined) parts.push(`<line x1="${margin.left}" y1="${y(options.baseline)}" x2="${margin.left + plotW}" y2="${y(options.baseline)}" stroke="#888" stroke-dasharray="4 3"/>`);
  if (options.xMarker) {
    const at = x(options.xMarker.at - xStart).toFixed(1);
    parts.push(`<line x1="${at}" y1="${margin.top}" x2="${at}" y2="${margin.top + plotH}" stroke="#888" stroke-dasharray="4 3"/>`);
  }
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 18}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  // translate, then rotate about the origin: rotate(angle cx cy) is lost on renderers such as ImageMagick's own.
  parts.push(`<text class="y-label" x="0" y="0" text-anchor="middle" transform="translate(16 ${yLabelMiddle}) rotate(-90)">${escapeXml(options.yLabel)}</text>`);
  if (!hasData) parts.push(`<text class="no-data" x="${margin.left + plotW / 2}" y="${yLabelMiddle}" text-anchor="middle" fill="#888">no finite values to plot</text>`);
  // Past two points a pixel a line of 1.5 px is a solid band: the forecast drawn over the actual hid all of it.
  const strokeWidth = length > 2 * plotW ? 0.8 : 1.5;
  const smoothed = options.series.some((series) => series.faint);
  const lineStyle = (series: ChartSeries, index: number): string =>
    series.faint ? 'stroke-width="0.8" stroke-opacity="0.3"' : `stroke-width="${smoothed ? 1.8 : strokeWidth}"${sameAs[index] === undefined ? '' : ` stroke-dasharray="${SAME_LINE_DASH}"`}`;
  options.series.forEach((series, index) => {
    const color = seriesColor(series, index);
    // A value alone between breaks is as wide as a line's bend: a dot of 3 px across was lost over a band.
    const radius = series.points || series.faint ? 1.5 : LONE_POINT_PX / 2 - 1;
    const dot = (c: string): string => `<circle cx="${c.split(',')[0]}" cy="${c.split(',')[1]}" r="${radius}" fill="${color}"${series.faint ? ' fill-opacity="0.3"' : ''}/>`;
    // A line breaks where a value is missing and where rows are: it is drawn through measured values only.
    for (const run of runsOf(series.values.length, (i) => Number.isFinite(series.values[i]), series.points ? new Set() : breaks)) {
      const coords = keptIndices(series.values, run, bucket).map((i) => point(i, series.values[i]));
      // A value alone between two breaks is a dot: a line of one point draws nothing.
      if (series.points || coords.length === 1) parts.push(...coords.map(dot));
      else parts.push(`<polyline fill="none" stroke="${color}" ${lineStyle(series, index)} points="${coords.join(' ')}"/>`);
    }
  });
  // One marker a pixel column a series: a run of spikes past the top is marked, not drawn as a smear of triangles.
  // Markers of other series that would overlap one stack below it, a row each: models clipped at the same fold
  // (the spikes of a test every model misses) were drawn on one spot, and only the last drawn could be seen.
  const marked = new Set<string>();
  const placed: { x: number; row: number; index: number }[] = [];
  for (const { index, i } of clipped) {
    const at = x(i);
    const key = `${index}/${Math.round(at)}`;
    if (marked.has(key)) continue;
    marked.add(key);
    const taken = new Set(placed.filter((m) => m.index !== index && Math.abs(m.x - at) < CLIP_MARKER_PX).map((m) => m.row));
    let row = 0;
    while (taken.has(row)) row += 1;
    placed.push({ x: at, row, index });
    parts.push(clipMarker(at, margin.top + row * (CLIP_MARKER_PX + 1), seriesColor(options.series[index], index)));
  }
  parts.push(...legend.svg);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** The dashes of a line drawn over another of the same values, which shows through its gaps. */
const SAME_LINE_DASH = '6 4';

/**
 * For each line, the first line drawn before it that it would cover: the same value, within `same`, wherever both
 * have one (two or more such places). On a constant series NAIVE's forecast is the actual, and a backtest's NAIVE and
 * MSTL errors were both 0: the line drawn last hid the other, and the chart showed one series where its legend named two.
 */
function coincidingLines(series: readonly ChartSeries[], same: (a: number, b: number) => boolean): (number | undefined)[] {
  const line = (s: ChartSeries): boolean => !s.faint && !s.points;
  return series.map((current, k) => {
    if (!line(current)) return undefined;
    for (let j = 0; j < k; j++) {
      const other = series[j];
      if (!line(other)) continue;
      let shared = 0;
      let covers = true;
      for (let i = 0; i < Math.min(current.values.length, other.values.length) && covers; i++) {
        const [a, b] = [current.values[i], other.values[i]];
        if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
        covers = same(a, b);
        shared += 1;
      }
      if (covers && shared >= 2) return j;
    }
    return undefined;
  });
}

/** The width of a band of one point, drawn as a bar; a value alone in a line is a dot a little narrower. */
const LONE_POINT_PX = 8;

/** A clip marker's width and height. */
const CLIP_MARKER_PX = 7;

/** A small triangle pointing up, its tip at (x, top): a value drawn at the top edge lies higher than the axis shows. */
function clipMarker(x: number, top: number, color: string): string {
  const half = CLIP_MARKER_PX / 2;
  return `<path class="clipped" d="M${(x - half).toFixed(1)},${(top + CLIP_MARKER_PX).toFixed(1)} L${x.toFixed(1)},${top.toFixed(1)} L${(x + half).toFixed(1)},${(top + CLIP_MARKER_PX).toFixed(1)} Z" fill="${color}"/>`;
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
