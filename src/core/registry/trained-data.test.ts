import { describe, expect, it } from 'vitest';
import type { ProcessedSidecar } from '../preprocess/processed-layout.js';
import { fakeRun } from './run-record.fixture.js';
import type { RunRecord } from './run-record.js';
import { currentRun, trainedOnData, trainedOnLineage } from './trained-data.js';

const HASH = 'c'.repeat(64);
const input = (sha: string) => ({ train: { file: 'train.csv', sha256: sha, bytes: 10 }, test: { file: 'test.csv', sha256: 'test', bytes: 5 } });

function sidecar(extras: { data_sha256?: string; inputs?: string } = {}): ProcessedSidecar {
  const flts = { version: 'test', fingerprints: input(extras.inputs ?? 'rows-a'), sample_seed: 42, sample_strategy: 'head', scaler: { method: 'MinMaxScaler' as const, columns: [], offset: [], scale: [] }, time_column: 'time', dropped_columns: [], imputed_cells: 0 };
  return {
    identifier: '', source_bucket: 'dataset', train_source_object: 'train.csv', test_source_object: 'test.csv', config: '{}', config_hash: HASH, created_at: '2026-12-01T00:00:00Z',
    scaler_type: 'MinMaxScaler', output_object: 'processed_data.parquet', row_count: 1, column_names: ['down'],
    flts: { ...flts, ...(extras.data_sha256 ? { data_sha256: extras.data_sha256 } : {}) },
  };
}

function run(id: string, lineage: { processed_sha256?: string; inputs?: string } = {}, status: RunRecord['status'] = 'SUCCESS'): RunRecord {
  const base = fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, `2026-12-01T00:00:0${id.length}Z`, status, HASH);
  return { ...base, data: { ...base.data, ...(lineage.inputs ? { fingerprints: input(lineage.inputs) } : {}), ...(lineage.processed_sha256 ? { processed_sha256: lineage.processed_sha256 } : {}) } };
}

describe('core > registry > trained-data', () => {
  it('compares the processed content when both record it, whatever the input files say', () => {
    expect(trainedOnData(run('a', { processed_sha256: 'x', inputs: 'rows-a' }), sidecar({ data_sha256: 'x', inputs: 'rows-b' }))).toBe(true);
    expect(trainedOnData(run('a', { processed_sha256: 'x', inputs: 'rows-a' }), sidecar({ data_sha256: 'y', inputs: 'rows-a' }))).toBe(false);
  });

  it('compares the input files for a run or data from before the content was recorded, and counts a run nothing tells apart', () => {
    expect(trainedOnData(run('old', { inputs: 'rows-a' }), sidecar({ data_sha256: 'x', inputs: 'rows-a' }))).toBe(true);
    expect(trainedOnData(run('old', { inputs: 'rows-a' }), sidecar({ data_sha256: 'x', inputs: 'rows-b' }))).toBe(false);
    expect(trainedOnData(run('new', { processed_sha256: 'x', inputs: 'rows-a' }), sidecar({ inputs: 'rows-b' }))).toBe(false);
    expect(trainedOnData(run('bare'), sidecar({ data_sha256: 'x' }))).toBe(true);
    expect(trainedOnData(run('any', { processed_sha256: 'x' }), undefined)).toBe(true);
    expect(trainedOnData({ ...run('other', { processed_sha256: 'x' }), config_hash: 'd'.repeat(64) }, sidecar({ data_sha256: 'x' }))).toBe(false);
  });

  it('compares input files on their digests alone where the record kept no sizes (an MLflow mirror\'s tags)', () => {
    const digests = (train: string) => ({ train: { sha256: train }, test: { sha256: 'test' } });
    expect(trainedOnLineage({ configHash: HASH, inputs: digests('rows-a') }, sidecar({ data_sha256: 'x', inputs: 'rows-a' }))).toBe(true);
    expect(trainedOnLineage({ configHash: HASH, inputs: digests('rows-b') }, sidecar({ data_sha256: 'x', inputs: 'rows-a' }))).toBe(false);
    expect(trainedOnLineage({ configHash: HASH, inputs: { ...digests('rows-a'), test: { sha256: 'test', bytes: 6 } } }, sidecar({ inputs: 'rows-a' }))).toBe(false);
  });

  it('names the newest SUCCESS run of the type on the data, never a FAILED one or one of older rows', () => {
    const runs = [run('a', { processed_sha256: 'x' }), run('bb', { processed_sha256: 'y' }), run('ccc', { processed_sha256: 'y' }, 'FAILED')];
    expect(currentRun(runs, 'NAIVE', sidecar({ data_sha256: 'y' }))?.run_id).toBe('bb');
    expect(currentRun(runs, 'NAIVE', sidecar({ data_sha256: 'z' }))).toBeUndefined();
    expect(currentRun(runs, 'LSTM', sidecar({ data_sha256: 'x' }))).toBeUndefined();
  });
});
