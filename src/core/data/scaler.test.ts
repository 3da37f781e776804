import { describe, expect, it } from 'vitest';
import { applyScaler, fitScaler, identityScaler, inverseScaleColumn, mayMergeHalf, scaleColumn, scaledIndistinct } from './scaler.js';
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

  // The check sorted every training column (about 1.6 s for 5 million rows); one pass now clears ordinary columns.
  it('clears ordinary columns without sorting them, and never clears one more than half of whose distinct values float32 makes one', () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const column = (n: number, value: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => value(i));
    const minMax = (values: Float64Array) => {
      const [min, max] = [Math.min(...values), Math.max(...values)];
      return [min, max - min || 1] as const;
    };
    // The largest number of distinct values one float32 stands for, counted by brute force.
    const mostMerged = (values: Float64Array, offset: number, scale: number) => {
      const byFloat = new Map<number, Set<number>>();
      for (const x of values) {
        const f = Math.fround((x - offset) / scale);
        byFloat.set(f, (byFloat.get(f) ?? new Set()).add(x === 0 ? 0 : x));
      }
      return [Math.max(...[...byFloat.values()].map((xs) => xs.size)), new Set(values).size];
    };
    const ordinary = [
      column(20_000, () => Math.round(random() * 1e6)), // a counter
      column(20_000, () => 30 * random()), // a gauge, at float64 precision (some float32 neighbours merge)
      column(20_000, (i) => Math.sin((2 * Math.PI * (i % 720)) / 720)), // a time feature: 720 values, each many times
      column(20_000, (i) => (i % 3 === 0 ? 0 : Math.round(random() * 100) / 100)), // sparse, two decimals
    ];
    for (const values of ordinary) {
      const [offset, scale] = minMax(values);
      expect(mayMergeHalf(values, offset, scale)).toBe(false);
    }
    // A counter of about 1e9 with one glitch row of 0, and a column half of whose values sit within a float32 step.
    const glitch = column(1000, (i) => (i === 0 ? 0 : 1e9 + (i % 20)));
    const clustered = column(1000, (i) => (i % 3 === 0 ? i : 1000 + i * 2 ** -42));
    for (const values of [glitch, clustered]) {
      const [offset, scale] = minMax(values);
      const [merged, distinct] = mostMerged(values, offset, scale);
      expect(2 * merged).toBeGreaterThan(distinct);
      expect(mayMergeHalf(values, offset, scale)).toBe(true);
    }
    // Sound on columns of every kind (levels over a span, outliers, a share of rows clustered within a float32 step or
    // a little more): whatever it clears, a brute-force count clears too.
    let halfMerged = 0;
    for (let trial = 0; trial < 400; trial++) {
      const n = 2 + Math.floor(random() * 3000);
      const spread = 10 ** (random() * 20 - 10);
      const base = random() < 0.5 ? 0 : 10 ** (random() * 12);
      const levels = 1 + Math.floor(random() * n);
      const [share, at] = [random(), base + spread * levels * random()];
      const [step, steps] = [Math.max(Math.abs(at), spread) * 2 ** -(15 + random() * 40), 1 + Math.floor(random() * 200)];
      const values = column(n, () => (random() < share ? at + step * Math.floor(random() * steps) : base + spread * Math.floor(random() * levels) + (random() < 0.05 ? 1e9 * random() : 0)));
      const [offset, scale] = random() < 0.5 ? minMax(values) : [base, spread * (1 + random())];
      const [merged, distinct] = mostMerged(values, offset, scale);
      const half = merged >= 2 && 2 * merged > distinct;
      if (half) halfMerged++;
      if (!mayMergeHalf(values, offset, scale)) expect(half, `trial ${trial}`).toBe(false);
    }
    expect(halfMerged).toBeGreaterThan(10);
    // Tables kept from column to column, as scaledIndistinct keeps them, answer as fresh ones: nothing of the column
    // before is left in them.
    const tables = {};
    for (const values of [glitch, ...ordinary.map((o) => o.subarray(0, 1000)), clustered, glitch.subarray(0, 500), clustered.subarray(500)]) {
      const [offset, scale] = minMax(values);
      expect(mayMergeHalf(values, offset, scale, tables)).toBe(mayMergeHalf(values, offset, scale));
    }
    expect(scaledIndistinct(fitScaler('MinMaxScaler', frame({ a: Array.from(glitch) })), frame({ a: Array.from(glitch) }))).toMatchObject([{ column: 'a', distinct_values: 21, indistinct_values: 20 }]);
  });
});
