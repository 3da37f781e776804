import { describe, expect, it } from 'vitest';
import { assertStrictlyIncreasing, detectCadence, formatTimestamp, parseNaiveTimestamp, parseTimestamp } from './timestamps.js';

describe('core > data > timestamps', () => {
  it('reads stored naive wall-clock text as UTC and refuses offsets there', () => {
    expect(parseNaiveTimestamp('2018-02-05 23:40:00')).toBe(Date.UTC(2018, 1, 5, 23, 40, 0));
    expect(parseNaiveTimestamp('2018-02-05T23:40:00')).toBe(Date.UTC(2018, 1, 5, 23, 40, 0));
    expect(parseNaiveTimestamp('2018-02-05 23:40')).toBe(Date.UTC(2018, 1, 5, 23, 40, 0));
    expect(parseNaiveTimestamp('2018-02-05')).toBe(Date.UTC(2018, 1, 5));
    expect(parseNaiveTimestamp('2018-02-05 23:40:00.250')).toBe(Date.UTC(2018, 1, 5, 23, 40, 0, 250));
    for (const text of ['', 'yesterday', '2018-02-30 00:00:00', '2018-13-01 00:00:00', '2018-02-05 24:00:00', '2018-02-05 23:40:00+01:00', '2018-02-05T23:40:00Z', '05/02/2018 23:40']) {
      expect(parseNaiveTimestamp(text), text).toBeNaN();
    }
  });


  it('reads naive text as UTC, converts offsets, and rejects impossible dates', () => {
    const base = Date.UTC(2018, 1, 6, 0, 2, 0);
    expect(parseTimestamp('2018-02-06 00:02:00')).toBe(base);
    expect(parseTimestamp('2018-02-06T00:02:00Z')).toBe(base);
    expect(parseTimestamp('2018-02-06T01:02:00+01:00')).toBe(base);
    expect(parseTimestamp('2018-02-06 00:02')).toBe(base);
    expect(parseTimestamp('2018-02-06')).toBe(Date.UTC(2018, 1, 6));
    expect(parseTimestamp(base)).toBe(base);
    expect(parseTimestamp('2018-02-06T00:02:00')).toBe(base);
    expect(parseTimestamp('2020-02-29 23:59:59')).toBe(Date.UTC(2020, 1, 29, 23, 59, 59));
    for (const bad of ['2019-02-29 00:00:00', '2100-02-29 00:00:00', '2018-04-31 00:00:00', '2018-13-01 00:00:00', '2018-02-06 00:60:00', '2018-02-06 00:00:6x']) expect(parseTimestamp(bad)).toBeNaN();
    for (const bad of ['2018-02-30 00:00:00', '2018-02-06 24:00:00', 'yesterday', '', null, true, Number.NaN]) expect(parseTimestamp(bad)).toBeNaN();
  });

  it('formats like pandas isoformat', () => {
    expect(formatTimestamp(Date.UTC(2018, 1, 6, 0, 2, 0))).toBe('2018-02-06T00:02:00');
    expect(formatTimestamp(Date.UTC(2018, 1, 6, 0, 2, 0, 250))).toBe('2018-02-06T00:02:00.250');
  });

  it('takes the most common step, and never a zero one (F9)', () => {
    const t = (minutes: number[]) => Float64Array.from(minutes, (m) => m * 60_000);
    expect(detectCadence(t([0, 2, 4, 6, 9, 11]))).toBe(120_000);
    expect(() => assertStrictlyIncreasing(t([0, 2, 2, 4]), 'ts')).toThrow(/duplicate timestamp at rows 1 and 2/);
    expect(() => assertStrictlyIncreasing(t([0, 4, 2]), 'ts')).toThrow(/not increasing at row 2/);
    expect(() => detectCadence(t([0]))).toThrow(/two timestamps/);
  });
});
