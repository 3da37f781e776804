import type { RunRecord, RunStatus } from './run-record.js';
import type { ModelType } from '../models/forecast-model.js';

/** A minimal run record with given scaled test metrics (registry and scoreboard tests). */
export function fakeRun(id: string, modelType: ModelType, metrics: { rmse: number; mae: number; mse: number }, startedAt: string, status: RunStatus = 'SUCCESS', configHash = 'c'.repeat(64)): RunRecord {
  const set = { mse: metrics.mse, rmse: metrics.rmse, mae: metrics.mae, r2: 0.5 };
  return {
    run_id: id,
    model_type: modelType,
    experiment: modelType === 'LSTM' || modelType === 'GRU' ? 'Default' : 'NonML',
    config_hash: configHash,
    status,
    params: {},
    window: { features: ['down'], targets: ['down'], inputSeqLen: 2, outputSeqLen: 1 },
    data: { processed_bucket: 'processed-data', processed_created_at: '', train_rows: 0, test_rows: 0, train_source_object: '', test_source_object: '', test_windows: 'prepend-train-history' },
    seed: 42,
    timings: { started_at: startedAt },
    metrics: { test_mse: metrics.mse, test_rmse: metrics.rmse, test_mae: metrics.mae, test_r2: 0.5, test: { count: 1, overall: set, targets: { down: { scaled: set, original: { ...set, rmse: metrics.rmse * 1e8 } } } } },
    artifacts: {},
    flts_version: 'test',
  };
}
