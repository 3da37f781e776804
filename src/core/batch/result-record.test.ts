import { describe, expect, it } from 'vitest';
import type { BatchForecast } from './batch-forecast.js';
import { batchMetrics } from './result-record.js';

function forecastOf(predicted: number[], actual: number[]): BatchForecast {
  const rows = predicted.length;
  return {
    targets: ['down'],
    horizon: 1,
    windows: rows,
    origin: new Float64Array(rows),
    time: Float64Array.from({ length: rows }, (_, r) => r * 60_000),
    step: new Int32Array(rows).fill(1),
    predicted: [Float64Array.from(predicted)],
    actual: [Float64Array.from(actual)],
    forwardPasses: 1,
  };
}

describe('core > batch > result-record', () => {
  it('reports rmse and mae in original units near 1e300 as finite numbers, the same figures scaled up', () => {
    const small = batchMetrics(forecastOf([0, 3, 1, 4], [1, 2, 3, 4]), 'h', 10);
    const huge = batchMetrics(forecastOf([0, 3, 1, 4].map((v) => v * 1e300), [1, 2, 3, 4].map((v) => v * 1e300)), 'h', 10);
    expect(small.rmse).toBeCloseTo(Math.sqrt(1.5), 12);
    expect((huge.rmse as number) / 1e300).toBeCloseTo(small.rmse as number, 12);
    expect((huge.mae_mean as number) / 1e300).toBeCloseTo(small.mae_mean as number, 12);
    expect(huge.horizon_mae?.[0].mae).toBeGreaterThan(0);
    expect(Number.isFinite(huge.horizon_mae?.[0].mae)).toBe(true);
    // JSON (the inference record) keeps them: an Infinity would be written as null.
    expect(JSON.parse(JSON.stringify(huge))).toMatchObject({ rmse: huge.rmse, mae_mean: huge.mae_mean });
  });
});
