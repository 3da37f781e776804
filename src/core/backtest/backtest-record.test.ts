import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import { runsBucket } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import type { BacktestModelResult } from './backtest-model.js';
import { buildBacktestScoreboard } from './backtest-ranking.js';
import { backtestKeys, readBacktestRecord, type BacktestRecord } from './backtest-record.js';

const HASH = 'c'.repeat(64);
const root = mkdtempSync(path.join(tmpdir(), 'flts-backtest-record-'));
const store = createFsStore(root);
const settings = defaultSettings();
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

function model(modelType: string, runId: string | null, rmse: number | null): BacktestModelResult {
  const metric = rmse as number;
  return {
    model_type: modelType,
    run_id: runId,
    model_origin: 'run',
    folds: [],
    aggregate: { rmse: metric, mae: metric, mse: metric, pooled: { rmse: metric, mae: metric, mse: metric, r2: 0.5 } as never, score: metric, targets: { down: { rmse: metric, mae: metric } } },
  } as BacktestModelResult;
}

function record(models: BacktestModelResult[]): BacktestRecord {
  return { config_hash: HASH, created_at: '2025-01-01T00:00:00.000Z', horizon: 1, stride: 1, refit_every: 0, origins: [], models, ranking: [] };
}

describe('core > backtest > stored record', () => {
  it('ranks a model whose backtest came out NaN (stored as null) last, not first as a score of 0', () => {
    const runs = [fakeRun('lstm', 'LSTM', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-01T00:00:00.000Z'), fakeRun('gru', 'GRU', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-01T00:00:00.000Z'), fakeRun('naive', 'NAIVE', { rmse: 0.2, mae: 0.1, mse: 0.04 }, '2025-01-01T00:00:00.000Z')];
    const stored = JSON.parse(JSON.stringify(record([model('LSTM', 'lstm', Number.NaN), model('GRU', 'gru', 0.05), model('NAIVE', 'naive', 0.1)]))) as BacktestRecord;
    const board = buildBacktestScoreboard(stored, runs, 5);
    expect(board.rows.map((row) => row.run_id)).toEqual(['gru', 'naive', 'lstm']);
    const nan = board.rows[2];
    expect(nan.score).toBeNaN();
    expect(nan.improvement_over_baseline_pct).toBeNull();
    expect(nan.gate).toEqual({ passed: false, reason: 'no backtest RMSE (not a number) to compare' });
  });

  it('reads a damaged or foreign backtest.json as a coded error that says to run the backtest again', async () => {
    const key = backtestKeys(HASH).record;
    for (const body of ['{"config_hash": "cc', '{"config_hash": "x"}', '[]', JSON.stringify(record([{ model_type: 'LSTM' } as BacktestModelResult])), JSON.stringify({ ...record([model('NAIVE', null, 0.1)]), data: { processed_sha256: 7 } })]) {
      await store.put(runsBucket(settings), key, body);
      await expect(readBacktestRecord(store, settings, HASH)).rejects.toMatchObject({ code: 'FLTS_DATA_UNREADABLE', kind: 'input', hint: expect.stringContaining('flts backtest') });
    }
    // A record of flts before backtests named their rows reads as it did.
    const whole = record([model('NAIVE', null, 0.1)]);
    await store.put(runsBucket(settings), key, JSON.stringify(whole));
    await expect(readBacktestRecord(store, settings, HASH)).resolves.toEqual(whole);
    const named = { ...whole, data: { processed_sha256: 'd'.repeat(64) } };
    await store.put(runsBucket(settings), key, JSON.stringify(named));
    await expect(readBacktestRecord(store, settings, HASH)).resolves.toEqual(named);
  });
});
