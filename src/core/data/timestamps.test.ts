import { describe, expect, it } from 'vitest';
import { MAX_TIMESTAMP_MS, assertForecastInRange, assertStrictlyIncreasing, detectCadence, epochMsInRange, epochUnit, formatTimestamp, parseTimeColumn, parseTimestamp } from './timestamps.js';

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
    // Numbers reach 2286 at most (nanoseconds below 1e19); text and datetimes reach 9999.
    expect(parseTimestamp(1e19)).toBeNaN();
    expect(parseTimestamp(-1e19)).toBeNaN();
    expect(parseTimestamp('9999-12-31T23:59:59.999')).toBe(MAX_TIMESTAMP_MS);
    expect(epochMsInRange(MAX_TIMESTAMP_MS)).toBe(MAX_TIMESTAMP_MS);
    expect(epochMsInRange(MAX_TIMESTAMP_MS + 1)).toBeNaN();
    expect(epochMsInRange(-8.64e15)).toBeNaN();
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

  it('reads an epoch number in the unit its size names: seconds, milliseconds, microseconds or nanoseconds', () => {
    // Before, every number was epoch ms: 1.7e9 seconds (what Python's time.time() and most producers send) was
    // read as 1970-01-20.
    const at = Date.UTC(2018, 1, 28, 2, 34, 0);
    expect(parseTimestamp(at / 1000)).toBe(at);
    expect(parseTimestamp(at)).toBe(at);
    expect(parseTimestamp(at * 1000)).toBe(at);
    expect(parseTimestamp(at * 1e6)).toBe(at);
    expect(parseTimestamp(String(at / 1000))).toBe(at);
    expect(parseTimestamp(` ${at}.0 `)).toBe(at);
    expect(parseTimestamp('1.5197852400e9')).toBe(at);
    // Fractions: a binary fraction of a second lands on its millisecond; finer digits are dropped, as in ISO text.
    expect(parseTimestamp(at / 1000 + 0.1)).toBe(at + 100);
    expect(parseTimestamp(at * 1000 + 999)).toBe(at);
    expect(parseTimestamp(-1e9)).toBe(-1e12);
    expect([1e8, 9_999_999_999, 1e10, 1e13 - 1, 1e13, 1e16, 1e19 - 1e4].map(epochUnit)).toEqual(['s', 's', 'ms', 'ms', 'us', 'ns', 'ns']);
  });

  it('reads epoch ms from 1970-04-26 to 2286-11-20 exactly as before', () => {
    for (const ms of [1e10, Date.UTC(1999, 11, 31, 23, 59, 59, 999), 1_519_785_240_000.5, Date.UTC(2286, 10, 20, 17, 46, 39, 999), -1e10, Date.UTC(1700, 0, 1)]) expect(parseTimestamp(ms)).toBe(ms);
  });

  it('refuses a number too small to tell its unit, or too large for any, naming both readings', () => {
    for (const value of [0, 42, 99_999_999.9, -5e7, '12345']) expect(parseTimestamp(value)).toBeNaN();
    expect(parseTimeColumn([1_519_785_240, 86_400]).problem).toEqual({
      index: 1,
      value: 86_400,
      reason: expect.stringMatching(/^a number too small to tell its unit \(as epoch seconds 1970-01-02T00:00:00, as epoch milliseconds 1970-01-01T00:01:26\.400\)/),
    });
    expect(parseTimeColumn(['1e19']).problem?.reason).toMatch(/too large for an epoch time/);
    expect(parseTimeColumn(['yesterday']).problem?.reason).toMatch(/^expected year-first ISO 8601 text .*, an epoch number in seconds \(10 digits\), milliseconds \(13\).*, or a digits-only date/);
  });

  it('names the readings of a fractional number as it was given, not rounded by floating point', () => {
    // Before, 1.5 read as milliseconds was "1970-01-01T00:00:00.001" and 1.001 as seconds "1970-01-01T00:00:01".
    const readings = (value: unknown): string | undefined => /\(as epoch seconds (\S+), as epoch milliseconds (\S+)\)/.exec(parseTimeColumn([value]).problem?.reason ?? '')?.slice(1).join(' | ');
    expect(readings(1.5)).toBe('1970-01-01T00:00:01.500 | 1970-01-01T00:00:00.0015');
    expect(readings('1.5')).toBe('1970-01-01T00:00:01.500 | 1970-01-01T00:00:00.0015');
    expect(readings(1.001)).toBe('1970-01-01T00:00:01.001 | 1970-01-01T00:00:00.001001');
    expect(readings(-0.25)).toBe('1969-12-31T23:59:59.750 | 1969-12-31T23:59:59.99975');
    expect(readings(86_400)).toBe('1970-01-02T00:00:00 | 1970-01-01T00:01:26.400');
    expect(readings(1e-7)).toBe('1970-01-01T00:00:00.0000001 | 1970-01-01T00:00:00.000000000…');
  });

  it('reads digits-only dates as the date they spell, not as epoch numbers of 1970 and 1976', () => {
    // Before, 20180722105203 was epoch microseconds (1970-08-23T15:15:22.105), 201807221052 epoch milliseconds
    // (1976-05-25) and 20180722 was refused as too small.
    const second = Date.UTC(2018, 6, 22, 10, 52, 3);
    for (const value of [20_180_722_105_203, '20180722105203', ' 20180722105203 ']) expect(parseTimestamp(value)).toBe(second);
    expect(parseTimestamp(201_807_221_052)).toBe(Date.UTC(2018, 6, 22, 10, 52));
    expect(parseTimestamp('20180722')).toBe(Date.UTC(2018, 6, 22));
    expect(parseTimestamp(20_200_229)).toBe(Date.UTC(2020, 1, 29));
    expect(parseTimestamp('19000101000000')).toBe(Date.UTC(1900, 0, 1));
    expect(parseTimestamp('20991231235959')).toBe(Date.UTC(2099, 11, 31, 23, 59, 59));
    // Digits that spell no date, or a year outside 1900-2099, keep the epoch reading (or its refusal).
    expect(parseTimestamp(20_181_322_105_203)).toBe(Math.floor(20_181_322_105_203 / 1e3));
    expect(parseTimestamp(20_190_229)).toBeNaN();
    expect(parseTimestamp(21_000_101_000_000)).toBe(21_000_101_000);
    expect(parseTimestamp(201_807_221_052.5)).toBe(201_807_221_052.5);
    expect(parseTimestamp('2018072210520')).toBe(2_018_072_210_520);
  });

  it('refuses a column that mixes digits-only dates and epoch numbers of the same size', () => {
    const column = parseTimeColumn(['20180722105203', '20180722105403']);
    expect(Array.from(column.time ?? [])).toEqual([Date.UTC(2018, 6, 22, 10, 52, 3), Date.UTC(2018, 6, 22, 10, 54, 3)]);
    // 20181322105203 spells no date: read alone it is epoch microseconds, beside a date it is refused.
    expect(parseTimeColumn([20_180_722_105_203, 20_181_322_105_203]).problem).toMatchObject({
      index: 1,
      reason: expect.stringContaining("epoch microseconds by its size, but the column's first number (position 0) is in a digits-only date"),
    });
  });

  it('refuses a column of text times mixing times with a UTC offset and times without, naming one of each', () => {
    // Before, the time without an offset was read as UTC: an hour off its neighbours here, without a word.
    expect(parseTimeColumn(['2024-03-01T10:00:00+01:00', '2024-03-01 10:01:00']).problem).toEqual({
      index: 1,
      value: '2024-03-01 10:01:00',
      reason: 'text without a UTC offset, which would be read as UTC, but the column\'s first time, "2024-03-01T10:00:00+01:00" (position 0), has one; write every time with its offset (or Z), or none',
    });
    expect(parseTimeColumn(['2024-03-01 10:00', '2024-03-01 10:01', '2024-03-01T10:02Z']).problem).toMatchObject({
      index: 2,
      reason: expect.stringContaining('text with a UTC offset, but the column\'s first time, "2024-03-01 10:00" (position 0), has none and was read as UTC'),
    });
    // Offsets of their own (a DST change), Z beside an offset, and epoch numbers (UTC instants) beside text with an offset are read.
    expect(Array.from(parseTimeColumn(['2024-10-27T02:30:00+02:00', '2024-10-27T02:30:00+01:00', '2024-10-27T02:30:00Z']).time ?? [])).toEqual([0, 60, 120].map((minute) => Date.UTC(2024, 9, 27, 0, 30 + minute)));
    expect(Array.from(parseTimeColumn([1_709_287_200, '2024-03-01T11:01:00+01:00', '1709287320']).time ?? [])).toEqual([0, 1, 2].map((minute) => Date.UTC(2024, 2, 1, 10, minute)));
    expect(Array.from(parseTimeColumn(['2024-03-01 10:00', 20_240_301_1001, '202403011002']).time ?? [])).toEqual([0, 1, 2].map((minute) => Date.UTC(2024, 2, 1, 10, minute)));
  });

  it('refuses a column mixing epoch numbers with text without an offset, and digits-only dates with text with one', () => {
    // Before, an epoch number (a UTC instant, as text with a Z is) beside wall-clock text was read without a word,
    // though Z text beside the same wall-clock text was refused; so was a digits-only date beside text with an offset.
    expect(parseTimeColumn(['2024-03-01 10:00:00', 1_709_287_260]).problem).toEqual({
      index: 1,
      value: 1_709_287_260,
      reason: 'an epoch number, a time in UTC, but the column\'s first time, "2024-03-01 10:00:00" (position 0), is text without a UTC offset, read as UTC; write every time in UTC (text with its offset or Z, or epoch numbers), or every time as text without an offset',
    });
    expect(parseTimeColumn(['1709287200', '2024-03-01 10:01:00']).problem).toMatchObject({
      index: 1,
      reason: expect.stringMatching(/^text without a UTC offset, which would be read as UTC, but the column's first time, "1709287200" \(position 0\), is an epoch number, a time in UTC;/),
    });
    expect(parseTimeColumn(['2024-03-01T10:00:00+01:00', '202403011001']).problem).toMatchObject({ index: 1, reason: expect.stringContaining('a digits-only date, a wall-clock time without an offset, which would be read as UTC') });
    expect(parseTimeColumn([20_240_301, '2024-03-02T00:00Z']).problem).toMatchObject({ index: 1, reason: expect.stringContaining('text with a UTC offset, but the column\'s first time, "20240301" (position 0), is a digits-only date') });
  });

  it('refuses a column that mixes units, and reads ISO text and numbers of one unit side by side', () => {
    expect(parseTimeColumn([1_519_785_240, 1_519_785_360_000]).problem).toMatchObject({ index: 1, reason: expect.stringContaining("epoch milliseconds by its size, but the column's first number (position 0) is in epoch seconds") });
    expect(Array.from(parseTimeColumn(['2018-02-28T02:32:00Z', 1_519_785_240, '1519785360']).time ?? [])).toEqual([0, 2, 4].map((minute) => Date.UTC(2018, 1, 28, 2, 32 + minute)));
  });
});
