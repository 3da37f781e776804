import { describe, expect, it } from 'vitest';
import { addTimeFeatures, calendarValues, TIME_FEATURE_COLUMNS, timeFeatureValues } from './time-features.js';
import { regularTimes, timeFrameFromColumns, type TimeFrame } from '../data/time-frame.js';
import { parseTimestamp } from '../data/timestamps.js';

const TWO_MINUTES = 120_000;
const makeFrame = (values: Record<string, number[]>, time?: number[]): TimeFrame =>
  timeFrameFromColumns(values, time ?? regularTimes(Object.values(values)[0].length, Date.UTC(2018, 1, 5), TWO_MINUTES));
const column = (frame: TimeFrame, name: string): number[] => Array.from(frame.values[name]);

const tau = 2 * Math.PI;

describe('core > preprocess > time-features', () => {
  it('extracts minute of day, day of week (Monday = 0) and day of year', () => {
    // 2018-02-05 was a Monday, the 36th day of the year.
    expect(calendarValues(Date.UTC(2018, 1, 5, 23, 40))).toEqual({ minOfDay: 1420, dayOfWeek: 0, dayOfYear: 36 });
    // 2024-12-31 (leap year) was a Tuesday, day 366.
    expect(calendarValues(Date.UTC(2024, 11, 31, 0, 2))).toEqual({ minOfDay: 2, dayOfWeek: 1, dayOfYear: 366 });
    // 2018-03-04 was a Sunday.
    expect(calendarValues(Date.UTC(2018, 2, 4, 12, 0)).dayOfWeek).toBe(6);
    // Out-of-order calls must not reuse a stale day.
    expect(calendarValues(Date.UTC(2018, 0, 1, 0, 0)).dayOfYear).toBe(1);
  });

  it('counts the day of the year in years 0000-0099 too', () => {
    // Before, Date.UTC read year 1 as 1901, so 0001-03-01 was day -693900 of its year and its features wrong.
    for (const [text, dayOfYear] of [['0001-01-01 00:00:00', 1], ['0001-03-01 12:00:00', 60], ['0004-12-31 00:00:00', 366], ['0099-12-31 23:59:00', 365], ['0100-01-01 00:00:00', 1]] as const) {
      expect(calendarValues(parseTimestamp(text)).dayOfYear, text).toBe(dayOfYear);
    }
    expect(calendarValues(parseTimestamp('0001-01-01 00:00:00')).dayOfWeek).toBe(0); // a Monday in the proleptic Gregorian calendar
  });

  it('encodes sin/cos with periods 1440, 7 and 365.25', () => {
    const values = timeFeatureValues(Date.UTC(2018, 1, 7, 6, 0)); // Wednesday (2), minute 360, day 38
    const expected = [Math.sin((360 * tau) / 1440), Math.cos((360 * tau) / 1440), Math.sin((2 * tau) / 7), Math.cos((2 * tau) / 7), Math.sin((38 * tau) / 365.25), Math.cos((38 * tau) / 365.25)];
    values.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 14));
    expect(values[0]).toBeCloseTo(1, 14); // 06:00 is a quarter of the day
  });

  it('appends the six columns in the reference order, keeping rows and times', () => {
    const frame = makeFrame({ down: [1, 2] });
    const out = addTimeFeatures(frame);
    expect(out.columns).toEqual(['down', ...TIME_FEATURE_COLUMNS]);
    expect(out.time).toBe(frame.time);
    expect(out.values.min_of_day_cos[0]).toBeCloseTo(1, 14); // midnight
    expect(out.values.min_of_day_sin[1]).toBeCloseTo(Math.sin((2 * tau) / 1440), 14);
  });
});
