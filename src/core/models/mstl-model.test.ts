import { describe, expect, it } from 'vitest';
import { createRandom } from '../data/seeded-random.js';
import type { WindowSpec } from './forecast-model.js';
import { createMstlModel, smoothingScales } from './mstl-model.js';

const STEP_MS = 120_000;
const WINDOW: WindowSpec = { features: ['a', 'b'], targets: ['a', 'b'], inputSeqLen: 30, outputSeqLen: 3 };

describe('core > models > mstl-model', () => {
  it("reports each window's smoothing spread from the fit that forecasts it, as the scale computed from the window alone", async () => {
    const random = createRandom(17);
    const season = { period: 720, cadenceMs: STEP_MS, profiles: { a: Array.from({ length: 720 }, (_, k) => Math.sin(k / 50)), b: new Array<number>(720).fill(0.5) } };
    const model = createMstlModel({ format: 'flts-mstl-v1', ...season, window: WINDOW });
    const size = 6;
    const windows = new Float32Array(size * 30 * 2);
    const levels = [0, 0];
    for (let i = 0; i < windows.length; i++) windows[i] = levels[i % 2] += random() - 0.5;
    const forecastTimes = Float64Array.from({ length: size * 3 }, (_, i) => Date.UTC(2024, 0, 1) + (Math.floor(i / 3) * 40 + (i % 3)) * STEP_MS);
    const spreads = new Float64Array(size * 2);
    const withSpreads = await model.predict({ windows, size, forecastTimes, spreads });
    expect(withSpreads).toEqual(await model.predict({ windows, size, forecastTimes }));
    const firstTimes = Float64Array.from({ length: size }, (_, w) => forecastTimes[w * 3]);
    expect(spreads).toEqual(smoothingScales(season, WINDOW, windows, size, firstTimes));
    expect(Array.from(spreads).every((spread) => spread > 0)).toBe(true);
  });
});
