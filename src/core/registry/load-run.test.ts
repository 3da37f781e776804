import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { addLoadableRun } from '../workflows/loadable-run.fixture.js';
import { loadRunForServing } from './load-run.js';
import type { MstlArtifact } from '../models/mstl-model.js';
import { MODEL_ARTIFACT_FILES, readRunNetworkWeights, saveModelJson } from './run-artifacts.js';
import { fakeRun } from './run-record.fixture.js';
import { readRunRecord } from './run-store.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-load-run-'));
const store = createFsStore(root);
const settings = defaultSettings();
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

const metrics = { rmse: 0.1, mae: 0.1, mse: 0.01 };
const lstm = fakeRun('lstm', 'LSTM', metrics, '2025-01-01T00:00:00.000Z');
const naive = fakeRun('naive', 'NAIVE', metrics, '2025-01-01T00:00:00.000Z');
const mstl = fakeRun('mstl', 'MSTL', metrics, '2025-01-01T00:00:00.000Z');
const HOUR = 3_600_000;
const mstlArtifact: MstlArtifact = { format: 'flts-mstl-v1', period: 24, cadenceMs: HOUR, profiles: { down: Array.from({ length: 24 }, (_, i) => i / 100) }, window: mstl.window };

beforeEach(async () => {
  await addLoadableRun(store, settings, lstm);
  await addLoadableRun(store, settings, naive);
  await addLoadableRun(store, settings, mstl);
  await saveModelJson(store, settings, 'mstl', MODEL_ARTIFACT_FILES.MSTL, mstlArtifact);
  // A calibration is optional and the fixture writes none: one a test wrote goes with it.
  for (const run of ['lstm', 'naive', 'mstl']) await store.delete('runs', `${run}/intervals.json`);
});

/** Rewrites one JSON file of a run with `edit` applied. */
async function editJson(key: string, edit: (value: any) => void): Promise<void> {
  const value = JSON.parse((await store.get('runs', key)).toString('utf8'));
  edit(value);
  await store.put('runs', key, JSON.stringify(value));
}

async function truncate(key: string, bytes: number): Promise<void> {
  await store.put('runs', key, (await store.get('runs', key)).subarray(0, bytes));
}

describe('core > registry > loadRunForServing on damaged run files', () => {
  it('loads the intact runs', async () => {
    expect((await loadRunForServing(store, settings, 'lstm')).run.run_id).toBe('lstm');
    expect((await loadRunForServing(store, settings, 'naive')).run.run_id).toBe('naive');
    expect((await loadRunForServing(store, settings, 'mstl')).run.run_id).toBe('mstl');
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

  // Each of these was FLTS_INTERNAL (or, for the horizon of 0, a predict that never ended) before they were checked.
  it.each([
    ['naive/model/naive.json', 'a horizon of 0', (v: any) => (v.window.outputSeqLen = 0), /naive\.json has a window that is not its run's/],
    ['naive/model/naive.json', 'a window of -1 rows', (v: any) => (v.window.inputSeqLen = -1), /naive\.json has a window that is not its run's/],
    ['naive/run.json', 'a horizon of 2^31', (v: any) => (v.window.outputSeqLen = 2 ** 31), /window\.outputSeqLen is over 10000/],
    ['mstl/model/mstl.json', 'a period of 2^31', (v: any) => (v.period = 2 ** 31), /mstl\.json has no 2147483648 finite seasonal values for target "down"/],
    ['mstl/model/mstl.json', 'a cadence of 0', (v: any) => (v.cadenceMs = 0), /mstl\.json has no cadence between 1 ms and a day/],
    ['mstl/model/mstl.json', 'a profile of text', (v: any) => (v.profiles.down = 'x'), /mstl\.json has no 24 finite seasonal values/],
    ['naive/scaler.json', 'a scale of 0', (v: any) => (v.scale = [0]), /scaler\.json has an offset or a scale that is not a finite number \(or a scale of 0\)/],
    ['naive/scaler.json', 'an offset of null', (v: any) => (v.offset = [null]), /scaler\.json has an offset or a scale that is not a finite number/],
    ['naive/intervals.json', 'errors of text', (v: any) => (v.errors = { down: [['x']] }), /intervals\.json has errors that are not steps of numbers/],
    ['mstl/intervals.json', 'a season without its target', (v: any) => (v.season = { period: 24, cadenceMs: HOUR, profiles: {} }), /intervals\.json has no 24 finite seasonal values/],
    ['lstm/model/model.json', 'a negative weight size', (v: any) => (v.weightsManifest[0].weights[0].shape = [-1, 16]), /model\.json lists weight "\S+" without a shape of non-negative integer sizes/],
    ['lstm/model/model.json', 'a weight size of text', (v: any) => (v.weightsManifest[0].weights[0].shape = 'x'), /without a shape of non-negative integer sizes/],
    ['lstm/run.json', 'a window of another width', (v: any) => (v.window.features = ['down', 'up']), /model\.json reads 2 x 1 values and writes 1 where its run's window reads 2 x 2 and writes 1/],
  ])('refuses %s with %s as FLTS_RUN_CORRUPT', async (key, _damage, edit, message) => {
    if (!(await store.exists('runs', key))) await store.put('runs', key, JSON.stringify({ format: 'flts-conformal-v1', errors: { down: [[0.1]] }, floors: { down: 0 } }));
    await editJson(key, edit);
    await expect(loadRunForServing(store, settings, key.split('/')[0])).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(message) });
  });

  it('refuses a damaged model.json on the plain-weights path as on the tfjs path', async () => {
    await editJson('lstm/model/model.json', (v) => (v.weightsManifest[0].weights[0].shape = [-1, 16]));
    await expect(readRunNetworkWeights(store, settings, lstm)).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/without a shape of non-negative integer sizes/) });
    await addLoadableRun(store, settings, lstm);
    await editJson('lstm/run.json', (v) => (v.window.outputSeqLen = 3));
    await expect(readRunNetworkWeights(store, settings, await readRunRecord(store, settings, 'lstm'))).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/writes 1 where its run's window reads 2 x 1 and writes 3/) });
    // Serving's plain-weights path sized its buffers by the record's window: 2^31 rows failed as FLTS_INTERNAL.
    await editJson('lstm/run.json', (v) => Object.assign(v.window, { outputSeqLen: 1, inputSeqLen: 2 ** 31 }));
    await expect(readRunNetworkWeights(store, settings, await readRunRecord(store, settings, 'lstm'))).rejects.toMatchObject({ code: 'FLTS_RUN_CORRUPT', message: expect.stringMatching(/reads 2 x 1 values and writes 1 where its run's window reads 2147483648 x 1/) });
  });

  it('takes a directory in place of a run file for a missing file, not a failure of flts', async () => {
    rmSync(path.join(root, 'runs', 'naive', 'scaler.json'));
    mkdirSync(path.join(root, 'runs', 'naive', 'scaler.json'));
    await expect(loadRunForServing(store, settings, 'naive')).rejects.toMatchObject({ code: 'FLTS_MODEL_ARTIFACT_MISSING' });
    rmSync(path.join(root, 'runs', 'naive', 'scaler.json'), { recursive: true });
  });
});
