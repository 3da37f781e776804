import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { addLoadableRun } from '../workflows/loadable-run.fixture.js';
import { loadRunForServing } from './load-run.js';
import { readRunNetworkWeights } from './run-artifacts.js';
import { fakeRun } from './run-record.fixture.js';
import { readRunRecord } from './run-store.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-load-run-'));
const store = createFsStore(root);
const settings = defaultSettings();
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

const metrics = { rmse: 0.1, mae: 0.1, mse: 0.01 };
const lstm = fakeRun('lstm', 'LSTM', metrics, '2025-01-01T00:00:00.000Z');
const naive = fakeRun('naive', 'NAIVE', metrics, '2025-01-01T00:00:00.000Z');

beforeEach(async () => {
  await addLoadableRun(store, settings, lstm);
  await addLoadableRun(store, settings, naive);
});

async function truncate(key: string, bytes: number): Promise<void> {
  await store.put('runs', key, (await store.get('runs', key)).subarray(0, bytes));
}

describe('core > registry > loadRunForServing on damaged run files', () => {
  it('loads the intact runs', async () => {
    expect((await loadRunForServing(store, settings, 'lstm')).run.run_id).toBe('lstm');
    expect((await loadRunForServing(store, settings, 'naive')).run.run_id).toBe('naive');
  });

  it('refuses weights cut short as FLTS_RUN_CORRUPT, on the tfjs path and the plain-weights path alike', async () => {
    await truncate('lstm/model/weights.bin', 20);
    await expect(loadRunForServing(store, settings, 'lstm')).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('lstm/model/model.json does not load with its weights') });
    await expect(readRunNetworkWeights(store, settings, await readRunRecord(store, settings, 'lstm'))).rejects.toMatchObject({
      code: 'FLTS_RUN_CORRUPT',
      message: expect.stringMatching(/weights\.bin has 20 bytes where model\.json lists \d+/),
    });
  });

  it.each([
    ['lstm/model/model.json', 'truncated', /model\.json is not valid JSON/],
    ['lstm/scaler.json', '{}', /scaler\.json lacks columns, offset or scale/],
    ['lstm/intervals.json', '{"errors": 1}', /intervals\.json is not an interval calibration/],
    ['naive/model/naive.json', '{}', /naive\.json has no window/],
    ['naive/scaler.json', '{"columns": ["down"], "off', /scaler\.json is not valid JSON/],
  ])('refuses %s when it is %s', async (key, body, message) => {
    if (body === 'truncated') await truncate(key, 40);
    else await store.put('runs', key, body);
    await expect(loadRunForServing(store, settings, key.split('/')[0])).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(message) });
  });
});
