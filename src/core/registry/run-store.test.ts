import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { fakeRun } from './run-record.fixture.js';
import { findRunRecord, listRunRecords, readRunRecord, saveRunRecord } from './run-store.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-runs-'));
const store = createFsStore(root);
const settings = defaultSettings();
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > registry > run-store', () => {
  it('saves, reads and lists run records by config_hash, oldest first, ignoring other objects', async () => {
    await saveRunRecord(store, settings, fakeRun('late', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2025-02-01T00:00:00.000Z'));
    await saveRunRecord(store, settings, fakeRun('early', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2025-01-01T00:00:00.000Z'));
    await saveRunRecord(store, settings, fakeRun('other', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2025-01-15T00:00:00.000Z', 'SUCCESS', 'd'.repeat(64)));
    await store.put('runs', 'early/model/run.json', '{"not":"a record"}');
    expect((await listRunRecords(store, settings, { configHash: 'c'.repeat(64) })).map((r) => r.run_id)).toEqual(['early', 'late']);
    expect((await listRunRecords(store, settings)).map((r) => r.run_id)).toEqual(['early', 'other', 'late']);
    expect((await readRunRecord(store, settings, 'late')).model_type).toBe('GRU');
  });

  it('reports unknown and malformed run ids as not found', async () => {
    expect(await findRunRecord(store, settings, 'missing')).toBeUndefined();
    await expect(readRunRecord(store, settings, 'missing')).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_FOUND' });
    await expect(readRunRecord(store, settings, '../escape')).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_FOUND' });
  });
});
