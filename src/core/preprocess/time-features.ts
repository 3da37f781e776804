import type { TimeFrame } from '../data/time-frame.js';
import { utcMs } from '../data/timestamps.js';

/**
 * Calendar features as sin/cos pairs. Training and serving both call `timeFeatureValues`, so a request is
 * encoded exactly as the training data was (Monday = 0, day-of-year period 365.25).
 */
export const TIME_FEATURE_COLUMNS = [
  'min_of_day_sin',
  'min_of_day_cos',
  'day_of_week_sin',
  'day_of_week_cos',
  'day_of_year_sin',
  'day_of_year_cos',
] as const;

export const TIME_FEATURE_PERIODS = { minOfDay: 1440, dayOfWeek: 7, dayOfYear: 365.25 } as const;

const DAY_MS = 86_400_000;

let cachedDay = Number.NaN;
let cachedDayOfYear = 0;

/** Raw calendar values of a naive timestamp read as UTC: minute of day, day of week (Monday = 0), day of year (1..366). */
export function calendarValues(epochMs: number): { minOfDay: number; dayOfWeek: number; dayOfYear: number } {
  const day = Math.floor(epochMs / DAY_MS);
  if (day !== cachedDay) {
    // Rows arrive in time order, so the day-of-year lookup (the only costly part) runs once per day.
    const year = new Date(epochMs).getUTCFullYear();
    cachedDayOfYear = day - utcMs(year, 0, 1) / DAY_MS + 1;
    cachedDay = day;
  }
  return {
    minOfDay: Math.floor((epochMs - day * DAY_MS) / 60_000),
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    dayOfWeek: (((day + 3) % 7) + 7) % 7,
    dayOfYear: cachedDayOfYear,
  };
}

/** The six values, in `TIME_FEATURE_COLUMNS` order, for one timestamp. */
export function timeFeatureValues(epochMs: number): [number, number, number, number, number, number] {
  const { minOfDay, dayOfWeek, dayOfYear } = calendarValues(epochMs);
  const angle = (value: number, period: number): number => (value * 2 * Math.PI) / period;
  const a = angle(minOfDay, TIME_FEATURE_PERIODS.minOfDay);
  const b = angle(dayOfWeek, TIME_FEATURE_PERIODS.dayOfWeek);
  const c = angle(dayOfYear, TIME_FEATURE_PERIODS.dayOfYear);
  return [Math.sin(a), Math.cos(a), Math.sin(b), Math.cos(b), Math.sin(c), Math.cos(c)];
}

/** Appends the six columns (replacing same-named columns if the input already had them). */
export function addTimeFeatures(frame: TimeFrame): TimeFrame {
  const n = frame.time.length;
  const added = TIME_FEATURE_COLUMNS.map(() => new Float64Array(n));
  for (let row = 0; row < n; row++) {
    const features = timeFeatureValues(frame.time[row]);
    for (let f = 0; f < features.length; f++) added[f][row] = features[f];
  }
  const kept = frame.columns.filter((column) => !(TIME_FEATURE_COLUMNS as readonly string[]).includes(column));
  const values: Record<string, Float64Array> = {};
  for (const column of kept) values[column] = frame.values[column];
  TIME_FEATURE_COLUMNS.forEach((column, f) => (values[column] = added[f]));
  return { time: frame.time, columns: [...kept, ...TIME_FEATURE_COLUMNS], values };
}
