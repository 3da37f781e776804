import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { processedKeys } from '../preprocess/processed-layout.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import type { RunRecord } from '../registry/run-record.js';
import { saveRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import { putJson } from '../storage/json-objects.js';
import type { BacktestModelResult } from './backtest-model.js';
import { evaluateRunsByBacktest } from './backtest-ranking.js';
import { saveBacktestRecord } from './backtest-record.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-backtest-ranking-'));
const store = createFsStore(root);
const settings = defaultSettings();
const HASH = 'c'.repeat(64);
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** A run trained on the processed rows digested as `rows`. */
const runOf = (id: string, modelType: 'NAIVE' | 'SNAIVE' | 'LSTM', rmse: number, rows: string): RunRecord => {
  const run = fakeRun(id, modelType, { rmse, mae: rmse, mse: rmse * rmse }, `2026-12-0${id.length}T00:00:00Z`);
  return { ...run, data: { ...run.data, processed_sha256: rows } };
};

const backtested = (run: RunRecord, rmse: number): BacktestModelResult => ({
  model_type: run.model_type,
  run_id: run.run_id,
  model_origin: 'run',
  folds: [],
  aggregate: { rmse, mae: rmse, mse: rmse * rmse, pooled: { rmse, mae: rmse, mse: rmse * rmse, r2: 0.5 }, score: rmse, targets: {} },
});

describe('core > backtest > evaluateRunsByBacktest > new rows under the same file names', () => {
  it('ranks the covered runs of the rows held now and counts those of the replaced rows', async () => {
    // The record an earlier flts wrote after new rows arrived: it backtested each type's newest run whatever its rows.
    const fresh = runOf('new', 'NAIVE', 0.3, 'new-rows');
    const stale = runOf('old-lstm', 'LSTM', 0.1, 'old-rows');
    for (const run of [stale, fresh]) await saveRunRecord(store, settings, run);
    const models = [backtested(fresh, 0.3), backtested(stale, 0.1)];
    await saveBacktestRecord(store, settings, { config_hash: HASH, created_at: '2026-12-06T00:00:00Z', horizon: 3, stride: 3, refit_every: 0, origins: [], models, ranking: [] });
    await putJson(store, settings.store.buckets.processed, processedKeys(settings, HASH).trainSidecar, { config_hash: HASH, created_at: '2026-12-05T00:00:00Z', flts: { data_sha256: 'new-rows' } });

    const board = await evaluateRunsByBacktest({ configHash: HASH }, settings, { store });
    expect(board.rows.map((row) => row.run_id)).toEqual([fresh.run_id]);
    expect(board.runs_of_replaced_rows).toBe(1);

    // The rows the LSTM run was trained on come back: it is current again, and the NAIVE run is the one left out.
    await putJson(store, settings.store.buckets.processed, processedKeys(settings, HASH).trainSidecar, { config_hash: HASH, created_at: '2026-12-07T00:00:00Z', flts: { data_sha256: 'old-rows' } });
    const back = await evaluateRunsByBacktest({ configHash: HASH }, settings, { store });
    expect(back.rows.map((row) => row.run_id)).toEqual([stale.run_id]);
    expect(back.runs_of_replaced_rows).toBe(1);
  });

  it('ranks no run on a backtest of replaced rows, not even one that records no rows of its own', async () => {
    const hash = 'd'.repeat(64);
    // A run of a flts that recorded no lineage of its rows: it counts as trained on any.
    const legacy = fakeRun('legacy', 'LSTM', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-12-01T00:00:00Z', 'SUCCESS', hash);
    await saveRunRecord(store, settings, legacy);
    const record = { config_hash: hash, data: { processed_sha256: 'old-rows' }, created_at: '2026-12-06T00:00:00Z', horizon: 3, stride: 3, refit_every: 0, origins: [], models: [backtested(legacy, 0.1)], ranking: [] };
    await saveBacktestRecord(store, settings, record);
    const sidecarKey = processedKeys(settings, hash).trainSidecar;
    await putJson(store, settings.store.buckets.processed, sidecarKey, { config_hash: hash, created_at: '2026-12-05T00:00:00Z', flts: { data_sha256: 'old-rows' } });
    expect((await evaluateRunsByBacktest({ configHash: hash }, settings, { store })).rows.map((row) => row.run_id)).toEqual([legacy.run_id]);

    await putJson(store, settings.store.buckets.processed, sidecarKey, { config_hash: hash, created_at: '2026-12-07T00:00:00Z', flts: { data_sha256: 'new-rows' } });
    await expect(evaluateRunsByBacktest({ configHash: hash }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', details: { backtestOfReplacedRows: true, runsOfReplacedRows: 1 } });
  });
});
