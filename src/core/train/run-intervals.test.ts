import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createRandom, gaussian } from '../data/seeded-random.js';
import { applyScaler, fitScaler } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';
import { toOriginalUnits } from '../forecast/metrics.js';
import { predictWindows } from '../forecast/predict-windows.js';
import { buildWindows, prependHistory } from '../forecast/windows.js';
import type { WindowSpec } from '../models/forecast-model.js';
import { intervalBands, intervalCoverage, intervalQuantiles, loadIntervalScale, type IntervalCalibration } from '../models/prediction-intervals.js';
import { fitForecastModel } from './fit-model.js';
import { fitAndValidationWindows } from './prepare-windows.js';
import { createNaiveModel } from '../models/naive-model.js';
import { calibrateModelIntervals, fitProphetWithIntervals, fittedCalibration, horizonWindows, MIN_HORIZON_WINDOWS } from './run-intervals.js';
import { recursiveWindows } from './recursive-calibration.js';
import type { fitProphetOffThread } from './prophet-off-thread.js';

// Tests may put another Prophet fit in place of the real one.
const prophet = vi.hoisted(() => ({ fit: undefined as typeof fitProphetOffThread | undefined }));
vi.mock('./prophet-off-thread.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./prophet-off-thread.js')>();
  return { fitProphetOffThread: (...args: Parameters<typeof actual.fitProphetOffThread>) => (prophet.fit ?? actual.fitProphetOffThread)(...args) };
});

const STEP_MS = 120_000;
const DAY_ROWS = 720;
/** A Monday. */
const START_MS = Date.UTC(2024, 0, 1);
const WINDOW: WindowSpec = { features: ['down'], targets: ['down'], inputSeqLen: 10, outputSeqLen: 1 };

/**
 * A mean-reverting walk whose steps are Gaussian on weekdays and, at weekends, mostly small with one step in
 * ten five times larger: the error of persistence relative to its recent volatility is spread differently
 * on the two kinds of day.
 */
function weeklyFrame(days: number, random: () => number): TimeFrame {
  const rows = days * DAY_ROWS;
  const time = new Float64Array(rows);
  const down = new Float64Array(rows);
  let level = 0;
  for (let i = 0; i < rows; i++) {
    const weekend = Math.floor(i / DAY_ROWS) % 7 >= 5;
    const step = weekend ? (random() < 0.1 ? 5 : 0.5) * gaussian(random) : gaussian(random);
    level = 0.99 * level + step;
    time[i] = START_MS + i * STEP_MS;
    down[i] = 100 + level;
  }
  return { time, columns: ['down'], values: { down } };
}

async function coverage(calibration: IntervalCalibration, test: ReturnType<typeof buildWindows>, predicted: Float32Array, scaler: Parameters<typeof toOriginalUnits>[3]): Promise<Record<string, number | null>> {
  const scales = (await loadIntervalScale(calibration))(test.x, test.size, WINDOW, test.forecastTimes);
  const bands = intervalBands(toOriginalUnits(predicted, 1, ['down'], scaler), scales, 1, ['down'], intervalQuantiles(calibration, [0.8, 0.95]));
  const actual = toOriginalUnits(test.y, 1, ['down'], scaler);
  return Object.fromEntries(Object.entries(bands.down).map(([key, band]) => [key, intervalCoverage(actual, band).coverage]));
}

