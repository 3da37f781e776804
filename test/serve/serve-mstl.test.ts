import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Settings } from '../../src/core/config/settings.js';
import { startInferenceService, type InferenceService } from '../../src/core/serve/start-inference-service.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { createTrainedHome, rawTestRows } from '../helpers/poblesec-slice.js';
import { postJson } from './serve-fixtures.js';

describe('serve > a trained MSTL past its horizon', () => {
  let settings: Settings;
  let store: ObjectStore;
  let remove: (() => void) | undefined;
  let service: InferenceService;

  beforeAll(async () => {
    ({ settings, store, remove } = await createTrainedHome('flts-serve-mstl-', ['MSTL'], { 'data.sampleTestRows': 60, 'serve.port': 0, 'serve.pollIntervalMs': 0 }));
    service = await startInferenceService(settings, { store });
  });

  afterAll(async () => {
    await service?.close();
    remove?.();
  });

  it('forecasts every step from the one fit of the request window, not recursively', async () => {
    const data = rawTestRows(40);
    const five = await postJson(`${service.url}/predict`, { data, index_col: 'time', inference_length: 5 });
    expect(five.status).toBe(200);
    expect(five.json).toMatchObject({ model_type: 'MSTL', horizon: 1, inference_length: 5, recursive: false, note: expect.stringContaining('from one fit of the input window') });
    expect(five.json.predictions).toHaveLength(5);
    const one = await postJson(`${service.url}/predict`, { data, index_col: 'time', inference_length: 1 });
    expect(one.json).toMatchObject({ recursive: false });
    expect(one.json.note).toBeUndefined();
    expect(five.json.predictions[0].down).toBe(one.json.predictions[0].down);
  });
});
