import { describe, expect, it } from 'vitest';
import { createRandom, gaussian } from '../data/seeded-random.js';
import { applyScaler, fitScaler } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';
import { createFeaturePlan } from '../forecast/feature-plan.js';
import { createIntervalSource, forecastWithIntervals } from '../forecast/forecast-intervals.js';
import { historyFromFrame, type PredictWindows } from '../forecast/recursive-forecast.js';
import { buildWindows, lazyWindows } from '../forecast/windows.js';
import type { WindowSpec } from '../models/forecast-model.js';
import { createNaiveModel } from '../models/naive-model.js';
import { intervalQuantiles } from '../models/prediction-intervals.js';
import { MIN_RECURSIVE_WINDOWS, RECURSIVE_WINDOWS, recursiveWindows } from './recursive-calibration.js';
import { calibrateModelIntervals } from './run-intervals.js';

const STEP_MS = 120_000;
const START_MS = Date.UTC(2024, 0, 1);
const WINDOW: WindowSpec = { features: ['down'], targets: ['down'], inputSeqLen: 10, outputSeqLen: 1 };
const STEPS = 16;

/** A random walk with standard normal steps: persistence's error k steps ahead is the sum of k steps, sd sqrt(k). */
function randomWalk(rows: number, random: () => number, firstRow = 0): TimeFrame {
  const time = new Float64Array(rows);
  const down = new Float64Array(rows);
  let level = 1000;
  for (let i = 0; i < rows; i++) {
    level += gaussian(random);
    time[i] = START_MS + (firstRow + i) * STEP_MS;
    down[i] = level;
  }
  return { time, columns: ['down'], values: { down } };
}

