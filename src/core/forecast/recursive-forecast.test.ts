import { describe, expect, it } from 'vitest';
import { identityScaler, type ScalerParams } from '../data/scaler.js';
import type { WindowSpec } from '../models/forecast-model.js';
import { TIME_FEATURE_COLUMNS, timeFeatureValues } from '../preprocess/time-features.js';
import { createFeaturePlan } from './feature-plan.js';
import { forecastFromHistory, historyFromFrame } from './recursive-forecast.js';

const STEP = 60_000;
const T0 = Date.UTC(2018, 1, 6);

/** Windows seen by the "model", which predicts 1000 + call * 10 + step for every target. */
function recorder(window: WindowSpec) {
  const seen: Float32Array[] = [];
  const predict = async (windows: Float32Array) => {
    seen.push(windows.slice());
    const call = seen.length;
    return Float32Array.from({ length: window.outputSeqLen * window.targets.length }, (_, i) => 1000 + call * 10 + Math.floor(i / window.targets.length));
  };
  return { seen, predict };
}

describe('core > forecast > recursive-forecast', () => {
  const window: WindowSpec = { inputSeqLen: 3, outputSeqLen: 1, features: ['down', 'up', TIME_FEATURE_COLUMNS[0]], targets: ['down'] };
  const plan = createFeaturePlan(window, { method: 'MinMaxScaler', columns: ['down', 'up'], offset: [5, 0], scale: [2, 4] });
  const frame = { time: Float64Array.from([0, 1, 2, 3], (i) => T0 + i * STEP), columns: ['down', 'up'], values: { down: Float64Array.from([7, 9, 11, 13]), up: Float64Array.from([4, 8, 12, 16]) } };

  it('scales raw rows, computes time features and keeps the last inputSeqLen rows', () => {
    const history = historyFromFrame(plan, frame, STEP, false);
    expect([...history.time]).toEqual([1, 2, 3].map((i) => T0 + i * STEP));
    const row0 = [...history.rows.slice(0, 3)];
    expect(row0[0]).toBeCloseTo((9 - 5) / 2);
    expect(row0[1]).toBeCloseTo(8 / 4);
    expect(row0[2]).toBeCloseTo(timeFeatureValues(T0 + STEP)[0]);
  });

  it('feeds predictions back beyond the horizon: targets predicted, other features carried, time features recomputed', async () => {
    const history = historyFromFrame(plan, frame, STEP, false);
    const { seen, predict } = recorder(window);
    const result = await forecastFromHistory(plan, history, 3, predict);
    expect(result.recursive).toBe(true);
    expect(result.forwardPasses).toBe(3);
    expect([...result.time]).toEqual([4, 5, 6].map((i) => T0 + i * STEP));
    expect([...result.values[0]]).toEqual([1010, 1020, 1030].map((scaled) => scaled * 2 + 5));
    const second = [...seen[1]];
    // Rows 2 and 3 of the input, then the first prediction (scaled), "up" carried, its own minute of day.
    expect(second.slice(0, 6)).toEqual([...seen[0].slice(3, 9)]);
    expect(second[6]).toBe(1010);
    expect(second[7]).toBe(seen[0][7]);
    expect(second[8]).toBeCloseTo(timeFeatureValues(T0 + 4 * STEP)[0], 6);
  });

  it('forecasts a floored target at its floor as 0 in original units, not the little below 0 its float32 floor unscales to', async () => {
    // The example data's scaler for down: the floor where 0 falls, held as a float32 by the model's output.
    const scaler: ScalerParams = { method: 'MinMaxScaler', columns: ['down'], offset: [10_000_000], scale: [680_170_667] };
    const floor = (0 - 10_000_000) / 680_170_667;
    const floored: WindowSpec = { inputSeqLen: 2, outputSeqLen: 2, features: ['down'], targets: ['down'], targetFloors: { down: floor } };
    const flooredPlan = createFeaturePlan(floored, scaler);
    const history = historyFromFrame(flooredPlan, frame, STEP, false);
    const atFloor = async (_windows: Float32Array, _times: Float64Array, _size: number, _spreads?: Float64Array, steps = 2) => new Float32Array(steps).fill(floor);
    expect(Math.fround(floor) * 680_170_667 + 10_000_000).toBeLessThan(-0.01);
    for (const direct of [false, true]) {
      const result = await forecastFromHistory(flooredPlan, history, 3, atFloor, undefined, direct);
      expect([...result.values[0]]).toEqual([0, 0, 0]);
    }
    // A target without a floor is unscaled as it is, below 0 included.
    const free = createFeaturePlan({ ...floored, targetFloors: undefined }, scaler);
    const result = await forecastFromHistory(free, historyFromFrame(free, frame, STEP, false), 1, atFloor);
    expect(result.values[0][0]).toBeCloseTo(Math.fround(floor) * 680_170_667 + 10_000_000, 6);
  });

  it('keeps only the newest predicted rows when the horizon is longer than the input window', async () => {
    const long: WindowSpec = { inputSeqLen: 2, outputSeqLen: 3, features: ['down'], targets: ['down'] };
    const longPlan = createFeaturePlan(long, identityScaler(['down']));
    const history = historyFromFrame(longPlan, frame, STEP, false);
    const { seen, predict } = recorder(long);
    const result = await forecastFromHistory(longPlan, history, 5, predict);
    expect(result.forwardPasses).toBe(2);
    expect([...result.values[0]]).toEqual([1010, 1011, 1012, 1020, 1021]);
    expect([...seen[1]]).toEqual([1011, 1012]);
  });

  it('rejects fewer rows than the input window', () => {
    const short = { ...frame, time: frame.time.slice(0, 2), values: { down: frame.values.down.slice(0, 2), up: frame.values.up.slice(0, 2) } };
    expect(() => historyFromFrame(plan, short, STEP, false)).toThrow(/Too few rows: 2 given, the model needs at least 3/);
  });
});
