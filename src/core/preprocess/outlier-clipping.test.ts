import { describe, expect, it } from 'vitest';
import { applyClipBounds, fitClipBounds } from './outlier-clipping.js';
import { regularTimes, timeFrameFromColumns, type TimeFrame } from '../data/time-frame.js';

const TWO_MINUTES = 120_000;
const makeFrame = (values: Record<string, number[]>, time?: number[]): TimeFrame =>
  timeFrameFromColumns(values, time ?? regularTimes(Object.values(values)[0].length, Date.UTC(2018, 1, 5), TWO_MINUTES));
const column = (frame: TimeFrame, name: string): number[] => Array.from(frame.values[name]);

describe('core > preprocess > outlier-clipping', () => {
  it('iqr bounds come from train and clip test too', () => {
    // 1..5: Q1 = 2, Q3 = 4, IQR = 2 -> factor 1 gives [0, 6]
    const bounds = fitClipBounds(makeFrame({ a: [1, 2, 3, 4, 5] }), 'iqr', 1);
    expect(bounds.lower).toEqual([0]);
    expect(bounds.upper).toEqual([6]);
    expect(column(applyClipBounds(makeFrame({ a: [-10, 3, 50] }), bounds), 'a')).toEqual([0, 3, 6]);
  });

  it('percentile bounds are [q(f), q(1 - f)]', () => {
    // 0..10: q(0.1) = 1, q(0.9) = 9
    const bounds = fitClipBounds(makeFrame({ a: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }), 'percentile', 0.1);
    expect(bounds.lower[0]).toBeCloseTo(1, 12);
    expect(bounds.upper[0]).toBeCloseTo(9, 12);
  });

  it('a constant column and NaN pass through unchanged', () => {
    const bounds = fitClipBounds(makeFrame({ c: [3, 3, 3] }), 'iqr', 1.5);
    const clipped = applyClipBounds(makeFrame({ c: [3, Number.NaN, 3] }), bounds);
    expect(column(clipped, 'c')[0]).toBe(3);
    expect(column(clipped, 'c')[1]).toBeNaN();
  });

  it('rejects a percentile factor that is not a lower quantile', () => {
    expect(() => fitClipBounds(makeFrame({ a: [1, 2] }), 'percentile', 1.5)).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringContaining('CLIP_FACTOR') }));
  });
});
