import { describe, expect, it } from 'vitest';
import { applyScaler, fitScaler, identityScaler, inverseScaleColumn, scaleColumn } from './scaler.js';
import type { TimeFrame } from './time-frame.js';

function frame(values: Record<string, number[]>): TimeFrame {
  const columns = Object.keys(values);
  const n = values[columns[0]].length;
  return { time: Float64Array.from({ length: n }, (_, i) => i * 120_000), columns, values: Object.fromEntries(columns.map((c) => [c, Float64Array.from(values[c])])) };
}

describe('core > data > scaler', () => {
  it('MinMax: fitted on train, the same affine map applied to test (test may leave [0, 1])', () => {
    const params = fitScaler('MinMaxScaler', frame({ a: [2, 4, 6] }));
    expect(params).toMatchObject({ offset: [2], scale: [4] });
    expect(Array.from(applyScaler(params, frame({ a: [2, 6, 10] })).values.a)).toEqual([0, 1, 2]);
  });

  it('a constant column never divides by zero', () => {
    for (const method of ['MinMaxScaler', 'StandardScaler', 'RobustScaler', 'MaxAbsScaler'] as const) {
      const params = fitScaler(method, frame({ c: [5, 5, 5], z: [0, 0, 0] }));
      const scaled = applyScaler(params, frame({ c: [5, 5, 6], z: [0, 0, 1] }));
      for (const column of ['c', 'z']) for (const v of scaled.values[column]) expect(Number.isFinite(v), `${method} ${column}`).toBe(true);
    }
  });

  it('Standard, Robust and MaxAbs match hand-computed parameters', () => {
    const data = frame({ a: [1, 2, 3, 4] });
    expect(fitScaler('StandardScaler', data)).toMatchObject({ offset: [2.5], scale: [Math.sqrt(1.25)] });
    // numpy linear quantiles of 1..4: q25 = 1.75, q50 = 2.5, q75 = 3.25
    expect(fitScaler('RobustScaler', data)).toMatchObject({ offset: [2.5], scale: [1.5] });
    expect(fitScaler('MaxAbsScaler', frame({ a: [-8, 2] }))).toMatchObject({ offset: [0], scale: [8] });
  });

  it('ignores NaN when fitting', () => {
    expect(fitScaler('MinMaxScaler', frame({ a: [Number.NaN, 1, 3] }))).toMatchObject({ offset: [1], scale: [2] });
  });

  it('inverse scaling undoes scaling', () => {
    const params = fitScaler('StandardScaler', frame({ a: [3, 7, 11] }));
    const back = inverseScaleColumn(params, 'a', scaleColumn(params, 'a', [3, 100]));
    expect(back[0]).toBeCloseTo(3, 12);
    expect(back[1]).toBeCloseTo(100, 12);
    expect(() => scaleColumn(params, 'missing', [1])).toThrow(/missing/);
  });

  it('the identity scaler changes nothing', () => {
    expect(Array.from(applyScaler(identityScaler(['a']), frame({ a: [3, -1] })).values.a)).toEqual([3, -1]);
  });
});
