import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleInferenceClaim } from '../../src/core/batch/inference-claim-handler.js';
import { runBatchInference, type BatchInferenceResult } from '../../src/core/batch/run-batch-inference.js';
import type { DataClaim } from '../../src/core/bus/index.js';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { encodeFrameParquet } from '../../src/core/data/frame-parquet.js';
import { inverseScaleColumn } from '../../src/core/data/scaler.js';
import type { TimeFrame } from '../../src/core/data/time-frame.js';
import { loadProcessedData, type ProcessedData } from '../../src/core/preprocess/processed-data.js';
import { processedKeys } from '../../src/core/preprocess/processed-layout.js';
import { runPreprocess } from '../../src/core/preprocess/run-preprocess.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { trainModels } from '../../src/core/workflows/train.js';
import { createSliceHome, type SliceHome, writeRootPointer } from '../helpers/poblesec-slice.js';

async function storedTable(store: ObjectStore, result: BatchInferenceResult): Promise<Record<string, unknown>[]> {
  return pl.readParquet(await store.get(result.forecast_bucket, result.forecast_key)).toRecords() as Record<string, unknown>[];
}

/** The processed rows back in original units, with the scaler of their own version. */
function originalUnits(data: ProcessedData): TimeFrame {
  const values: Record<string, Float64Array> = {};
  for (const column of data.test.columns) {
    values[column] = data.scaler.columns.includes(column) ? inverseScaleColumn(data.scaler, column, data.test.values[column]) : data.test.values[column];
  }
  return { time: data.test.time, columns: data.test.columns, values };
}

describe('batch > an inference-data claim is read as the data version it names', () => {
  let slice: SliceHome;
  let store: ObjectStore;
  let settingsA: Settings;
  let lstm: RunRecord;
  let versionA: ProcessedData;
  let versionB: ProcessedData;
  let beforeB: BatchInferenceResult;

  const claim = (configHash: string): DataClaim => ({ bucket: settingsA.store.buckets.processed, object: processedKeys(settingsA).testParquet, size: 0, configHash, identifier: '' });

  beforeAll(async () => {
    slice = createSliceHome('flts-claim-version-', { 'training.models': ['LSTM'], 'batch.chunkSize': 64 });
    ({ store, settings: settingsA } = slice);
    await runPreprocess(settingsA, { store });
    [lstm] = (await trainModels({ models: ['LSTM'] }, settingsA, { store })).runs;
    await writeRootPointer(store, settingsA, lstm);
    versionA = await loadProcessedData(store, settingsA);
    beforeB = await handleInferenceClaim(claim(lstm.config_hash), { settings: settingsA, store });

    // A second data version of the same rows on another scale becomes the latest; the run stays on version A.
    const settingsB = resolveSettings({ flags: { ...slice.flags, 'preprocess.scaling.method': 'StandardScaler' } }).settings;
    await runPreprocess(settingsB, { store });
    versionB = await loadProcessedData(store, settingsB);
  }, 120_000);

  afterAll(() => slice?.remove());

  it('has two versions whose scalers differ', () => {
    expect(versionB.configHash).not.toBe(versionA.configHash);
    expect(versionA.configHash).toBe(lstm.config_hash);
    expect(versionB.scaler.offset).not.toEqual(versionA.scaler.offset);
  });

  it('forecasts a claim of another version than the run\'s as that version\'s rows in original units', async () => {
    const claimed = await handleInferenceClaim(claim(versionB.configHash), { settings: settingsA, store });
    expect(claimed).toMatchObject({ run_id: lstm.run_id, scaled_input: false });

    const rawFile = path.join(slice.home, 'version-b-original-units.parquet');
    writeFileSync(rawFile, encodeFrameParquet(originalUnits(versionB)));
    const raw = await runBatchInference(settingsA, { store }, { data: rawFile, scale: 'raw' });
    expect(raw.prediction_hash).toBe(claimed.prediction_hash);
    expect(raw.metrics).toEqual(claimed.metrics);

    // What a claim used to get: version B's scaled rows read as if they were on the run's scale.
    const misread = 'misread/version-b.parquet';
    await store.put(settingsA.store.buckets.processed, misread, encodeFrameParquet(versionB.test));
    const old = await runBatchInference(settingsA, { store }, { data: { bucket: settingsA.store.buckets.processed, key: misread } });
    expect(old.scaled_input).toBe(true);
    const [oldRows, newRows] = [await storedTable(store, old), await storedTable(store, claimed)];
    expect(oldRows.length).toBe(newRows.length);
    const worst = Math.max(...newRows.map((row, r) => Math.abs((row.down as number) - (oldRows[r].down as number)) / Math.abs(row.down as number)));
    expect(worst).toBeGreaterThan(0.01);
  }, 60_000);

  it('forecasts a claim of the run\'s version from that version\'s copy, also after a newer preprocess replaced the latest data', async () => {
    expect(beforeB.scaled_input).toBe(true);
    const after = await handleInferenceClaim(claim(lstm.config_hash), { settings: settingsA, store });
    expect(after).toMatchObject({ status: 'duplicate', prediction_hash: beforeB.prediction_hash, scaled_input: true });
  }, 60_000);

  it('reads `<bucket>/<key>` of processed data as the version the key names, as a claim does', async () => {
    const bucket = settingsA.store.buckets.processed;
    const latest = await runBatchInference(settingsA, { store }, { data: { bucket, key: processedKeys(settingsA).testParquet } });
    const claimed = await handleInferenceClaim(claim(versionB.configHash), { settings: settingsA, store });
    expect(latest.prediction_hash).toBe(claimed.prediction_hash);
    const versioned = await runBatchInference(settingsA, { store }, { data: { bucket, key: processedKeys(settingsA, lstm.config_hash).testParquet } });
    expect(versioned.prediction_hash).toBe(beforeB.prediction_hash);
  }, 60_000);

  it('refuses a claim whose version is gone rather than forecast another one', async () => {
    await expect(handleInferenceClaim(claim('f'.repeat(64)), { settings: settingsA, store })).rejects.toMatchObject({ code: 'FLTS_DATA_VERSION_GONE' });
  });
});