describe('core > train > recursive-calibration', () => {
  const random = createRandom(17);
  const raw = randomWalk(8 * 720 + 3 * 720, random);
  const trainRows = 8 * 720;
  const rawTrain: TimeFrame = { ...raw, time: raw.time.subarray(0, trainRows), values: { down: raw.values.down.subarray(0, trainRows) } };
  const scaler = fitScaler('MinMaxScaler', rawTrain);
  const model = createNaiveModel(WINDOW);
  const calibrate = (steps: number, frame = applyScaler(scaler, rawTrain)) => calibrateModelIntervals(model, buildWindows(frame, WINDOW), WINDOW, scaler, 'training-windows', { steps });

  it('calibrates every step past the horizon on the recursive forecast: persistence\'s bands on a random walk grow as the square root of the step', async () => {
    const calibration = await calibrate(STEPS);
    expect(calibration.errors.down).toHaveLength(STEPS);
    expect(calibration.recursive).toEqual({ windows: RECURSIVE_WINDOWS });
    // The horizon's step is the plain calibration's, on every window.
    const horizonOnly = await calibrate(1);
    expect(horizonOnly.recursive).toBeUndefined();
    expect(calibration.errors.down[0]).toEqual(horizonOnly.errors.down[0]);
    const q80 = intervalQuantiles(calibration, [0.8])['down']['0.8'];
    for (const step of [4, 9, 16]) expect(q80[step - 1] / q80[0]).toBeCloseTo(Math.sqrt(step), 0);
  });

  it('serves the calibrated bands on recursive rows, covering new data at every step, and none past the calibrated steps', async () => {
    const source = await createIntervalSource(await calibrate(STEPS), [0.8, 0.95]);
    const plan = createFeaturePlan(WINDOW, scaler);
    const predict: PredictWindows = (windows, forecastTimes, size) => model.predict({ windows, forecastTimes, size });
    const inside = { '0.8': new Array<number>(STEPS).fill(0), '0.95': new Array<number>(STEPS).fill(0) };
    let origins = 0;
    // Forecasts from windows over the three days after the training rows, as /predict makes them from raw rows.
    for (let end = trainRows + WINDOW.inputSeqLen; end + STEPS <= raw.time.length; end += 5) {
      const window: TimeFrame = { ...raw, time: raw.time.subarray(end - WINDOW.inputSeqLen, end), values: { down: raw.values.down.subarray(end - WINDOW.inputSeqLen, end) } };
      const { forecast, intervals } = await forecastWithIntervals(plan, historyFromFrame(plan, window, STEP_MS, false), STEPS + 2, predict, source);
      expect(forecast.recursive).toBe(true);
      expect(intervals!.slice(STEPS)).toEqual([null, null]);
      for (let h = 0; h < STEPS; h++) {
        const actual = raw.values.down[end + h];
        for (const level of ['0.8', '0.95'] as const) {
          const [lower, upper] = intervals![h]![`down`][level];
          if (actual >= lower && actual <= upper) inside[level][h]++;
        }
      }
      origins++;
    }
    const pooled = (level: '0.8' | '0.95', from: number, to: number) => inside[level].slice(from, to).reduce((a, b) => a + b, 0) / (origins * (to - from));
    // The recursive steps, early and late, cover new data near their levels (one walk: a few points of noise).
    for (const [from, to] of [[1, 8], [8, STEPS]]) {
      expect(Math.abs(pooled('0.8', from, to) - 0.8)).toBeLessThan(0.05);
      expect(Math.abs(pooled('0.95', from, to) - 0.95)).toBeLessThan(0.03);
    }
  });

  it('leaves out windows without an actual at every step, and a set with too few such windows as it is', async () => {
    const train = applyScaler(scaler, rawTrain);
    const rows = (count: number, shiftFrom = count): TimeFrame => ({
      ...train,
      time: Float64Array.from(train.time.subarray(0, count), (ms, i) => (i >= shiftFrom ? ms + 86_400_000 : ms)),
      values: { down: train.values.down.subarray(0, count) },
    });
    // 120 rows make windows forecasting rows 10..119; rows 10..104 start 16 steps with an actual each.
    expect((await calibrate(STEPS, rows(120))).recursive).toEqual({ windows: 95 });
    // A day missing before row 80: rows 10..64 and 80..104 still do; the windows whose steps cross the gap are left out.
    expect((await calibrate(STEPS, rows(120, 80))).recursive).toEqual({ windows: 80 });
    // Fewer such windows (35) than MIN_RECURSIVE_WINDOWS (40): no recursive step.
    expect((await calibrate(STEPS, rows(60))).recursive).toBeUndefined();
    const tooShort = await calibrate(STEPS, rows(20));
    expect(tooShort.recursive).toBeUndefined();
    expect(tooShort.errors.down).toHaveLength(1);
  });

  it('starts fewer recursive forecasts only from input windows past a day of 2-minute rows, never fewer than the minimum', async () => {
    // Through the calibration: 1,000-row windows with 600 eligible origins start 288 recursive forecasts.
    const long: WindowSpec = { ...WINDOW, inputSeqLen: 1000 };
    const frame = applyScaler(scaler, rawTrain);
    const rows: TimeFrame = { ...frame, time: frame.time.subarray(0, 1000 + 600 + STEPS - 1), values: { down: frame.values.down.subarray(0, 1000 + 600 + STEPS - 1) } };
    const calibration = await calibrateModelIntervals(createNaiveModel(long), buildWindows(rows, long), long, scaler, 'training-windows', { steps: STEPS });
    expect(calibration.recursive).toEqual({ windows: 288 });
    expect(calibration.errors.down.slice(1).every((ratios) => ratios.length === 288)).toBe(true);
    // The default input window (10 rows) and any up to 720 keep every window; longer ones share 288,000 input rows.
    for (const rows of [1, 10, 720]) expect(recursiveWindows(rows)).toBe(RECURSIVE_WINDOWS);
    expect(recursiveWindows(1000)).toBe(288);
    expect(recursiveWindows(2500)).toBe(115);
    expect(recursiveWindows(10_000)).toBe(MIN_RECURSIVE_WINDOWS);
  });

  it('calibrates windows whose inputs are copied a chunk at a time exactly as the windows built whole', async () => {
    const frame = applyScaler(scaler, rawTrain);
    const built = await calibrateModelIntervals(model, buildWindows(frame, WINDOW), WINDOW, scaler, 'training-windows', { steps: STEPS });
    expect(await calibrateModelIntervals(model, lazyWindows(frame, WINDOW), WINDOW, scaler, 'training-windows', { steps: STEPS })).toEqual(built);
  });
});
