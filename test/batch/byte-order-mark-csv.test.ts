import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBatchInference } from '../../src/core/batch/run-batch-inference.js';
import { loadProcessedData } from '../../src/core/preprocess/processed-data.js';
import { runPreprocess } from '../../src/core/preprocess/run-preprocess.js';
import { createSliceHome, createTrainedHome, DATASETS, type TrainedHome } from '../helpers/poblesec-slice.js';

/**
 * A CSV saved by Excel as "CSV UTF-8" opens with a byte order mark (U+FEFF, the invisible character an identifier
 * refuses): its header is read without it (read-table.ts), so its first column is `time`, not "\uFEFFtime", and the
 * file preprocesses and forecasts as the same file without one. Column names are not held to the identifier's rule.
 */
describe('a CSV opening with a byte order mark reads as the same file without one', () => {
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
  let bomDir: string;
  let trained: TrainedHome;

  beforeAll(async () => {
    bomDir = mkdtempSync(path.join(os.tmpdir(), 'flts-bom-data-'));
    for (const file of ['PobleSec.csv', 'PobleSec_test.csv']) writeFileSync(path.join(bomDir, file), Buffer.concat([BOM, readFileSync(path.join(DATASETS, file))]));
    trained = await createTrainedHome('flts-bom-trained-', ['NAIVE']);
  }, 120_000);

  afterAll(() => {
    trained?.remove();
    rmSync(bomDir, { recursive: true, force: true });
  });

  it('preprocesses to the same processed rows, columns and scaler', async () => {
    const bom = createSliceHome('flts-bom-home-', { 'data.dataDir': bomDir, 'training.models': ['NAIVE'] });
    try {
      expect(readFileSync(path.join(bomDir, 'PobleSec.csv')).subarray(0, 3)).toEqual(BOM);
      const result = await runPreprocess(bom.settings, { store: bom.store });
      expect(result.status).toBe('processed');
      const [withMark, without] = await Promise.all([loadProcessedData(bom.store, bom.settings), loadProcessedData(trained.store, trained.settings)]);
      expect(withMark.columns).toEqual(without.columns);
      expect(withMark.columns).not.toContain('\uFEFFtime');
      expect(withMark.scaler).toEqual(without.scaler);
      for (const part of ['train', 'test'] as const) {
        expect(Array.from(withMark[part].time)).toEqual(Array.from(without[part].time));
        for (const column of without.columns) expect(Array.from(withMark[part].values[column]), `${part}.${column}`).toEqual(Array.from(without[part].values[column]));
      }
    } finally {
      bom.remove();
    }
  }, 60_000);

  it('forecasts the same rows from `flts predict --data`, to the byte', async () => {
    const plainOut = path.join(trained.home, 'plain.csv');
    const bomOut = path.join(trained.home, 'bom.csv');
    const plain = await runBatchInference(trained.settings, { store: trained.store }, { data: path.join(DATASETS, 'PobleSec_test.csv'), outFile: plainOut });
    const withMark = await runBatchInference(trained.settings, { store: trained.store }, { data: path.join(bomDir, 'PobleSec_test.csv'), outFile: bomOut });
    expect(plain.status).toBe('written');
    // The same run and predictions: recorded once, the second found a duplicate of the first.
    expect(withMark).toMatchObject({ status: 'duplicate', prediction_hash: plain.prediction_hash, windows: plain.windows });
    expect(readFileSync(bomOut)).toEqual(readFileSync(plainOut));
  }, 60_000);
});
