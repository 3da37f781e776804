import { describe, expect, it } from 'vitest';
import { createRandom } from '../data/seeded-random.js';
import type { PredictBatch, WindowSpec } from '../models/forecast-model.js';
import { createMstlModel } from '../models/mstl-model.js';
import type { IntervalCalibration } from '../models/prediction-intervals.js';
import { createFeaturePlan } from './feature-plan.js';
import { createIntervalSource, forecastIntervals, forecastWithIntervals } from './forecast-intervals.js';
import type { ScaledHistory } from './recursive-forecast.js';
import { createRequestBatcher } from './request-batcher.js';

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

  it("raises a served band's lower end to the target's lower bound, never above its upper end", async () => {
    const errors = { y: [Array.from({ length: 19 }, (_, i) => i + 1), Array.from({ length: 19 }, (_, i) => i + 1)] };
    const calibration: IntervalCalibration = { format: 'flts-conformal-v1', method: 'split-conformal', calibration: 'validation-tail', windows: 19, horizon: 2, scale: 'constant', floors: { y: 0 }, errors };
    // Rank ceil(20 * 0.8) = 16 with a constant scale: +-16 around each forecast.
    const forecast = { time: Float64Array.from([FIT_END, FIT_END + HOUR]), values: [Float64Array.from([10, -20])] };
    const unbounded = forecastIntervals(await createIntervalSource(calibration, [0.8]), WINDOW, Float32Array.from([0, 0, 0]), forecast);
    expect(unbounded.map((row) => row!.y['0.8'])).toEqual([[-6, 26], [-36, -4]]);
    const bounded = forecastIntervals(await createIntervalSource({ ...calibration, lowerBounds: { y: 0 } }, [0.8]), WINDOW, Float32Array.from([0, 0, 0]), forecast);
    expect(bounded.map((row) => row!.y['0.8'])).toEqual([[0, 26], [-4, -4]]);
  });
});

describe('core > forecast > forecast-intervals > forecastWithIntervals', () => {
  const STEP = 120_000;
  const window: WindowSpec = { features: ['y'], targets: ['y'], inputSeqLen: 30, outputSeqLen: 2 };
  const season = { period: 720, cadenceMs: STEP, profiles: { y: Array.from({ length: 720 }, (_, k) => Math.sin(k / 40)) } };
  const calibration: IntervalCalibration = { format: 'flts-conformal-v1', method: 'split-conformal', calibration: 'validation-tail', windows: 4, horizon: 2, scale: 'smoothing', season, floors: { y: 0.25 }, errors: { y: [[1, 2, 3, 4], [2, 4, 6, 8]] } };
  const plan = createFeaturePlan(window, { method: 'MinMaxScaler', columns: ['y'], offset: [0], scale: [1] });
  const random = createRandom(3);
  let level = 0;
  const history: ScaledHistory = { time: Float64Array.from({ length: 30 }, (_, r) => FIT_END + r * STEP), rows: Float32Array.from({ length: 30 }, () => (level += random() - 0.5)), cadenceMs: STEP };
  const mstl = createMstlModel({ format: 'flts-mstl-v1', ...season, window });

  it("scales MSTL's band by the spread its forecast reports through the request batcher, as the window's own smoothing gives it", async () => {
    const source = await createIntervalSource(calibration, [0.8]);
    const asked: boolean[] = [];
    const batcher = createRequestBatcher({ ...mstl, predict: (batch: PredictBatch) => (asked.push(batch.spreads !== undefined), mstl.predict(batch)) }, { maxBatch: 8, maxWaitMs: 0 });
    const { forecast, intervals } = await forecastWithIntervals(plan, history, 3, (w, t, size, spreads) => batcher.predict(w, t, size, spreads), source);
    // Only the forecast of the history's own window is asked for its spread, not the recursive one after it.
    expect(asked).toEqual([true, false]);
    expect(intervals).toEqual(forecastIntervals(source, window, history.rows, forecast));
    expect(intervals![2]).toBeNull();

    // The reported spread is the one used: rank ceil(5 * 0.8) = 4 of the first step's ratios, times (spread + floor).
    const reporting = async (batch: PredictBatch) => {
      const forecasts = await mstl.predict(batch);
      batch.spreads?.fill(0.75);
      return forecasts;
    };
    const reported = await forecastWithIntervals(plan, history, 2, (windows, forecastTimes, size, spreads) => reporting({ windows, forecastTimes, size, spreads }), source);
    const [lower, upper] = reported.intervals![0]!.y['0.8'];
    expect((upper - lower) / 2).toBeCloseTo(4 * (0.75 + 0.25), 9);
  });

  it("forecasts MSTL's steps past its horizon from one fit through the batcher, banding the calibrated ones", async () => {
    const source = await createIntervalSource(calibration, [0.8]);
    const batcher = createRequestBatcher(mstl, { maxBatch: 8, maxWaitMs: 0 });
    const { forecast, intervals } = await forecastWithIntervals(plan, history, 5, (w, t, size, spreads, steps) => batcher.predict(w, t, size, spreads, steps), source, true);
    expect(forecast).toMatchObject({ direct: true, recursive: false, forwardPasses: 1 });
    const times = Float64Array.from({ length: 5 }, (_, h) => history.time[29] + (h + 1) * STEP);
    expect(Array.from(forecast.values[0])).toEqual(Array.from(await mstl.predictSteps!({ windows: history.rows, forecastTimes: times, size: 1 }, 5)));
    // The spread comes from that one fit: the same bands as the scale the window's own smoothing gives.
    expect(intervals).toEqual(forecastIntervals(source, window, history.rows, forecast));
    expect(intervals!.map((row) => row !== null)).toEqual([true, true, false, false, false]);
  });

  it('computes the scale from the window when the model reports no spread', async () => {
    const source = await createIntervalSource(calibration, [0.8]);
    const silent = (windows: Float32Array, forecastTimes: Float64Array, size: number) => mstl.predict({ windows, forecastTimes, size });
    const { forecast, intervals } = await forecastWithIntervals(plan, history, 2, silent, source);
    expect(intervals).toEqual(forecastIntervals(source, window, history.rows, forecast));
    expect(Number.isFinite(intervals![0]!.y['0.8'][0])).toBe(true);
  });
});
