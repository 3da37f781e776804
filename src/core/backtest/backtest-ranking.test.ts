import type { FltsError } from '../errors.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { processedKeys } from '../preprocess/processed-layout.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import type { RunRecord } from '../registry/run-record.js';
import { sealRunRecord } from '../registry/run-record-seal.js';
import { saveRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import { putJson } from '../storage/json-objects.js';
import type { BacktestModelResult } from './backtest-model.js';
import { buildBacktestScoreboard, evaluateRunsByBacktest } from './backtest-ranking.js';
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

  it('leaves off the board, and names, a covered run whose run.json was edited since training; an unsealed run still ranks', async () => {
    const hash = 'e'.repeat(64);
    const ofHash = (run: RunRecord): RunRecord => ({ ...run, config_hash: hash });
    // Unsealed, as recorded before records were sealed: it ranks as it always did.
    const naive = ofHash(runOf('naive', 'NAIVE', 0.3, 'rows'));
    // Sealed, then edited: it claims the rows the data holds now, though it was trained on others.
    const edited = sealRunRecord(ofHash(runOf('edited', 'LSTM', 0.1, 'old-rows')));
    await saveRunRecord(store, settings, naive);
    await saveRunRecord(store, settings, { ...edited, data: { ...edited.data, processed_sha256: 'rows' } });
    await saveBacktestRecord(store, settings, { config_hash: hash, created_at: '2026-12-06T00:00:00Z', horizon: 3, stride: 3, refit_every: 0, origins: [], models: [backtested(naive, 0.3), backtested(edited, 0.1)], ranking: [] });
    await putJson(store, settings.store.buckets.processed, processedKeys(settings, hash).trainSidecar, { config_hash: hash, created_at: '2026-12-05T00:00:00Z', flts: { data_sha256: 'rows' } });

    const board = await evaluateRunsByBacktest({ configHash: hash }, settings, { store });

    expect(board.rows.map((row) => row.run_id)).toEqual([naive.run_id]);
    expect(board.corrupt_runs).toEqual([{ run_id: edited.run_id, code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('edited since training') }]);
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

  it('asks for a backtest, not for training alone, when the runs of the data were never backtested or their backtest scored replaced rows', async () => {
    const hash = '7'.repeat(64);
    const run = fakeRun('trained', 'LSTM', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2026-12-01T00:00:00Z', 'SUCCESS', hash);
    await saveRunRecord(store, settings, run);
    const refusal = (await evaluateRunsByBacktest({ configHash: hash }, settings, { store }).catch((error: unknown) => error)) as FltsError;
    // Before, the message said to run `flts backtest` and the hint to train a model, which the data already had.
    expect(refusal).toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', message: expect.stringContaining('No backtest recorded') });
    expect(refusal.hint).toContain('`flts backtest`');
    expect(refusal.hint).not.toMatch(/^Train a model/);

    await saveBacktestRecord(store, settings, { config_hash: hash, data: { processed_sha256: 'old-rows' }, created_at: '2026-12-06T00:00:00Z', horizon: 3, stride: 3, refit_every: 0, origins: [], models: [backtested(run, 0.1)], ranking: [] });
    await putJson(store, settings.store.buckets.processed, processedKeys(settings, hash).trainSidecar, { config_hash: hash, created_at: '2026-12-07T00:00:00Z', flts: { data_sha256: 'new-rows' } });
    await expect(evaluateRunsByBacktest({ configHash: hash }, settings, { store })).rejects.toMatchObject({ details: { backtestOfReplacedRows: true }, hint: refusal.hint });
  });
});

describe('core > backtest > evaluateRunsByBacktest > other config_hashes', () => {
  // Before, the refusal said "No backtest recorded for config_hash <new>" alone, where `flts eval`'s names the versions that have runs.
  it('names the config_hashes that have SUCCESS runs and a backtest when the latest processed data has no backtest, and how to rank one', async () => {
    const own = createFsStore(mkdtempSync(path.join(root, 'other-hashes-')));
    const [latest, backtestedHash, unbacktested] = ['f', 'a', 'b'].map((c) => c.repeat(64));
    const ranked = fakeRun('ranked', 'NAIVE', { rmse: 0.2, mae: 0.1, mse: 0.04 }, '2026-12-01T00:00:00.000Z', 'SUCCESS', backtestedHash);
    await saveRunRecord(own, settings, ranked);
    await saveRunRecord(own, settings, fakeRun('newer', 'NAIVE', { rmse: 0.2, mae: 0.1, mse: 0.04 }, '2026-12-02T00:00:00.000Z', 'SUCCESS', unbacktested));
    await saveBacktestRecord(own, settings, { config_hash: backtestedHash, created_at: '2026-12-03T00:00:00Z', horizon: 3, stride: 3, refit_every: 0, origins: [], models: [backtested(ranked, 0.2)], ranking: [] });
    await putJson(own, settings.store.buckets.processed, processedKeys(settings).trainSidecar, { config_hash: latest, created_at: '2026-12-04T00:00:00Z' });

    const refusal = (await evaluateRunsByBacktest({}, settings, { store: own }).catch((error: unknown) => error)) as FltsError;
    expect(refusal).toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', details: { configHash: latest, configHashesWithRuns: [{ config_hash: backtestedHash, success_runs: 1, newest_started_at: '2026-12-01T00:00:00.000Z' }] } });
    expect(refusal.message).toBe(
      `No backtest recorded for config_hash ${latest}; run \`flts backtest\` first; config_hashes with SUCCESS runs, newest first: ${backtestedHash} (1 run(s), newest started 2026-12-01T00:00:00.000Z): pass one with \`flts eval --rank-by backtest --config-hash <hash>\`.`,
    );
    // The one ranked by backtest is indeed ranked so.
    await putJson(own, settings.store.buckets.processed, processedKeys(settings, backtestedHash).trainSidecar, { config_hash: backtestedHash, created_at: '2026-12-01T00:00:00Z' });
    expect((await evaluateRunsByBacktest({ configHash: backtestedHash }, settings, { store: own })).rows.map((row) => row.run_id)).toEqual([ranked.run_id]);
  });
});

describe('core > backtest > buildBacktestScoreboard > target sets', () => {
  const ofTargets = (run: RunRecord, targets: string[]): RunRecord => ({ ...run, window: { ...run.window, targets } });
  const naive = runOf('naive', 'NAIVE', 0.5, 'rows');
  const lstm = runOf('lstm-d', 'LSTM', 0.4, 'rows');
  const wide = ofTargets(runOf('lstm-du', 'LSTM', 0.1, 'rows'), ['up', 'down']);
  const wideNaive = ofTargets(runOf('naive-du', 'NAIVE', 0.2, 'rows'), ['down', 'up']);
  const record = (models: BacktestModelResult[], targets?: string[]) => ({ config_hash: HASH, ...(targets ? { targets } : {}), created_at: '2026-12-06T00:00:00Z', horizon: 3, stride: 3, refit_every: 0, origins: [], models, ranking: [] });

  it('ranks each target set from 1 against its own baselines, the configured targets first', () => {
    // A record of an flts before target sets: each type's newest run, whatever its targets.
    const models = [backtested(naive, 0.5), backtested(lstm, 0.4), backtested(wide, 0.1), backtested(wideNaive, 0.2)];
    const board = buildBacktestScoreboard(record(models), [naive, lstm, wide, wideNaive], 10, ['down']);
    expect(board.rows.map((row) => [row.run_id, row.rank, row.targets.join(',')])).toEqual([
      [lstm.run_id, 1, 'down'],
      [naive.run_id, 2, 'down'],
      [wide.run_id, 1, 'up,down'],
      [wideNaive.run_id, 2, 'down,up'],
    ]);
    expect(board.target_sets?.map((set) => [set.targets.join(','), set.runs, set.naive_run_id])).toEqual([
      ['down', 2, naive.run_id],
      ['down,up', 2, wideNaive.run_id],
    ]);
    // Each run against the NAIVE of its own set: the `down` LSTM's 20 % over 0.5, not a loss to the wider set's 0.2.
    expect(board.rows[0].improvement_over_baseline_pct).toBeCloseTo(20);
    expect(board.rows[0].gate.passed).toBe(true);
    expect(board.rows[2].improvement_over_baseline_pct).toBeCloseTo(50);
    expect(board.naive_run_id).toBe(naive.run_id);
    expect(board.targets).toEqual(['down']);
    // Without configured targets the boards go by target names.
    expect(buildBacktestScoreboard(record(models), [naive, lstm, wide, wideNaive]).target_sets?.map((set) => set.targets.join(','))).toEqual(['down', 'down,up']);
    expect(buildBacktestScoreboard(record(models), [naive, lstm, wide, wideNaive], null, ['up', 'down']).rows[0].run_id).toBe(wide.run_id);
  });

  it('counts a model fitted without a run as one of the record\'s targets', () => {
    const builtIn: BacktestModelResult = { ...backtested(naive, 0.8), run_id: null };
    const board = buildBacktestScoreboard(record([builtIn, backtested(wide, 0.4)], ['down', 'up']), [wide], 0, ['down']);
    expect(board.rows.map((row) => row.run_id)).toEqual([wide.run_id]);
    expect(board.rows[0].improvement_over_baseline_pct).toBeCloseTo(50);
    // Of another set than the run's, it is no baseline of it.
    expect(buildBacktestScoreboard(record([builtIn, backtested(wide, 0.4)], ['down']), [wide], 0, ['down']).rows[0].baseline_model_type).toBeNull();
  });
});
