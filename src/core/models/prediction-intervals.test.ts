import { describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import { createRandom } from '../data/seeded-random.js';
import type { WindowSpec } from './forecast-model.js';
import { calibrateIntervals, conformalHalfWidth, intervalBands, intervalCoverage, intervalQuantiles, intervalScales, parseIntervalLevels, windowVolatility } from './prediction-intervals.js';

/** Standard normal draws (Box-Muller) from the project's seeded generator. */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

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

function coverageOf(set: ReturnType<typeof persistenceSet>, size: number, calibration: ReturnType<typeof calibrateIntervals>, levels: number[]): Record<string, number> {
  const scales = intervalScales(calibration, set.x, size, WINDOW);
  const bands = intervalBands(set.predicted, scales, WINDOW.outputSeqLen, ['y'], intervalQuantiles(calibration, levels));
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

  it('covers new windows at the nominal level on data with known noise, and widens with the level and with the volatility', () => {
    const random = createRandom(11);
    // Calm and busy periods alternate; calibration and test windows come from the same process.
    const noise = (w: number): number => (Math.floor(w / 50) % 2 === 0 ? 1 : 4);
    const calibrationSet = persistenceSet(4000, random, noise);
    const volatility = windowVolatility(calibrationSet.x, 4000, WINDOW);
    const calibration = calibrateIntervals(calibrationSet.actual, calibrationSet.predicted, volatility, WINDOW.outputSeqLen, ['y'], 'validation-tail');
    const test = persistenceSet(4000, random, noise);
    const coverage = coverageOf(test, 4000, calibration, [0.5, 0.8, 0.95]);
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
    const busyCoverage = coverageOf(busy, 3000, calibration, [0.8])['0.8'];
    expect(busyCoverage).toBeGreaterThan(0.72);
    expect(busyCoverage).toBeLessThan(0.84);
  });
});
