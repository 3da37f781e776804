import { describe, expect, it } from 'vitest';
import { SCALER_METHODS } from '../config/specs/preprocess.js';
import { fitScaler, scaleColumn } from '../data/scaler.js';
import type { ForecastModel, WindowSpec } from './forecast-model.js';
import { createNaiveModel } from './naive-model.js';
import { targetFloorsOf, targetFloorsProblem, withTargetFloors } from './target-floors.js';

const WINDOW: WindowSpec = { features: ['down', 'temp'], targets: ['down', 'temp'], inputSeqLen: 2, outputSeqLen: 1 };

describe('core > models > target-floors', () => {
  it('floors each target that never went negative at its scaled 0, and none where a value was negative', () => {
    const frame = { time: Float64Array.of(0, 1, 2), columns: ['down', 'temp'], values: { down: Float64Array.of(10, 30, 50), temp: Float64Array.of(-5, 0, 15) } };
    const scaler = fitScaler('MinMaxScaler', frame);
    const scaled = { ...frame, values: { down: Float64Array.of(0, 0.5, 1), temp: Float64Array.of(0, 0.25, 1) } };
    const floors = targetFloorsOf(scaled, ['down', 'temp', 'absent'], scaler);
    expect(Object.keys(floors)).toEqual(['down']);
    // MinMax over [10, 50]: 0 lies a quarter of the range below the minimum.
    expect(floors.down).toBeCloseTo(-0.25, 12);
  });

  it('raises forecasts below a floor to it, in predict and predictSteps, and leaves a model without floors as it is', async () => {
    const naive = createNaiveModel(WINDOW);
    expect(withTargetFloors(naive)).toBe(naive);
    const floored = withTargetFloors(createNaiveModel({ ...WINDOW, targetFloors: { down: -0.25 } }));
    // Two windows; each repeats its last row: down -0.5 (below its floor), temp -0.5 (no floor); then down 0.3.
    const windows = Float32Array.of(0, 0, -0.5, -0.5, 0, 0, 0.3, -0.1);
    const out = await floored.predict({ windows, size: 2, forecastTimes: new Float64Array(2) });
    expect(Array.from(out)).toEqual([-0.25, -0.5, Math.fround(0.3), Math.fround(-0.1)]);

    const stepping: ForecastModel = { ...createNaiveModel({ ...WINDOW, targetFloors: { down: 0 } }), predictSteps: async (_batch, steps) => Float32Array.from({ length: steps * 2 }, (_, i) => (i % 2 === 0 ? -1 : -2)) };
    const steps = await withTargetFloors(stepping).predictSteps?.({ windows: windows.subarray(0, 4), size: 1, forecastTimes: new Float64Array(3) }, 3);
    expect(Array.from(steps ?? [])).toEqual([0, -2, 0, -2, 0, -2]);
  });

  it('leaves a forecast of -Infinity (an overflow) and NaN as they are, for the finiteness check to refuse, and raises only finite forecasts', async () => {
    const floored = withTargetFloors(createNaiveModel({ ...WINDOW, targetFloors: { down: -0.25 } }));
    const windows = Float32Array.of(0, 0, -Infinity, 0, 0, 0, Number.NaN, 0, 0, 0, -3.4e38, 0);
    const out = await floored.predict({ windows, size: 3, forecastTimes: new Float64Array(3) });
    expect(Array.from(out)).toEqual([-Infinity, 0, Number.NaN, 0, -0.25, 0]);
  });

  it('takes the floors training saves, with every scaler, once through JSON', () => {
    // Byte counters: large, never negative, so 0 falls far below the data once scaled.
    const down = Float64Array.from({ length: 500 }, (_, i) => 3e12 + 1e9 * Math.sin(i / 7) + 12_345.678 * i);
    const frame = { time: Float64Array.from(down, (_, i) => i), columns: ['down', 'temp'], values: { down, temp: Float64Array.from(down, (_, i) => (i % 9) / 3) } };
    for (const method of SCALER_METHODS) {
      const scaler = fitScaler(method, frame);
      const scaled = { ...frame, values: { down: scaleColumn(scaler, 'down', down), temp: scaleColumn(scaler, 'temp', frame.values.temp) } };
      const floors = targetFloorsOf(scaled, ['down', 'temp'], scaler);
      expect(Object.keys(floors)).toEqual(['down', 'temp']);
      expect(targetFloorsProblem(JSON.parse(JSON.stringify(floors)), JSON.parse(JSON.stringify(scaler)))).toBeUndefined();
    }
  });

  // Any of these raised (or, for null, moved) every forecast of a loaded run without a word.
  it.each([
    ['a floor above 0', { down: 1e300 }, /has window\.targetFloors\.down 1e\+300, not where 0 falls on its scaler \(-0\.25\)/],
    ['a floor a little above 0', { down: -0.2499 }, /targetFloors\.down -0\.2499, not where 0 falls/],
    ['a floor of text', { down: 'x' }, /targetFloors\.down "x", not where 0 falls/],
    ['a floor of null', { down: null }, /targetFloors\.down null, not where 0 falls/],
    ['a floor of a column the scaler lacks', { up: 0 }, /targetFloors\.up, a column its scaler does not scale/],
    ['floors of a list', [0], /window\.targetFloors that is not an object of numbers/],
  ])('refuses %s', (_damage, floors, message) => {
    // MinMax over [10, 50]: 0 falls at -0.25.
    const scaler = { method: 'MinMaxScaler' as const, columns: ['down'], offset: [10], scale: [40] };
    expect(targetFloorsProblem(floors, scaler)).toMatch(message);
  });
});
