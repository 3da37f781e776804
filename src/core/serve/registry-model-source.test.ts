import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings, type Settings } from '../config/settings.js';
import type { TimeFrame } from '../data/time-frame.js';
import { loadProcessedData } from '../preprocess/processed-data.js';
import { runPreprocess } from '../preprocess/run-preprocess.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { recordingStore } from '../storage/recording-store.fixture.js';
import { createRegistryModelSource } from './registry-model-source.js';

const BUCKET = 'processed-data';
const TRAIN_PARQUET = /(^|\/)processed_data\.parquet$/;

/** `rows` rows two minutes apart from 2018-02-05 00:00, the first `from` steps later. */
function csv(rows: number, from = 0): string {
  const lines = ['time,down,up'];
  for (let i = 0; i < rows; i++) {
    const t = new Date(Date.UTC(2018, 1, 5) + (from + i) * 120_000).toISOString().slice(0, 19).replace('T', ' ');
    lines.push(`${t},${100 + ((i * 37) % 50)},${i % 11}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The frame as bits: a served window cut from it forecasts the same only when every float is the same. */
function bits(frame: TimeFrame): Record<string, string> {
  const hex = (array: Float64Array): string => Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('hex');
  return Object.fromEntries([['time', hex(frame.time)], ...frame.columns.map((column) => [column, hex(frame.values[column]!)])]);
}

let dir: string;
let store: ObjectStore;

function settingsFor(flags: Record<string, unknown> = {}): Settings {
  return resolveSettings({ flags: { 'data.dataDir': dir, 'data.trainFile': 'train.csv', 'data.testFile': 'test.csv', ...flags } }).settings;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flts-registry-source-'));
  writeFileSync(path.join(dir, 'train.csv'), csv(60));
  writeFileSync(path.join(dir, 'test.csv'), csv(20, 100));
  store = createFsStore(path.join(dir, 'store'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > serve > registry model source > loadTestFrame', () => {
  it('reads the sidecar and the test Parquet only, and gives the test frame training reads', async () => {
    const { configHash } = await runPreprocess(settingsFor(), { store });
    const expected = bits((await loadProcessedData(store, settingsFor(), { configHash })).test);
    const { store: recorded, calls } = recordingStore(store);
    const frame = await createRegistryModelSource(recorded, settingsFor()).loadTestFrame(configHash);
    expect(bits(frame)).toEqual(expected);
    expect(calls.filter((call) => call.key !== undefined && TRAIN_PARQUET.test(call.key))).toEqual([]);
    expect(calls.filter((call) => call.method === 'get').map((call) => call.key)).toEqual([`${configHash}/processed_data.meta.json`, `${configHash}/test_processed_data.parquet`]);
  });

  it('serves the test frame of a version whose training Parquet is gone', async () => {
    const { configHash } = await runPreprocess(settingsFor(), { store });
    const expected = bits((await loadProcessedData(store, settingsFor(), { configHash })).test);
    await store.delete(BUCKET, `${configHash}/processed_data.parquet`);
    await store.delete(BUCKET, 'processed_data.parquet');
    expect(bits(await createRegistryModelSource(store, settingsFor()).loadTestFrame(configHash))).toEqual(expected);
  });

  it('still refuses a version not processed, a test Parquet missing, and one of another write (FLTS_DATA_NOT_PROCESSED)', async () => {
    const source = createRegistryModelSource(store, settingsFor());
    await expect(source.loadTestFrame('f'.repeat(64))).rejects.toMatchObject({ code: 'FLTS_DATA_NOT_PROCESSED', message: expect.stringContaining('No processed data') });
    await expect(source.loadTestFrame('../x')).rejects.toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE' });

    const a = await runPreprocess(settingsFor(), { store });
    const b = await runPreprocess(settingsFor({ 'data.sampleTrainRows': 30 }), { store });
    expect(b.configHash).not.toBe(a.configHash);
    await store.put(BUCKET, `${a.configHash}/test_processed_data.parquet`, await store.get(BUCKET, `${b.configHash}/test_processed_data.parquet`));
    await expect(source.loadTestFrame(a.configHash)).rejects.toMatchObject({
      code: 'FLTS_DATA_NOT_PROCESSED',
      message: expect.stringMatching(/mixed.*test_processed_data\.parquet.*preprocess.*again/),
    });
    await store.delete(BUCKET, `${a.configHash}/test_processed_data.parquet`);
    await expect(source.loadTestFrame(a.configHash)).rejects.toMatchObject({
      code: 'FLTS_DATA_NOT_PROCESSED',
      message: expect.stringContaining(`incomplete: ${BUCKET}/${a.configHash}/test_processed_data.parquet is missing`),
    });
  });
});
