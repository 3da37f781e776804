import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createIntervalSource, forecastIntervals } from '../forecast/forecast-intervals.js';
import type { WindowSpec } from '../models/forecast-model.js';
import type { IntervalCalibration } from '../models/prediction-intervals.js';
import { buildPredictResponse } from './prediction-response.js';
import type { PredictionResult } from './run-prediction.js';
import { predictSchema } from './schemas/predict.js';

const WINDOW: WindowSpec = { features: ['down'], targets: ['down'], inputSeqLen: 3, outputSeqLen: 1 };
const T0 = Date.UTC(2024, 0, 10);

describe('core > serve > prediction-response', () => {
  it('answers a level the run had too few calibration windows for with [null, null], through the /predict response schema', async () => {
    // Five calibration errors bound 0.8 (rank 5) but not 0.95 (needs 19); the target is never negative (lower bound 0).
    const calibration: IntervalCalibration = { format: 'flts-conformal-v1', method: 'split-conformal', calibration: 'training-windows', windows: 5, horizon: 1, scale: 'constant', floors: { down: 0 }, errors: { down: [[1, 2, 3, 4, 5]] }, lowerBounds: { down: 0 } };
    const forecast = { time: Float64Array.from([T0, T0 + 120_000]), values: [Float64Array.from([100, 90])] };
    const intervals = forecastIntervals(await createIntervalSource(calibration, [0.8, 0.95]), WINDOW, Float32Array.from([1, 2, 3]), forecast);
    expect(intervals[0]!.down['0.8']).toEqual([95, 105]);
    expect(intervals[0]!.down['0.95']).toEqual([Number.NaN, Number.NaN]);
    expect(intervals[1]).toBeNull();

    const result = { run: { runId: 'r1', modelType: 'GRU', configHash: 'c'.repeat(64) }, targets: ['down'], horizon: 1, forecast, intervals, source: 'stored-test-data', modelMs: 0 } as unknown as PredictionResult;
    const app = Fastify();
    app.post('/predict', { schema: { response: { 200: predictSchema.response[200] } } }, async () => buildPredictResponse(result, '', 'req'));
    try {
      const response = await app.inject({ method: 'POST', url: '/predict' });
      expect(response.statusCode, response.body).toBe(200);
      const [first, second] = response.json().predictions;
      expect(first.intervals).toEqual({ down: { '0.8': [95, 105], '0.95': [null, null] } });
      expect(second).not.toHaveProperty('intervals');
    } finally {
      await app.close();
    }
  });
});
