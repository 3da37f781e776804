import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { createRandom, gaussian } from '../data/seeded-random.js';
import type { WindowSpec } from './forecast-model.js';
import { createMstlModel } from './mstl-model.js';
import { calibrateIntervals, conformalHalfWidth, loadWindowScale, fitErrorGrowth, hoursPast, intervalBands, intervalCoverage, intervalQuantiles, loadIntervalScale, parseIntervalLevels, uncalibratedReason, windowScale, windowsNeeded, windowVolatility, type IntervalScale } from './prediction-intervals.js';

/** Standard normal draws (Box-Muller) from the project's seeded generator. */
const WINDOW: WindowSpec = { features: ['y'], targets: ['y'], inputSeqLen: 4, outputSeqLen: 2 };

/** Windows of a random walk whose noise scale changes per window, with forecasts = last value (persistence). */
function persistenceSet(size: number, random: () => number, noise: (w: number) => number): { x: Float32Array; actual: Float64Array; predicted: Float64Array } {
  const x = new Float32Array(size * WINDOW.inputSeqLen);
  const actual = new Float64Array(size * WINDOW.outputSeqLen);
  const predicted = new Float64Array(size * WINDOW.outputSeqLen);
  for (let w = 0; w < size; w++) {
    const sigma = noise(w);
    let level = 10;
    for (let r = 0; r < WINDOW.inputSeqLen; r++) x[w * WINDOW.inputSeqLen + r] = level += sigma * gaussian(random);
    for (let h = 0; h < WINDOW.outputSeqLen; h++) {
      level += sigma * gaussian(random);
      actual[w * WINDOW.outputSeqLen + h] = level;
      predicted[w * WINDOW.outputSeqLen + h] = x[w * WINDOW.inputSeqLen + WINDOW.inputSeqLen - 1];
    }
  }
  return { x, actual, predicted };
}

/** Per level, the share of `set`'s actuals inside the bands of `calibration` (windows of `window`, target y). */
async function coverageOf(set: ReturnType<typeof persistenceSet>, size: number, calibration: ReturnType<typeof calibrateIntervals>, levels: number[], window: WindowSpec = WINDOW): Promise<Record<string, number | null>> {
  const scales = (await loadIntervalScale(calibration))(set.x, size, window, new Float64Array(size));
  const bands = intervalBands(set.predicted, scales, window.outputSeqLen, ['y'], intervalQuantiles(calibration, levels));
  return Object.fromEntries(Object.entries(bands.y).map(([key, band]) => [key, intervalCoverage(set.actual, band).coverage]));
}

