import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { addLoadableRun } from '../workflows/loadable-run.fixture.js';
import { MODEL_TYPES } from '../model-types.js';
import { exportRun } from './export-run.js';
import { fakeRun } from './run-record.fixture.js';
import { RUN_FILES } from './run-record.js';
import { runKey, runsBucket } from './run-store.js';

let root: string;
let store: ObjectStore;
let settings: Settings;

beforeEach(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'flts-export-run-'));
  store = createFsStore(root);
  settings = defaultSettings();
  await addLoadableRun(store, settings, fakeRun('gru', 'GRU', { rmse: 0.04, mae: 0.03, mse: 0.0016 }, '2025-01-02T00:00:00.000Z'));
});
afterEach(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > registry > exportRun', () => {
  it('refuses a damaged scaler as a damaged run (FLTS_RUN_CORRUPT naming the object), as serving does, and a missing one as missing', async () => {
    const key = runKey('gru', RUN_FILES.scaler);
    expect((await exportRun(store, settings, 'gru')).bytes.length).toBeGreaterThan(0);
    for (const damaged of [{ columns: 5 }, { columns: ['down'], offset: [0] }, [1, 2], 'text']) {
      await putJson(store, runsBucket(settings), key, damaged);
      await expect(exportRun(store, settings, 'gru')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining(`runs/${key}`) });
    }
    await store.put(runsBucket(settings), key, Buffer.from('{"columns": ['));
    await expect(exportRun(store, settings, 'gru')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('is not valid JSON') });
    await store.delete(runsBucket(settings), key);
    await expect(exportRun(store, settings, 'gru')).rejects.toMatchObject({ code: 'FLTS_MODEL_ARTIFACT_MISSING' });
  });

  it('refuses every model type without a network (NAIVE, SNAIVE, MSTL, PROPHET) with FLTS_EXPORT_UNSUPPORTED naming it', async () => {
    const others = MODEL_TYPES.filter((type) => type !== 'LSTM' && type !== 'GRU');
    expect(others).toEqual(['PROPHET', 'NAIVE', 'SNAIVE', 'MSTL']);
    for (const type of others) {
      await addLoadableRun(store, settings, fakeRun(`run${type}`, type, { rmse: 0.04, mae: 0.03, mse: 0.0016 }, '2025-01-03T00:00:00.000Z'));
      await expect(exportRun(store, settings, `run${type}`)).rejects.toMatchObject({ code: 'FLTS_EXPORT_UNSUPPORTED', kind: 'input', details: { runId: `run${type}`, modelType: type } });
    }
  });
});
