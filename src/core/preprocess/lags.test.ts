import { describe, expect, it } from 'vitest';
import { addLags, dominantStepMs, lagColumnName } from './lags.js';
import { regularTimes, timeFrameFromColumns, type TimeFrame } from '../data/time-frame.js';

const TWO_MINUTES = 120_000;
const makeFrame = (values: Record<string, number[]>, time?: number[]): TimeFrame =>
  timeFrameFromColumns(values, time ?? regularTimes(Object.values(values)[0].length, Date.UTC(2018, 1, 5), TWO_MINUTES));
const column = (frame: TimeFrame, name: string): number[] => Array.from(frame.values[name]);

describe('core > preprocess > lags', () => {
  it('names lag columns as the reference: <col>_lag(-<n>)', () => {
    expect(lagColumnName('down', 2)).toBe('down_lag(-2)');
  });

  it('adds lags n = step .. step * nLags and drops rows with incomplete lags', () => {
    const out = addLags(makeFrame({ a: [1, 2, 3, 4, 5], b: [10, 20, 30, 40, 50] }), 2, 1);
    expect(out.columns).toEqual(['a', 'b', 'a_lag(-1)', 'b_lag(-1)', 'a_lag(-2)', 'b_lag(-2)']);
    expect(column(out, 'a')).toEqual([3, 4, 5]);
    expect(column(out, 'a_lag(-1)')).toEqual([2, 3, 4]);
    expect(column(out, 'b_lag(-2)')).toEqual([10, 20, 30]);
    expect(out.time.length).toBe(3);
  });

  it('honours the step', () => {
    const out = addLags(makeFrame({ a: [1, 2, 3, 4, 5] }), 2, 2);
    expect(out.columns).toEqual(['a', 'a_lag(-2)', 'a_lag(-4)']);
    expect(column(out, 'a')).toEqual([5]);
    expect(column(out, 'a_lag(-4)')).toEqual([1]);
  });

  it('matches lags by time, so a gap never pairs a row with the wrong past', () => {
    const t0 = Date.UTC(2018, 0, 1);
    const times = [0, 1, 2, 4, 5].map((k) => t0 + k * TWO_MINUTES); // the sample at k = 3 is missing
    const out = addLags(makeFrame({ a: [0, 1, 2, 4, 5] }, times), 1, 1);
    expect(dominantStepMs(Float64Array.from(times))).toBe(TWO_MINUTES);
    expect(column(out, 'a')).toEqual([1, 2, 5]);
    expect(column(out, 'a_lag(-1)')).toEqual([0, 1, 4]);
  });

  it('refuses a column already named as one of its lags, which the lag would overwrite and the table name twice', () => {
    const frame = makeFrame({ a: [1, 2, 3, 4], 'a_lag(-2)': [7, 7, 7, 7] });
    expect(() => addLags(frame, 2, 1)).toThrow(expect.objectContaining({ code: 'FLTS_DATA_UNREADABLE', message: expect.stringContaining('"a_lag(-2)", the name of the lag 2 of column "a"') }));
    expect(addLags(frame, 1, 1).columns).toEqual(['a', 'a_lag(-2)', 'a_lag(-1)', 'a_lag(-2)_lag(-1)']);
  });

  it('nLags = 0 changes nothing', () => {
    const frame = makeFrame({ a: [1, 2] });
    expect(addLags(frame, 0, 1)).toBe(frame);
  });
});
