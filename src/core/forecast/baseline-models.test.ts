import { describe, expect, it } from 'vitest';
import type { TimeFrame } from '../data/time-frame.js';
import { buildWindows } from './windows.js';
import { fitMstlModel } from '../models/mstl-model.js';
import { mstlWindow } from '../models/mstl-window.js';
import { createNaiveModel } from '../models/naive-model.js';
import { createSeasonalNaiveModel, dailyPeriod, seasonalNaiveWindow } from '../models/seasonal-naive-model.js';
import { computeMetrics } from './metrics.js';

const STEP_MS = 3_600_000;

/** Hourly series: a daily cycle plus a slow drift, `days` long. */
function dailySeries(days: number): TimeFrame {
  const rows = days * 24;
  const time = Float64Array.from({ length: rows }, (_, i) => Date.UTC(2024, 0, 1) + i * STEP_MS);
  const y = Float64Array.from({ length: rows }, (_, i) => 5 + 2 * Math.sin((2 * Math.PI * (i % 24)) / 24) + 0.01 * i);
  return { time, columns: ['y'], values: { y } };
}

describe('core > forecast > baseline models', () => {
  it('SNAIVE repeats the value one day before each forecast step', async () => {
    const frame = dailySeries(4);
    expect(dailyPeriod(frame.time)).toBe(24);
    const window = seasonalNaiveWindow(['y'], 2, 24);
    const set = buildWindows(frame, window);
    const predicted = await createSeasonalNaiveModel(window).predict({ windows: set.x, size: set.size, forecastTimes: set.forecastTimes });
    for (let w = 0; w < set.size; w++) {
      for (let h = 0; h < 2; h++) expect(predicted[w * 2 + h]).toBeCloseTo(frame.values.y[w + h], 5);
    }
    expect(() => seasonalNaiveWindow(['y'], 25, 24)).toThrow(/at most one season/);
  });

  it('MSTL learns the daily season and beats persistence on a seasonal series', async () => {
    const frame = dailySeries(8);
    const window = mstlWindow(['y'], 1);
    const { model, artifact } = fitMstlModel(frame, 6 * 24, window);
    expect(artifact.period).toBe(24);
    // The season's swing (4 from trough to peak) is in the profile.
    expect(Math.max(...artifact.profiles.y) - Math.min(...artifact.profiles.y)).toBeGreaterThan(3);
    const set = buildWindows(frame, window, 6 * 24);
    const batch = { windows: set.x, size: set.size, forecastTimes: set.forecastTimes };
    const mstl = computeMetrics(set.y, await model.predict(batch));
    const naive = computeMetrics(set.y, await createNaiveModel(window).predict(batch));
    expect(mstl.rmse).toBeLessThan(naive.rmse / 2);
  });
});
