import { describe, expect, it } from 'vitest';
import { computeMetrics, evaluateForecasts, magnitudes, pickSeries } from './metrics.js';

describe('core > forecast > metrics', () => {
  it('computes mse, rmse, mae and r2 by their definitions', () => {
    // errors: 1, -1, 2, 0 -> mse 6/4, mae 4/4; mean actual 2.5, sst = 2.25+0.25+0.25+2.25 = 5
    const m = computeMetrics([1, 2, 3, 4], [0, 3, 1, 4]);
    expect(m.mse).toBeCloseTo(1.5, 12);
    expect(m.rmse).toBeCloseTo(Math.sqrt(1.5), 12);
    expect(m.mae).toBeCloseTo(1, 12);
    expect(m.r2).toBeCloseTo(1 - 6 / 5, 12);
  });

  it('follows scikit-learn for a constant actual series', () => {
    expect(computeMetrics([2, 2], [2, 2]).r2).toBe(1);
    expect(computeMetrics([2, 2], [1, 3]).r2).toBe(0);
    expect(Number.isNaN(computeMetrics([], []).mse)).toBe(true);
  });

  it('picks one target and step out of [size][horizon][targets]', () => {
    const values = [1, 10, 2, 20, 3, 30, 4, 40]; // size 2, horizon 2, targets 2
    expect(Array.from(pickSeries(values, 2, 2, 1))).toEqual([10, 20, 30, 40]);
    expect(Array.from(pickSeries(values, 2, 2, 0, 1))).toEqual([2, 4]);
  });

  it('reports scaled and original units per target, and per step for a horizon > 1', () => {
    const scaler = { method: 'MinMaxScaler' as const, columns: ['a', 'b'], offset: [100, 0], scale: [10, 2] };
    const actual = [0.1, 0.5, 0.2, 0.5, 0.3, 0.5, 0.4, 0.5];
    const predicted = [0.2, 0.5, 0.2, 0.5, 0.3, 0.5, 0.2, 0.5];
    const metrics = evaluateForecasts(actual, predicted, 2, ['a', 'b'], scaler);
    expect(metrics.count).toBe(2);
    // target a, scaled errors: -0.1, 0, 0, 0.2 -> mae 0.075; original errors are 10x larger.
    expect(metrics.targets.a.scaled.mae).toBeCloseTo(0.075, 12);
    expect(metrics.targets.a.original.mae).toBeCloseTo(0.75, 10);
    expect(metrics.targets.a.original.rmse).toBeCloseTo(10 * metrics.targets.a.scaled.rmse, 10);
    expect(metrics.targets.a.perStep?.map((s) => s.step)).toEqual([1, 2]);
    expect(metrics.targets.a.perStep?.[1].scaled.mae).toBeCloseTo(0.1, 12);
    expect(metrics.targets.b.scaled.mse).toBe(0);
    // pooled over every value: errors -0.1, 0.2 among 8 values
    expect(metrics.overall.mse).toBeCloseTo((0.01 + 0.04) / 8, 12);
  });

  it('keeps rmse, mae, r2 and nrmse finite for values near 1e300, where squaring them overflows', () => {
    const actual = [1, 2, 3, 4];
    const predicted = [0, 3, 1, 4];
    const small = computeMetrics(actual, predicted);
    const huge = computeMetrics(actual.map((v) => v * 1e300), predicted.map((v) => v * 1e300));
    expect(huge.rmse / 1e300).toBeCloseTo(small.rmse, 12);
    expect(huge.mae / 1e300).toBeCloseTo(small.mae, 12);
    expect(huge.r2).toBeCloseTo(small.r2, 12);
    expect(huge.nrmse).toBeCloseTo(small.nrmse as number, 12);
    // The true mse (about 1.5e600) is past the largest double: it overflows, and only it.
    expect(huge.mse).toBe(Number.POSITIVE_INFINITY);
    // A sum of many errors near the largest double stays finite as a mean.
    const many = computeMetrics(new Float64Array(1000).fill(1e306), new Float64Array(1000));
    expect(many.mae / 1e306).toBeCloseTo(1, 12);
    expect(many.rmse / 1e306).toBeCloseTo(1, 12);
  });

  it('summarises magnitudes as plain sums would where they do not overflow, carrying NaN and Infinity', () => {
    const { mean, meanAbsolute, rootMeanSquare } = magnitudes([3, -4]);
    expect([mean, meanAbsolute]).toEqual([-0.5, 3.5]);
    expect(rootMeanSquare).toBeCloseTo(Math.sqrt(12.5), 14);
    expect(magnitudes([0, 0])).toEqual({ mean: 0, meanAbsolute: 0, rootMeanSquare: 0 });
    expect(magnitudes([1, 2, 99], 2).meanAbsolute).toBe(1.5);
    expect(magnitudes([]).rootMeanSquare).toBeNaN();
    expect(magnitudes([1, Number.NaN]).meanAbsolute).toBeNaN();
    expect(magnitudes([1, Number.POSITIVE_INFINITY]).rootMeanSquare).toBe(Number.POSITIVE_INFINITY);
  });
});
