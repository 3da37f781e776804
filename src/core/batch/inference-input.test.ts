import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { createFeaturePlan } from '../forecast/feature-plan.js';
import { readTableBytesOffThread } from '../data/read-table-off-thread.js';
import { createFsStore } from '../storage/fs-store.js';
import { inferenceDataRefOf, loadInferenceInput } from './inference-input.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'flts-inference-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { settings } = resolveSettings({ flags: {} });
const store = createFsStore(path.join(dir, 'store'));
const plan = createFeaturePlan({ inputSeqLen: 3, outputSeqLen: 1, features: ['down'], targets: ['down'] }, { method: 'MinMaxScaler', columns: ['down'], offset: [0], scale: [10] });

function file(name: string, minutes: number[]): string {
  const rows = minutes.map((minute, i) => `2018-02-05 10:${String(minute).padStart(2, '0')}:00,${i + 1}`);
  const target = path.join(dir, name);
  writeFileSync(target, `time,down\n${rows.join('\n')}\n`);
  return target;
}

describe('core > batch > inference input', () => {
  it('reads rows in any order, sorted by time, on the run scale it asked for', async () => {
    const input = await loadInferenceInput(store, settings, plan, file('shuffled.csv', [4, 0, 2, 6]), 'raw');
    expect(Array.from(input.frame.values.down)).toEqual([2, 3, 1, 4]);
    expect(input.cadenceMs).toBe(120_000);
    expect(input.scaled).toBe(false);
  });

  // Before: refused as FLTS_REQUEST_INVALID, a file that preprocess reads (merging the repeats) and trains on.
  it('merges rows that repeat a timestamp into their mean, as preprocess reads a file, and says so in its warnings', async () => {
    const input = await loadInferenceInput(store, settings, plan, file('repeated.csv', [0, 2, 2, 4, 6]), 'raw');
    expect(Array.from(input.frame.time, (time) => new Date(time).toISOString().slice(11, 16))).toEqual(['10:00', '10:02', '10:04', '10:06']);
    expect(Array.from(input.frame.values.down)).toEqual([1, 2.5, 4, 5]);
    expect(input.cadenceMs).toBe(120_000);
    expect(input.warnings).toEqual([expect.objectContaining({ code: 'repeated_timestamps', details: { merged_rows: 1 }, message: expect.stringContaining('UTC offset') })]);
    expect(input.warnings[0].message).toMatch(/^The rows of .*repeated\.csv repeat a timestamp: 1 row\(s\) were merged/);
  });

  it('names the columns a file lacks with a data code (not a request\'s), and a hint for files', async () => {
    const target = path.join(dir, 'other.csv');
    writeFileSync(target, 'time,up\n2018-02-05 10:00:00,1\n2018-02-05 10:02:00,2\n2018-02-05 10:04:00,3\n');
    await expect(loadInferenceInput(store, settings, plan, target, 'raw')).rejects.toMatchObject({
      code: 'FLTS_DATA_MISSING_COLUMNS',
      message: expect.stringContaining("lacks column(s) down; read as raw data"),
      hint: expect.stringContaining('--scale'),
    });
  });

  it('names the time of a missing value and points to the imputed processed data, which a file with gaps can be forecast from instead', async () => {
    const target = path.join(dir, 'gap.csv');
    writeFileSync(target, 'time,down\n2018-02-05 10:02:00,2\n2018-02-05 10:00:00,1\n2018-02-05 10:04:00,\n2018-02-05 10:06:00,4\n');
    await expect(loadInferenceInput(store, settings, plan, target, 'raw')).rejects.toMatchObject({
      code: 'FLTS_DATA_MISSING_VALUES',
      message: expect.stringContaining("column 'down' has a missing, NaN or infinite value at 2018-02-05T10:04:00 (row 2 in time order)"),
      hint: expect.stringContaining('--data processed-data/test_processed_data.parquet'),
    });
  });

  it('holds a file or store object to data.maxInputRows, parsed here or on a reading thread', async () => {
    const bounded = { ...settings, data: { ...settings.data, maxInputRows: 3 } };
    const tall = file('tall.csv', [0, 2, 4, 6]);
    const refused = { code: 'FLTS_DATA_TOO_LARGE', details: expect.objectContaining({ rows: 4, limit: 3 }) };
    await expect(loadInferenceInput(store, bounded, plan, tall, 'raw')).rejects.toMatchObject(refused);
    await store.put('inputs', 'tall.csv', readFileSync(tall));
    await expect(loadInferenceInput(store, bounded, plan, { bucket: 'inputs', key: 'tall.csv' }, 'raw', undefined, readTableBytesOffThread)).rejects.toMatchObject(refused);
    await expect(loadInferenceInput(store, settings, plan, tall, 'raw')).resolves.toMatchObject({ scaled: false });
  });

  it('reads a data argument as a local file when it exists or cannot name a bucket, else as <bucket>/<key> in the store', () => {
    const existing = file('here.csv', [0, 2, 4]);
    expect(inferenceDataRefOf(existing)).toBe(existing);
    expect(inferenceDataRefOf('x.csv')).toBe('x.csv');
    for (const local of ['./data/x.csv', '../data/x.csv', '~/data/x.csv', 'Data/x.csv']) expect(inferenceDataRefOf(local)).toBe(local);
    expect(inferenceDataRefOf('processed-data/test_processed_data.parquet')).toEqual({ bucket: 'processed-data', key: 'test_processed_data.parquet', asGiven: 'processed-data/test_processed_data.parquet' });
  });

  it('reports a missing file, or an argument that is neither a file nor an object, as a missing data file that says how to name the data', async () => {
    // Before: './data/x.csv' was refused as the invalid bucket name ".", 'datasets/x.csv' as a missing store object,
    // and 'x.csv' with the hint of preprocess's --train / --test.
    for (const given of ['./data/x.csv', 'datasets/x.csv', 'x.csv', 'processed-data/nope.parquet']) {
      const error = await loadInferenceInput(store, settings, plan, inferenceDataRefOf(given), 'raw').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'FLTS_DATA_FILE_NOT_FOUND', kind: 'not_found', message: expect.stringContaining(given), details: { file: given } });
      expect((error as { hint: string }).hint).toContain('processed-data/test_processed_data.parquet');
      expect((error as { hint: string }).hint).not.toContain('--train');
    }
  });
});