describe('core > train > run-intervals', () => {
  afterEach(() => {
    prophet.fit = undefined;
  });

  it('calibrates persistence on the training windows of every weekday, where the validation tail (a weekend) misjudges a whole week', async () => {
    const random = createRandom(7);
    // Two weeks of training data ending on a Sunday, then a week to test.
    const raw = weeklyFrame(21, random);
    const split = 14 * DAY_ROWS;
    const rawTrain: TimeFrame = { ...raw, time: raw.time.subarray(0, split), values: { down: raw.values.down.subarray(0, split) } };
    const rawTest: TimeFrame = { ...raw, time: raw.time.subarray(split), values: { down: raw.values.down.subarray(split) } };
    const scaler = fitScaler('MinMaxScaler', rawTrain);
    const train = applyScaler(scaler, rawTrain);
    const test = buildWindows(prependHistory(train, applyScaler(scaler, rawTest), WINDOW.inputSeqLen), WINDOW, WINDOW.inputSeqLen);
    const fit = await fitForecastModel('NAIVE', train, undefined, WINDOW, defaultSettings(), { runId: 'naive', scaler });
    const predicted = await predictWindows(fit.model, test);
    const tail = fitAndValidationWindows(train, WINDOW, 0.1).validation;
    const onTail = await calibrateModelIntervals(fit.model, tail, WINDOW, scaler, 'validation-tail');
    expect(fit.intervals?.calibration).toBe('training-windows');
    expect(fit.intervals?.windows).toBe(split - WINDOW.inputSeqLen);
    const shipped = await coverage(fit.intervals!, test, predicted, scaler);
    const tailOnly = await coverage(onTail, test, predicted, scaler);
    expect(Math.abs(shipped['0.8']! - 0.8)).toBeLessThan(0.015);
    expect(Math.abs(shipped['0.95']! - 0.95)).toBeLessThan(0.01);
    // The weekend's errors, relative to their volatility, are heavier-tailed than the week's.
    expect(tailOnly['0.8']).toBeLessThan(0.77);
    expect(tailOnly['0.95']).toBeGreaterThan(0.97);
  });

  it('calibrates on the last four weeks of a longer training file', async () => {
    const random = createRandom(3);
    const train = weeklyFrame(30, random);
    const scaler = fitScaler('MinMaxScaler', train);
    const fit = await fitForecastModel('NAIVE', applyScaler(scaler, train), undefined, WINDOW, defaultSettings(), { runId: 'naive', scaler });
    // Every forecast row from 28 days before the last one, the last included.
    expect(fit.intervals?.windows).toBe(28 * DAY_ROWS + 1);
  });

  it('calibrates the horizon on every training window up to 720 input rows, and past it on as many as hold the input rows of 720-row windows, never fewer than 400', async () => {
    const train = weeklyFrame(6, createRandom(11));
    const scaler = fitScaler('MinMaxScaler', train);
    const calibrated = async (inputSeqLen: number) => (await fitForecastModel('NAIVE', applyScaler(scaler, train), undefined, { ...WINDOW, inputSeqLen }, defaultSettings(), { runId: 'naive', scaler })).intervals!;
    const rows = 6 * DAY_ROWS;
    // 3,320 windows of 1,000 rows, 1,820 of 2,500 and 620 of 3,700 rows: thinned to 720/1,000 and 720/2,500 of them, and to the floor.
    for (const [inputSeqLen, windows] of [[1000, 2391], [2500, 525], [3700, 400]]) {
      const calibration = await calibrated(inputSeqLen);
      expect(calibration.windows).toBe(windows);
      expect(calibration.errors.down[0]).toHaveLength(windows);
      // The steps past the horizon pick their windows from every window, as before.
      expect(calibration.errors.down[1]).toHaveLength(recursiveWindows(inputSeqLen));
    }
    // The default input window and any up to 720 rows keep every window; a set under the floor keeps them all.
    for (const inputSeqLen of [10, 720, 4000]) expect((await calibrated(inputSeqLen)).windows).toBe(rows - inputSeqLen);
    // No step at 720 rows: one row more drops one window in 720.
    expect([10, 720, 721].map((inputSeqLen) => horizonWindows(inputSeqLen, 20_160))).toEqual([20_160, 20_160, 20_133]);
    expect([horizonWindows(10_000, 20_160), horizonWindows(10_000, 2_000), horizonWindows(10_000, 300)]).toEqual([1452, MIN_HORIZON_WINDOWS, 300]);
  });

  it('frees the Prophet fitted on every row when the earlier fit that would calibrate it fails', async () => {
    const train = weeklyFrame(3, createRandom(5));
    const tail = fitAndValidationWindows(train, WINDOW, 0.1).validation;
    const failure = new Error('the earlier fit failed');
    const disposed: number[] = [];
    // The earlier fit fails at once; the fit on every row finishes after it.
    prophet.fit = async (frame, window) => {
      if (frame.time.length < train.time.length) throw failure;
      await new Promise(setImmediate);
      const model = createNaiveModel(window);
      return { model: { ...model, dispose: () => disposed.push(frame.time.length) }, artifact: {} as Awaited<ReturnType<typeof fitProphetOffThread>>['artifact'] };
    };
    await expect(fitProphetWithIntervals(train, tail, WINDOW, defaultSettings().training.prophet, 1, fitScaler('MinMaxScaler', train))).rejects.toBe(failure);
    expect(disposed).toEqual([train.time.length]);
  });

  it('saves one calibration whoever fits: the fit\'s own or the tail\'s, bounded below where the fitted rows never go negative', async () => {
    const rawTrain = weeklyFrame(3, createRandom(11));
    const scaler = fitScaler('MinMaxScaler', rawTrain);
    const train = applyScaler(scaler, rawTrain);
    const tail = fitAndValidationWindows(train, WINDOW, 0.1).validation;
    const naive = await fitForecastModel('NAIVE', train, undefined, WINDOW, defaultSettings(), { runId: 'naive', scaler });
    // A model that fits nothing brings its own calibration (every training window): kept, not replaced by the tail's.
    const own = await fittedCalibration(naive, train, tail, WINDOW, scaler);
    expect(own).toEqual({ ...naive.intervals, lowerBounds: { down: 0 } });
    // Without one, the tail calibrates it.
    const onTail = await fittedCalibration({ model: naive.model }, train, tail, WINDOW, scaler);
    expect(onTail).toEqual({ ...(await calibrateModelIntervals(naive.model, tail, WINDOW, scaler, 'validation-tail')), lowerBounds: { down: 0 } });
    // A target that went below 0 in the fitted rows keeps its bands unbounded.
    const belowZero = applyScaler(scaler, { ...rawTrain, values: { down: Float64Array.from(rawTrain.values.down, (v, i) => (i === 5 ? -1 : v)) } });
    expect((await fittedCalibration(naive, belowZero, tail, WINDOW, scaler)).lowerBounds).toBeUndefined();
    await expect(fittedCalibration({ model: naive.model }, train, undefined, WINDOW, scaler)).rejects.toMatchObject({ code: 'FLTS_INTERNAL' });
  });
});
