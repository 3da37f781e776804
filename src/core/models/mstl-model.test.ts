import { describe, expect, it } from 'vitest';
import { createRandom, gaussian } from '../data/seeded-random.js';
import { createFeaturePlan } from '../forecast/feature-plan.js';
import { forecastFromHistory, type PredictWindows } from '../forecast/recursive-forecast.js';
import { predictWindows } from '../forecast/predict-windows.js';
import { predictSteps, withPredict, type WindowSpec } from './forecast-model.js';
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

  it('goes through a long run in short passes with the forecasts and spreads of one pass of every window', async () => {
    const random = createRandom(23);
    const season = { period: 720, cadenceMs: STEP_MS, profiles: { a: Array.from({ length: 720 }, (_, k) => Math.sin(k / 50)), b: new Array<number>(720).fill(0.5) } };
    const model = createMstlModel({ format: 'flts-mstl-v1', ...season, window: WINDOW });
    const most = model.maxChunkWindows!;
    expect(most).toBeLessThan(1024);
    const size = most + 5;
    const x = new Float32Array(size * 30 * 2);
    const levels = [0, 0];
    for (let i = 0; i < x.length; i++) x[i] = levels[i % 2] += random() - 0.5;
    const forecastTimes = Float64Array.from({ length: size * 3 }, (_, i) => Date.UTC(2024, 0, 1) + (Math.floor(i / 3) * 40 + (i % 3)) * STEP_MS);
    const passes: number[] = [];
    // As training wraps it (target floors, input scaling): the bound goes with the model.
    const watched = withPredict(model, (batch) => (passes.push(batch.size), model.predict(batch)), model.predictSteps);
    const spreads = new Float64Array(size * 2);
    const chunked = await predictWindows(watched, { size, x, y: new Float32Array(size * 3 * 2), forecastTimes }, spreads);
    expect(passes).toEqual([most, 5]);
    const oneSpreads = new Float64Array(size * 2);
    expect(chunked).toEqual(await model.predict({ windows: x, size, forecastTimes, spreads: oneSpreads }));
    expect(spreads).toEqual(oneSpreads);
  });
});

describe('core > models > mstl-model > steps past the horizon', () => {
  it("forecasts them in one pass from the window's one fit, where recursion refits on its own forecasts step by step", async () => {
    const window: WindowSpec = { features: ['y'], targets: ['y'], inputSeqLen: 30, outputSeqLen: 1 };
    const profile = Array.from({ length: 720 }, (_, k) => Math.sin(k / 60));
    const model = createMstlModel({ format: 'flts-mstl-v1', period: 720, cadenceMs: STEP_MS, profiles: { y: profile }, window });
    const plan = createFeaturePlan(window, { method: 'MinMaxScaler', columns: ['y'], offset: [0], scale: [1] });
    const passes: number[] = [];
    const predict: PredictWindows = (windows, forecastTimes, size, spreads, steps = 1) => (passes.push(steps), predictSteps(model, { windows, forecastTimes, size, spreads }, steps));
    const random = createRandom(5);
    let level = 0;
    // A window that ends on a climb: the smoothing fits a trend to it.
    const rows = Float32Array.from({ length: 30 }, (_, r) => (level += (r > 20 ? 1 : 0) + 0.3 * gaussian(random)));
    const start = Date.UTC(2024, 0, 1);
    const history = { time: Float64Array.from({ length: 30 }, (_, r) => start + r * STEP_MS), rows, cadenceMs: STEP_MS };

    const direct = await forecastFromHistory(plan, history, 20, predict, undefined, true);
    expect(passes).toEqual([20]);
    expect(direct).toMatchObject({ direct: true, recursive: false, forwardPasses: 1 });
    expect(Array.from(direct.time)).toEqual(Array.from({ length: 20 }, (_, h) => start + (30 + h) * STEP_MS));
    // What the one fit forecasts: the smoothing's 20 steps plus the season at each step's time.
    const oneFit = await model.predictSteps!({ windows: rows, forecastTimes: direct.time, size: 1 }, 20);
    expect(Array.from(direct.values[0])).toEqual(Array.from(oneFit));

    passes.length = 0;
    const recursive = await forecastFromHistory(plan, history, 20, predict);
    expect(passes).toEqual(new Array(20).fill(1));
    expect(recursive.values[0][0]).toBe(direct.values[0][0]);
    expect(recursive.values[0][19]).not.toBe(direct.values[0][19]);
  });
});
