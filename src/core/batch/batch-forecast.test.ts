import { describe, expect, it } from 'vitest';
import type { ScalerParams } from '../data/scaler.js';
import { createFeaturePlan } from '../forecast/feature-plan.js';
import type { WindowSpec } from '../models/forecast-model.js';
import { createNaiveModel } from '../models/naive-model.js';
import { forecastEveryWindow } from './batch-forecast.js';

const WINDOW: WindowSpec = { inputSeqLen: 2, outputSeqLen: 1, features: ['down'], targets: ['down'] };
const SCALER: ScalerParams = { method: 'MinMaxScaler', columns: ['down'], offset: [0], scale: [1] };

describe('core > batch > batch-forecast', () => {
  it('reports the windows done at each tenth of them, also inside a chunk longer than a tenth, and at each chunk end', async () => {
    // 1,431 windows in chunks of 256 (the default): each chunk steps over a tenth (143 windows) or two.
    const rows = 1432;
    const time = Float64Array.from({ length: rows }, (_, i) => Date.UTC(2026, 0, 1) + i * 60_000);
    const frame = { time, columns: ['down'], values: { down: Float64Array.from({ length: rows }, (_, i) => i) } };
    const reported: number[] = [];
    const forecast = await forecastEveryWindow(createFeaturePlan(WINDOW, SCALER), createNaiveModel(WINDOW), { frame, scaled: false, cadenceMs: 60_000, warnings: [], source: 'test' }, {
      chunkSize: 256,
      onChunk: (done, total) => (expect(total).toBe(1431), reported.push(done)),
    });
    expect(forecast.windows).toBe(1431);
    const tenths = [144, 287, 430, 573, 716, 859, 1002, 1145, 1288];
    const chunkEnds = [256, 512, 768, 1024, 1280, 1431];
    expect(reported).toEqual([...tenths, ...chunkEnds].sort((a, b) => a - b));
    // The forward passes stay chunks of 256: the forecasts do not change with the progress.
    expect(forecast.forwardPasses).toBe(6);
  });
});
