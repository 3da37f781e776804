import { describe, expect, it } from 'vitest';
import type { WindowSpec } from '../models/forecast-model.js';
import type { IntervalCalibration } from '../models/prediction-intervals.js';
import { createIntervalSource, forecastIntervals } from './forecast-intervals.js';

const WINDOW: WindowSpec = { features: ['y'], targets: ['y'], inputSeqLen: 3, outputSeqLen: 2 };
const FIT_END = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;

describe('core > forecast > forecast-intervals', () => {
  it('widens each served row by its distance past the fit when the calibration grows, and by the window volatility otherwise', async () => {
    const errors = { y: [Array.from({ length: 19 }, (_, i) => i + 1), Array.from({ length: 19 }, (_, i) => 2 * (i + 1))] };
    const constant: IntervalCalibration = { format: 'flts-conformal-v1', method: 'split-conformal', calibration: 'validation-tail', windows: 19, horizon: 2, scale: 'constant', floors: { y: 0 }, errors, growth: { fitEnd: FIT_END, perHour: { y: 1 } } };
    const forecast = { time: Float64Array.from([FIT_END + 3 * HOUR, FIT_END + 8 * HOUR, FIT_END + 15 * HOUR]), values: [Float64Array.from([100, 100, 100])] };
    // The window moves a lot, which a constant scale ignores.
    const rows = forecastIntervals(await createIntervalSource(constant, [0.8]), WINDOW, Float32Array.from([0, 5, 0]), forecast);
    // Rank ceil(20 * 0.8) = 16: ratio 16 at step 1, 32 at step 2; sqrt(1 + 3) = 2, sqrt(1 + 8) = 3.
    expect(rows[0]!.y['0.8']).toEqual([68, 132]);
    expect(rows[1]!.y['0.8']).toEqual([4, 196]);
    expect(rows[2]).toBeNull();

    // A calibration written before scales and growth existed keeps the volatility scale (mean change 5 + floor 1).
    const { scale: _scale, growth: _growth, ...volatility } = { ...constant, floors: { y: 1 } };
    const old = forecastIntervals(await createIntervalSource(volatility, [0.8]), WINDOW, Float32Array.from([0, 5, 0]), forecast);
    expect(old[0]!.y['0.8']).toEqual([100 - 16 * 6, 100 + 16 * 6]);
  });
});
