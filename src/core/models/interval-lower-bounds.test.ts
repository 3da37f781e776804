import { describe, expect, it } from 'vitest';
import type { ScalerParams } from '../data/scaler.js';
import { boundedLower, nonNegativeBounds } from './interval-lower-bounds.js';

describe('core > models > interval-lower-bounds', () => {
  it('bounds a target at 0 only when every finite value is non-negative in original units', () => {
    // Scaled as (x - 50) / 100: the scaled values are negative, the original ones are not (except in `b`).
    const scaler: ScalerParams = { method: 'MinMaxScaler', columns: ['a', 'b', 'c'], offset: [50, 50, 50], scale: [100, 100, 100] };
    const rows = {
      time: Float64Array.from([0, 1, 2]),
      columns: ['a', 'b', 'c'],
      values: { a: Float64Array.from([-0.5, Number.NaN, 0.2]), b: Float64Array.from([-0.51, 0, 0.2]), c: Float64Array.from([Number.NaN, Number.NaN, Number.NaN]) },
    };
    expect(nonNegativeBounds(rows, ['a', 'b', 'c'], scaler)).toEqual({ a: 0 });
  });

  it('raises a lower end to the bound but not past the upper end', () => {
    expect(boundedLower(-4, 6, 0)).toBe(0);
    expect(boundedLower(1, 6, 0)).toBe(1);
    expect(boundedLower(-9, -2, 0)).toBe(-2);
    expect(boundedLower(-4, 6, undefined)).toBe(-4);
  });
});