describe('core > models > prediction-intervals', () => {
  it('takes the ceil((n + 1) level)-th smallest error, and refuses levels it cannot reach', () => {
    const errors = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    expect(conformalHalfWidth(errors, 0.8)).toBe(8);
    expect(conformalHalfWidth(errors, 0.5)).toBe(5);
    expect(conformalHalfWidth(errors, 0.95)).toBe(Number.POSITIVE_INFINITY);
    expect(parseIntervalLevels(['0.95', '0.8', '0.8'])).toEqual([0.8, 0.95]);
    expect(() => parseIntervalLevels(['80'])).toThrow(FltsError);
  });

  it("raises each band's lower end to the target's lower bound, never above its upper end, and leaves unbounded targets as they are", () => {
    // Two targets, one step, three windows: forecasts of 10, 2 and -8 with scale 1 and ratio 5 at 0.8.
    const predicted = [10, 10, 2, 2, -8, -8];
    const scales = Float64Array.from([1, 1, 1, 1, 1, 1]);
    const quantiles = { a: { '0.8': [5] }, b: { '0.8': [5] } };
    const bounded = intervalBands(predicted, scales, 1, ['a', 'b'], quantiles, undefined, { a: 0 });
    // A band within the bound keeps its lower end; one below it is cut at 0; one wholly below 0 collapses onto its upper end.
    expect(bounded.a['0.8']).toEqual({ lower: [5, 0, -3], upper: [15, 7, -3] });
    expect(bounded.b['0.8']).toEqual({ lower: [5, -3, -13], upper: [15, 7, -3] });
    expect(intervalBands(predicted, scales, 1, ['a', 'b'], quantiles)).toEqual({ a: bounded.b, b: bounded.b });
  });

  it('needs the fewest windows whose conformal rank fits, and says so for a level that has too few', () => {
    expect([0.5, 0.8, 0.9, 0.95, 0.99].map(windowsNeeded)).toEqual([1, 4, 9, 19, 99]);
    expect(windowsNeeded(0.999999)).toBe(999_999);
    for (const level of [0.8, 0.95, 0.975, 0.999]) {
      const need = windowsNeeded(level);
      expect(conformalHalfWidth(Array.from({ length: need }, (_, i) => i), level)).toBeLessThan(Number.POSITIVE_INFINITY);
      expect(conformalHalfWidth(Array.from({ length: need - 1 }, (_, i) => i), level)).toBe(Number.POSITIVE_INFINITY);
    }
    // Steps of one target: five errors on the first step, four on the second (a pair was not finite).
    const steps = [[1, 2, 3, 4, 5], [1, 2, 3, 4]];
    expect(uncalibratedReason(steps, 0.8)).toBeUndefined();
    expect(uncalibratedReason(steps, 0.95)).toBe('too few calibration windows for 0.95: need 19, have 4');
    expect(uncalibratedReason([[], [1]], 0.5)).toBe('too few calibration windows for 0.5: need 1, have 0');
  });

  it('gives a level with too few calibration errors no band and no coverage, where an unbounded band would cover every actual', () => {
    // One target, one step, four windows: five errors bound 0.8 (ratio 5) but not 0.95.
    const quantiles = intervalQuantiles({ format: 'flts-conformal-v1', method: 'split-conformal', calibration: 'validation-tail', windows: 5, horizon: 1, floors: { y: 0 }, errors: { y: [[1, 2, 3, 4, 5]] } }, [0.8, 0.95]);
    const bands = intervalBands([10, 20, 30, 40], Float64Array.from([1, 1, 1, 1]), 1, ['y'], quantiles, undefined, { y: 0 });
    expect(bands.y['0.95']).toEqual({ lower: [Number.NaN, Number.NaN, Number.NaN, Number.NaN], upper: [Number.NaN, Number.NaN, Number.NaN, Number.NaN] });
    const actual = [12, 100, 30, Number.NaN];
    expect(intervalCoverage(actual, bands.y['0.8'])).toEqual({ coverage: 2 / 3, mean_width: 10 });
    const reason = uncalibratedReason([[1, 2, 3, 4, 5]], 0.95);
    expect(intervalCoverage(actual, bands.y['0.95'], reason)).toEqual({ coverage: null, mean_width: null, uncalibrated: 'too few calibration windows for 0.95: need 19, have 5' });
    // Without the reason, points without a band are left out rather than counted inside: nothing is left to score.
    expect(intervalCoverage(actual, bands.y['0.95'])).toEqual({ coverage: null, mean_width: null });
    expect(intervalCoverage([12, 100, 50, 10], { lower: [-Infinity, -Infinity, 0, 0], upper: [Infinity, Infinity, 40, 20] })).toEqual({ coverage: 0.5, mean_width: 30 });
  });

  it('covers new windows at the nominal level on data with known noise, and widens with the level and with the volatility', async () => {
    const random = createRandom(11);
    // Calm and busy periods alternate; calibration and test windows come from the same process.
    const noise = (w: number): number => (Math.floor(w / 50) % 2 === 0 ? 1 : 4);
    const calibrationSet = persistenceSet(4000, random, noise);
    const volatility = windowVolatility(calibrationSet.x, 4000, WINDOW);
    const calibration = calibrateIntervals(calibrationSet.actual, calibrationSet.predicted, volatility, WINDOW.outputSeqLen, ['y'], 'validation-tail');
    const test = persistenceSet(4000, random, noise);
    const coverage = await coverageOf(test, 4000, calibration, [0.5, 0.8, 0.95]);
    expect(coverage['0.5']).toBeGreaterThan(0.47);
    expect(coverage['0.5']).toBeLessThan(0.53);
    expect(coverage['0.8']).toBeGreaterThan(0.77);
    expect(coverage['0.8']).toBeLessThan(0.83);
    expect(coverage['0.95']).toBeGreaterThan(0.93);
    expect(coverage['0.95']).toBeLessThan(0.97);

    const quantiles = intervalQuantiles(calibration, [0.8, 0.95]).y;
    for (let h = 0; h < WINDOW.outputSeqLen; h++) expect(quantiles['0.95'][h]).toBeGreaterThan(quantiles['0.8'][h]);
    // Two steps ahead a random walk has drifted further than one step ahead.
    expect(quantiles['0.8'][1]).toBeGreaterThan(quantiles['0.8'][0]);

    // A period twice as busy as the busiest calibration window stays near its coverage (a fixed band would
    // cover about half): the band scales with the window's volatility.
    const busy = persistenceSet(3000, random, () => 8);
    const busyCoverage = (await coverageOf(busy, 3000, calibration, [0.8]))['0.8'];
    expect(busyCoverage).toBeGreaterThan(0.72);
    expect(busyCoverage).toBeLessThan(0.84);
  });

  it('gives a forecast whose error ignores recent changes (constant scale) its nominal coverage in calm and busy windows alike', async () => {
    const random = createRandom(5);
    // Errors of fixed spread around forecasts that read nothing of the window, whose volatility varies.
    const set = (size: number, sigma: (w: number) => number) => {
      const x = new Float32Array(size * WINDOW.inputSeqLen);
      const actual = new Float64Array(size * WINDOW.outputSeqLen);
      const predicted = new Float64Array(size * WINDOW.outputSeqLen);
      for (let w = 0; w < size; w++) {
        for (let r = 0; r < WINDOW.inputSeqLen; r++) x[w * WINDOW.inputSeqLen + r] = 10 + sigma(w) * gaussian(random);
        for (let h = 0; h < WINDOW.outputSeqLen; h++) actual[w * WINDOW.outputSeqLen + h] = 3 + 2 * gaussian(random);
        predicted.fill(3, w * WINDOW.outputSeqLen, (w + 1) * WINDOW.outputSeqLen);
      }
      return { x, actual, predicted };
    };
    const calibrationSet = set(4000, (w) => (w % 2 === 0 ? 0.5 : 4));
    const coverage = async (scale: Exclude<IntervalScale, 'smoothing'>, test: ReturnType<typeof set>) => {
      const calibration = calibrateIntervals(calibrationSet.actual, calibrationSet.predicted, windowScale(scale, calibrationSet.x, 4000, WINDOW), WINDOW.outputSeqLen, ['y'], 'validation-tail', { scale });
      return (await coverageOf(test, 3000, calibration, [0.8]))['0.8'];
    };
    const calm = set(3000, () => 0.5);
    const busy = set(3000, () => 4);
    for (const test of [calm, busy]) {
      expect(await coverage('constant', test)).toBeGreaterThan(0.77);
      expect(await coverage('constant', test)).toBeLessThan(0.83);
    }
    // Scaled by the volatility the same errors are over-covered in busy windows and under-covered in calm ones.
    expect(await coverage('volatility', busy)).toBeGreaterThan(0.9);
    expect(await coverage('volatility', calm)).toBeLessThan(0.7);
  });

  it('scales a seasonal naive error by the volatility now and one period ago', async () => {
    const period: WindowSpec = { features: ['y'], targets: ['y'], inputSeqLen: 24, outputSeqLen: 1 };
    const random = createRandom(9);
    // The forecast repeats the window's first row (one period before the target): its error mixes the noise
    // of both ends, each end calm or busy on its own.
    const set = (size: number, ends: (w: number) => [number, number]) => {
      const x = new Float32Array(size * 24);
      const actual = new Float64Array(size);
      const predicted = new Float64Array(size);
      for (let w = 0; w < size; w++) {
        const [then, now] = ends(w);
        for (let r = 0; r < 24; r++) x[w * 24 + r] = 10 + (r < 12 ? then : now) * gaussian(random);
        actual[w] = 10 + now * gaussian(random);
        predicted[w] = x[w * 24];
      }
      return { x, actual, predicted };
    };
    const calibrationSet = set(6000, (w) => [w % 2 === 0 ? 1 : 4, Math.floor(w / 2) % 2 === 0 ? 1 : 4]);
    const coverage = async (scale: Exclude<IntervalScale, 'smoothing'>, test: ReturnType<typeof set>) => {
      const calibration = calibrateIntervals(calibrationSet.actual, calibrationSet.predicted, windowScale(scale, calibrationSet.x, 6000, period), 1, ['y'], 'validation-tail', { scale });
      return (await coverageOf(test, 3000, calibration, [0.8], period))['0.8'];
    };
    const busyThen = set(3000, () => [4, 1]);
    const busyNow = set(3000, () => [1, 4]);
    for (const test of [busyThen, busyNow]) {
      expect(await coverage('seasonal-volatility', test)).toBeGreaterThan(0.75);
      expect(await coverage('seasonal-volatility', test)).toBeLessThan(0.85);
    }
    // The recent volatility alone misses the busy period a day ago.
    expect(await coverage('volatility', busyThen)).toBeLessThan(0.6);
  });

  it('widens the bands of a forecast whose error grows past the end of its fit, at the rate fitted on the calibration distances', async () => {
    const random = createRandom(3);
    const stepMs = 120_000;
    // Error spread sqrt(1 + d / 12 h): calibrated 0-2 days past one fit's end, tested 0-5 days past another's.
    const set = (size: number, fitEnd: number) => {
      const x = new Float32Array(size * WINDOW.inputSeqLen).fill(1);
      const times = new Float64Array(size * WINDOW.outputSeqLen);
      const actual = new Float64Array(size * WINDOW.outputSeqLen);
      for (let w = 0; w < size; w++) {
        for (let h = 0; h < WINDOW.outputSeqLen; h++) {
          const i = w * WINDOW.outputSeqLen + h;
          times[i] = fitEnd + (w + h + 1) * stepMs;
          actual[i] = Math.sqrt(1 + (times[i] - fitEnd) / 3_600_000 / 12) * gaussian(random);
        }
      }
      return { x, times, actual, predicted: new Float64Array(size * WINDOW.outputSeqLen) };
    };
    const calibrationEnd = Date.UTC(2024, 0, 1);
    const servedEnd = calibrationEnd + 2 * 86_400_000;
    const calibrationSet = set(1440, calibrationEnd);
    const hours = hoursPast(calibrationSet.times, calibrationEnd);
    expect(fitErrorGrowth(calibrationSet.actual, calibrationSet.predicted, hours, WINDOW.outputSeqLen, ['y']).y).toBeGreaterThan(1 / 24);
    expect(fitErrorGrowth(calibrationSet.actual, calibrationSet.predicted, hours, WINDOW.outputSeqLen, ['y']).y).toBeLessThan(1 / 6);
    const test = set(3600, servedEnd);
    const coverage = async (growth: boolean) => {
      const scales = windowScale('constant', calibrationSet.x, 1440, WINDOW);
      const calibration = calibrateIntervals(calibrationSet.actual, calibrationSet.predicted, scales, WINDOW.outputSeqLen, ['y'], 'validation-tail', { scale: 'constant', ...(growth ? { growth: { hours, fitEnd: servedEnd } } : {}) });
      const bands = intervalBands(test.predicted, (await loadIntervalScale(calibration))(test.x, 3600, WINDOW, new Float64Array(3600)), WINDOW.outputSeqLen, ['y'], intervalQuantiles(calibration, [0.8, 0.95]), { calibration, forecastTimes: test.times });
      return [intervalCoverage(test.actual, bands.y['0.8']).coverage, intervalCoverage(test.actual, bands.y['0.95']).coverage];
    };
    const [grown80, grown95] = await coverage(true);
    expect(grown80).toBeGreaterThan(0.75);
    expect(grown80).toBeLessThan(0.85);
    expect(grown95).toBeGreaterThan(0.91);
    expect(grown95).toBeLessThan(0.98);
    // Without the growth the bands keep the calibration's width and fall short further out.
    expect((await coverage(false))[0]).toBeLessThan(0.7);
  });

  it('scales an MSTL error by the spread its smoothing estimates on the window, where the volatility misjudges noise around a level', async () => {
    const spec: WindowSpec = { features: ['y'], targets: ['y'], inputSeqLen: 20, outputSeqLen: 1 };
    const season = { period: 720, cadenceMs: 120_000, profiles: { y: new Array<number>(720).fill(0) } };
    const model = createMstlModel({ format: 'flts-mstl-v1', ...season, window: spec });
    const random = createRandom(13);
    // A wandering level (steps of spread 1) or noise of spread 1 around a fixed level: persistence's error
    // relative to the recent changes differs between the two, the smoothing's relative to its own estimate not.
    const set = async (size: number, wandering: (w: number) => boolean) => {
      const x = new Float32Array(size * 21);
      const windows = new Float32Array(size * 20);
      const actual = new Float64Array(size);
      for (let w = 0; w < size; w++) {
        let level = 0;
        for (let r = 0; r < 21; r++) x[w * 21 + r] = wandering(w) ? (level += gaussian(random)) : gaussian(random);
        windows.set(x.subarray(w * 21, w * 21 + 20), w * 20);
        actual[w] = x[w * 21 + 20];
      }
      const forecastTimes = Float64Array.from({ length: size }, (_, w) => Date.UTC(2024, 0, 1) + w * 120_000);
      const predicted = Float64Array.from(await model.predict({ windows, size, forecastTimes }));
      return { x: windows, actual, predicted, forecastTimes };
    };
    const calibrationSet = await set(2000, (w) => w % 2 === 0);
    const coverage = async (scale: 'smoothing' | 'volatility', test: Awaited<ReturnType<typeof set>>) => {
      const scales = (await loadWindowScale(scale, season))(calibrationSet.x, 2000, spec, calibrationSet.forecastTimes);
      const calibration = calibrateIntervals(calibrationSet.actual, calibrationSet.predicted, scales, 1, ['y'], 'validation-tail', { scale, season });
      const bands = intervalBands(test.predicted, (await loadIntervalScale(calibration))(test.x, 1500, spec, test.forecastTimes), 1, ['y'], intervalQuantiles(calibration, [0.8]));
      return intervalCoverage(test.actual, bands.y['0.8']).coverage;
    };
    const wandering = await set(1500, () => true);
    const noisy = await set(1500, () => false);
    for (const test of [wandering, noisy]) {
      const covered = await coverage('smoothing', test);
      expect(covered).toBeGreaterThan(0.76);
      expect(covered).toBeLessThan(0.84);
    }
    // The recent changes overstate the error of noise around a level, which the smoothing averages out, and
    // understate that of a wandering level.
    expect(await coverage('volatility', wandering)).toBeLessThan(0.76);
    expect(await coverage('volatility', noisy)).toBeGreaterThan(0.84);
  });
});
