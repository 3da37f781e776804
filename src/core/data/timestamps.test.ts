import { describe, expect, it } from 'vitest';
import { MAX_TIMESTAMP_MS, assertForecastInRange, assertStrictlyIncreasing, detectCadence, formatTimestamp, parseTimestamp } from './timestamps.js';

describe('core > data > timestamps', () => {
  it('reads naive text as UTC, converts offsets, and rejects impossible dates', () => {
    const base = Date.UTC(2018, 1, 6, 0, 2, 0);
    expect(parseTimestamp('2018-02-06 00:02:00')).toBe(base);
    expect(parseTimestamp('2018-02-06T00:02:00Z')).toBe(base);
    expect(parseTimestamp('2018-02-06T01:02:00+01:00')).toBe(base);
    expect(parseTimestamp('2018-02-06 00:02')).toBe(base);
    expect(parseTimestamp('2018-02-06')).toBe(Date.UTC(2018, 1, 6));
    expect(parseTimestamp('2018-02-06 00:02:00.250')).toBe(base + 250);
    expect(parseTimestamp(base)).toBe(base);
    expect(parseTimestamp('2018-02-06T00:02:00')).toBe(base);
    expect(parseTimestamp('2020-02-29 23:59:59')).toBe(Date.UTC(2020, 1, 29, 23, 59, 59));
    for (const bad of ['2019-02-29 00:00:00', '2100-02-29 00:00:00', '2018-04-31 00:00:00', '2018-13-01 00:00:00', '2018-02-06 00:60:00', '2018-02-06 00:00:6x']) expect(parseTimestamp(bad)).toBeNaN();
    for (const bad of ['2018-02-30 00:00:00', '2018-02-06 24:00:00', 'yesterday', '', null, true, Number.NaN]) expect(parseTimestamp(bad)).toBeNaN();
  });

  it('reads year-first dates with slashes and without leading zeros, and refuses day-first or mixed separators', () => {
    const base = Date.UTC(2018, 1, 6, 0, 2, 0);
    expect(parseTimestamp('2018/02/06 00:02:00')).toBe(base);
    expect(parseTimestamp('2018/2/6 0:02')).toBe(base);
    expect(parseTimestamp('2018-2-6 00:02:00')).toBe(base);
    expect(parseTimestamp('2018/02/06  00:02:00')).toBe(base);
    expect(parseTimestamp('2018/02/06T01:02:00+01:00')).toBe(base);
    for (const bad of ['2018-02-06T00:02:00+25:00', '2018-02-06T00:02:00+01:60', '06/02/2018 00:02:00', '02/06/2018', '2018/02-06 00:02:00', '2018/02/30 00:00:00', '2018/2/6 24:00', '2018/123/6']) expect(parseTimestamp(bad)).toBeNaN();
  });

  it('reads "YYYY-MM-DD HH:MM:SS" as Date.UTC does on every day of common, leap and century years, years 0000-0099 included', () => {
    const pad = (value: number, width = 2) => String(value).padStart(width, '0');
    for (const year of [0, 1, 4, 99, 100, 1600, 1900, 1970, 1999, 2000, 2018, 2024, 2100, 9999]) {
      for (let day = Date.UTC(2000, 0, 1); day < Date.UTC(2001, 0, 1); day += 86_400_000) {
        const date = new Date(day);
        date.setUTCFullYear(year);
        if (date.getUTCFullYear() !== year) continue;
        const [month, dayOfMonth] = [date.getUTCMonth() + 1, date.getUTCDate()];
        const expected = date.getTime() + (23 * 60 + 59) * 60_000 + 58_000;
        expect(parseTimestamp(`${pad(year, 4)}-${pad(month)}-${pad(dayOfMonth)} 23:59:58`)).toBe(expected);
      }
    }
  });

  it('formats like pandas isoformat', () => {
    expect(formatTimestamp(Date.UTC(2018, 1, 6, 0, 2, 0))).toBe('2018-02-06T00:02:00');
    expect(formatTimestamp(Date.UTC(2018, 1, 6, 0, 2, 0, 250))).toBe('2018-02-06T00:02:00.250');
  });

  it('takes the most common step, and never a zero one (F9)', () => {
    const t = (minutes: number[]) => Float64Array.from(minutes, (m) => m * 60_000);
    expect(detectCadence(t([0, 2, 4, 6, 9, 11]))).toBe(120_000);
    expect(detectCadence(t([0, 5, 10, 15]))).toBe(300_000);
    expect(detectCadence(t([0, 3, 4, 7, 8]))).toBe(60_000);
    expect(() => detectCadence(t([0, 0, 0]))).toThrow(/step is 0 ms/);
    expect(() => assertStrictlyIncreasing(t([0, 2, 2, 4]), 'ts')).toThrow(/duplicate timestamp at rows 1 and 2/);
    expect(() => assertStrictlyIncreasing(t([0, 4, 2]), 'ts')).toThrow(/not increasing at row 2/);
    expect(() => detectCadence(t([0]))).toThrow(/two timestamps/);
  });

  it('keeps years 0000-0099 as written instead of reading them as 1900-1999', () => {
    expect(formatTimestamp(parseTimestamp('0018-02-06 00:02:00'))).toBe('0018-02-06T00:02:00');
    expect(formatTimestamp(parseTimestamp('0018-02-06T00:02:00Z'))).toBe('0018-02-06T00:02:00');
    expect(formatTimestamp(parseTimestamp('0000-01-01'))).toBe('0000-01-01T00:00:00');
    expect(parseTimestamp('0018-02-29 00:00:00')).toBeNaN();
  });

  it('refuses times outside years 0000-9999 and never throws while naming one', () => {
    expect(parseTimestamp(8.64e15)).toBeNaN();
    expect(parseTimestamp(-8.64e15)).toBeNaN();
    expect(parseTimestamp(MAX_TIMESTAMP_MS)).toBe(MAX_TIMESTAMP_MS);
    expect(parseTimestamp(MAX_TIMESTAMP_MS + 1)).toBeNaN();
    expect(parseTimestamp('9999-12-31T23:59:59-01:00')).toBeNaN();
    expect(() => formatTimestamp(8.64e15 + 1)).not.toThrow();
    const far = Float64Array.of(9e15, 9e15);
    expect(() => assertStrictlyIncreasing(far, 'ts')).toThrow(/duplicate timestamp/);
  });

  it('refuses a forecast that would run past 9999-12-31', () => {
    const year = 365 * 24 * 3600 * 1000;
    expect(() => assertForecastInRange(Date.UTC(9000, 0, 1), 999 * year, 300)).toThrow(/past 9999-12-31/);
    expect(() => assertForecastInRange(Date.UTC(9999, 11, 31), 60_000, 24 * 60)).toThrow(/past 9999-12-31/);
    expect(() => assertForecastInRange(Date.UTC(2018, 0, 1), 60_000, 10_000)).not.toThrow();
  });
});
