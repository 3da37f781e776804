import { describe, expect, it } from 'vitest';
import { snakeCaseKey, snakeCaseKeys } from './snake-case-keys.js';

describe('core > snake-case-keys', () => {
  it('turns camelCase fields into snake_case and leaves other keys as they are', () => {
    expect(['configHash', 'serverRssMiB', 'mlflowRunId', 'rowsNotAfterTrain', 'config_hash', 'r2', 'p50', 'mlflow.runName', 'FLTS_BUS', 'down'].map(snakeCaseKey)).toEqual([
      'config_hash',
      'server_rss_mib',
      'mlflow_run_id',
      'rows_not_after_train',
      'config_hash',
      'r2',
      'p50',
      'mlflow.runName',
      'FLTS_BUS',
      'down',
    ]);
  });

  it('converts nested objects and arrays, but not the names keying targets, levels or params', () => {
    const result = {
      configHash: 'abc',
      runs: [{ run_id: 'r', window: { inputSeqLen: 10, targetFloors: { cpuLoad: 0 } }, params: { learningRate: '0.1' }, coverage: { '0.8': { meanWidth: 1 } } }],
      timings: { totalMs: 3 },
    };
    expect(snakeCaseKeys(result)).toEqual({
      config_hash: 'abc',
      runs: [{ run_id: 'r', window: { input_seq_len: 10, target_floors: { cpuLoad: 0 } }, params: { learningRate: '0.1' }, coverage: { '0.8': { mean_width: 1 } } }],
      timings: { total_ms: 3 },
    });
  });

  it('keeps the snake_case field where a record carries it both ways, and leaves values that are not plain objects', () => {
    const when = new Date(0);
    expect(snakeCaseKeys({ configHash: 'camel', config_hash: 'snake', at: when, name: 'someName' })).toEqual({ config_hash: 'snake', at: when, name: 'someName' });
  });
});
