import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings, resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { loadProcessedData } from '../preprocess/processed-data.js';
import { processedKeys } from '../preprocess/processed-layout.js';
import { runPreprocess } from '../preprocess/run-preprocess.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import { sealRunRecord } from '../registry/run-record-seal.js';
import { saveRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import { putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { trainRun } from '../train/train-run.js';
import { promoteBest } from '../workflows/promote.js';
import { evaluateRuns, resolveEvalConfigHash } from './evaluate-runs.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-eval-runs-'));
const store = createFsStore(root);
const settings = defaultSettings();
const HASH = 'c'.repeat(64);
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** A store whose every call fails as an unreachable server does, counting the calls. */
function unreachableStore(): { store: ObjectStore; calls: string[] } {
  const calls: string[] = [];
  const store = new Proxy({ kind: 's3', location: 'http://127.0.0.1:1' } as unknown as ObjectStore, {
    get: (target, name) =>
      name in target
        ? (target as unknown as Record<string | symbol, unknown>)[name]
        : async () => {
            calls.push(String(name));
            throw new FltsError('FLTS_STORE_UNAVAILABLE', 'S3 endpoint http://127.0.0.1:1 did not answer.');
          },
  });
  return { store, calls };
}

describe('core > eval > evaluateRuns', () => {
  it('ranks the readable runs and names the damaged ones instead of failing on them', async () => {
    await saveRunRecord(store, settings, fakeRun('naive', 'NAIVE', { rmse: 0.2, mae: 0.1, mse: 0.04 }, '2025-01-01T00:00:00.000Z'));
    await saveRunRecord(store, settings, fakeRun('lstm', 'LSTM', { rmse: 0.1, mae: 0.05, mse: 0.01 }, '2025-01-02T00:00:00.000Z'));
    await store.put('runs', 'broken/run.json', '{"run_id": "broken", "sta');
    // A record whose test details were cut still ranks on its flat metrics.
    const cut = fakeRun('cut', 'GRU', { rmse: 0.15, mae: 0.07, mse: 0.02 }, '2025-01-03T00:00:00.000Z');
    await saveRunRecord(store, settings, { ...cut, metrics: { ...cut.metrics!, test: {} as never } });

    const result = await evaluateRuns({ configHash: HASH }, settings, { store });

    expect(result.rows.map((row) => row.run_id)).toEqual(['lstm', 'cut', 'naive']);
    expect(result.rows[1].rmse_original).toBeNaN();
    expect(result.corrupt_runs).toEqual([{ run_id: 'broken', code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('broken/run.json is not valid JSON') }]);
  });

  it('leaves off the board, and names, a run whose run.json was edited since training to rank first; unsealed runs still rank', async () => {
    const own = createFsStore(mkdtempSync(path.join(root, 'sealed-')));
    const hash = 'f'.repeat(64);
    await saveRunRecord(own, settings, sealRunRecord(fakeRun('gru', 'GRU', { rmse: 0.1, mae: 0.05, mse: 0.01 }, '2025-01-01T00:00:00.000Z', 'SUCCESS', hash)));
    const edited = sealRunRecord(fakeRun('edited', 'LSTM', { rmse: 0.3, mae: 0.2, mse: 0.09 }, '2025-01-02T00:00:00.000Z', 'SUCCESS', hash));
    await saveRunRecord(own, settings, { ...edited, metrics: fakeRun('edited', 'LSTM', { rmse: 0.01, mae: 0.01, mse: 0.0001 }, '', 'SUCCESS', hash).metrics });
    // Recorded before records were sealed: nothing to check it against, so it ranks as it always did.
    await saveRunRecord(own, settings, fakeRun('naive', 'NAIVE', { rmse: 0.2, mae: 0.1, mse: 0.04 }, '2025-01-03T00:00:00.000Z', 'SUCCESS', hash));

    const result = await evaluateRuns({ configHash: hash }, settings, { store: own });

    expect(result.rows.map((row) => `${row.rank} ${row.run_id}`)).toEqual(['1 gru', '2 naive']);
    expect(result.corrupt_runs).toEqual([{ run_id: 'edited', code: 'FLTS_RUN_CORRUPT', message: expect.stringContaining('edited/run.json does not have the SHA-256 its training sealed it with') }]);
  });

  it('says which runs it left out, damaged, when none is left to rank', async () => {
    const own = createFsStore(mkdtempSync(path.join(root, 'only-edited-')));
    const edited = sealRunRecord(fakeRun('edited', 'LSTM', { rmse: 0.3, mae: 0.2, mse: 0.09 }, '2025-01-02T00:00:00.000Z'));
    await saveRunRecord(own, settings, { ...edited, metrics: fakeRun('edited', 'LSTM', { rmse: 0.01, mae: 0.01, mse: 0.0001 }, '').metrics });
    await expect(evaluateRuns({ configHash: HASH }, settings, { store: own })).rejects.toMatchObject({
      code: 'FLTS_EVAL_NO_RUNS',
      message: expect.stringContaining('left out, damaged: edited'),
      details: { corrupt_runs: [{ run_id: 'edited', code: 'FLTS_RUN_CORRUPT' }] },
    });
  });

  it('shows one board per target set, the configured targets first, each cut at the scoreboard limit on its own', async () => {
    const own = createFsStore(mkdtempSync(path.join(root, 'targets-')));
    const hash = 'e'.repeat(64);
    const forecasting = (targets: string[], id: string, modelType: 'NAIVE' | 'LSTM' | 'GRU', rmse: number) => {
      const run = fakeRun(id, modelType, { rmse, mae: rmse, mse: rmse * rmse }, '2025-01-01T00:00:00.000Z', 'SUCCESS', hash);
      return { ...run, window: { ...run.window, features: targets, targets } };
    };
    for (const run of [
      forecasting(['down', 'up'], 'gru-both', 'GRU', 0.01),
      forecasting(['down', 'up'], 'lstm-both', 'LSTM', 0.02),
      forecasting(['down', 'up'], 'naive-both', 'NAIVE', 0.05),
      forecasting(['down'], 'lstm-down', 'LSTM', 0.08),
      forecasting(['down'], 'naive-down', 'NAIVE', 0.1),
    ]) {
      await saveRunRecord(own, settings, run);
    }
    const limited = { ...settings, eval: { ...settings.eval, scoreboardLimit: 2 } };
    const result = await evaluateRuns({ configHash: hash }, limited, { store: own });
    expect(result.rows.map((row) => `${row.rank} ${row.run_id}`)).toEqual(['1 lstm-down', '2 naive-down', '1 gru-both', '2 lstm-both']);
    expect(result.targets).toEqual(['down']);
    expect(result.target_sets?.map((set) => [set.targets.join(','), set.runs, set.naive_run_id])).toEqual([
      ['down', 2, 'naive-down'],
      ['down,up', 3, 'naive-both'],
    ]);
    expect(result.rows[0].improvement_over_naive_pct).toBeCloseTo(20, 10);
    // What --best promotes is the first row, the winner of the configured targets (refused here: these runs have no files).
    await expect(promoteBest({ configHash: hash, source: 'best', actor: 'ana' }, settings, { store: own })).rejects.toMatchObject({ code: 'FLTS_MODEL_ARTIFACT_MISSING', details: { runId: 'lstm-down' } });
  });

  it('names the runs bucket and the store it looked in, and says when that bucket holds nothing at all (a mistyped FLTS_RUNS_BUCKET)', async () => {
    const dir = mkdtempSync(path.join(root, 'bucket-'));
    const own = createFsStore(dir);
    const hash = 'a'.repeat(64);
    await saveRunRecord(own, settings, fakeRun('naive', 'NAIVE', { rmse: 0.2, mae: 0.1, mse: 0.04 }, '2025-01-01T00:00:00.000Z', 'SUCCESS', hash));
    const mistyped = { ...settings, store: { ...settings.store, buckets: { ...settings.store.buckets, runs: 'runz' } } };
    const where = `in bucket 'runz' of the store at ${dir}`;
    const empty = ': the bucket holds nothing at all (it is not there, or nothing was trained into it)';
    await expect(evaluateRuns({ configHash: hash }, mistyped, { store: own })).rejects.toMatchObject({
      code: 'FLTS_EVAL_NO_RUNS',
      message: `No SUCCESS runs for config_hash ${hash} ${where}${empty}.`,
      details: { bucket: 'runz', store: dir },
    });
    await expect(promoteBest({ configHash: hash, source: 'best', actor: 'ana' }, mistyped, { store: own })).rejects.toMatchObject({
      code: 'FLTS_EVAL_NO_RUNS',
      message: `No SUCCESS runs for config_hash ${hash} ${where} with targets ${settings.training.targets.join(',')} to promote${empty}.`,
      details: { bucket: 'runz', store: dir },
    });
    await expect(resolveEvalConfigHash(own, mistyped)).rejects.toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', message: `No runs ${where} and no processed data to name a config_hash.`, details: { bucket: 'runz', store: dir } });
    // The right bucket, holding runs of other data only: named too, without the word that it holds nothing.
    const other = await evaluateRuns({ configHash: HASH }, settings, { store: own }).catch((e: unknown) => e as FltsError);
    expect(other).toMatchObject({
      code: 'FLTS_EVAL_NO_RUNS',
      message: `No SUCCESS runs for config_hash ${HASH} in bucket 'runs' of the store at ${dir} (0 run(s) in other states); config_hashes with SUCCESS runs, newest first: ${hash} (1 run(s), newest started 2025-01-01T00:00:00.000Z): pass one with \`flts eval --config-hash <hash>\`.`,
      details: { bucket: 'runs', store: dir },
    });
  });

  // Before, both said "No SUCCESS runs for config_hash <new>" alone: the versions that have runs had to be found by hand.
  it('names the newest config_hashes that have SUCCESS runs when the latest processed data has none, and how to pass one', async () => {
    const own = createFsStore(mkdtempSync(path.join(root, 'new-data-')));
    const [latest, a, b, up, failed, oldest] = ['f', 'a', 'b', 'e', 'd', '1'].map((c) => c.repeat(64));
    const targets = settings.training.targets;
    const run = (id: string, startedAt: string, hash: string, status: 'SUCCESS' | 'FAILED' = 'SUCCESS') => fakeRun(id, 'NAIVE', { rmse: 0.2, mae: 0.1, mse: 0.04 }, startedAt, status, hash);
    await saveRunRecord(own, settings, { ...run('oldest', '2024-12-01T00:00:00.000Z', oldest), window: { ...run('x', '', oldest).window, targets: [...targets] } });
    for (const [id, startedAt, hash] of [['a1', '2025-01-01T00:00:00.000Z', a], ['a2', '2025-01-03T00:00:00.000Z', a], ['b1', '2025-01-02T00:00:00.000Z', b]] as const) {
      await saveRunRecord(own, settings, { ...run(id, startedAt, hash), window: { ...run(id, startedAt, hash).window, targets: [...targets] } });
    }
    // Of other targets: one eval ranks, one promote --best does not choose among.
    await saveRunRecord(own, settings, { ...run('up1', '2025-01-04T00:00:00.000Z', up), window: { ...run('up1', '', up).window, targets: ['other-column'] } });
    await saveRunRecord(own, settings, run('failed1', '2025-01-05T00:00:00.000Z', failed, 'FAILED'));
    // The latest processed data, with no run yet: what eval and promote --best take by default.
    await putJson(own, settings.store.buckets.processed, processedKeys(settings).trainSidecar, { config_hash: latest, created_at: '2025-01-06T00:00:00Z' });

    const evaluated = await evaluateRuns({}, settings, { store: own }).catch((e: unknown) => e as FltsError);
    expect(evaluated).toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', details: { configHash: latest } });
    expect((evaluated as FltsError).details?.configHashesWithRuns).toEqual([
      { config_hash: up, success_runs: 1, newest_started_at: '2025-01-04T00:00:00.000Z' },
      { config_hash: a, success_runs: 2, newest_started_at: '2025-01-03T00:00:00.000Z' },
      { config_hash: b, success_runs: 1, newest_started_at: '2025-01-02T00:00:00.000Z' },
    ]);
    expect((evaluated as FltsError).message).toMatch(new RegExp(`^No SUCCESS runs for config_hash ${latest} .*; config_hashes with SUCCESS runs, newest first: ${up} \\(1 run\\(s\\), newest started 2025-01-04T00:00:00.000Z\\), ${a} \\(2 run.*, ${b} .*: pass one with \`flts eval --config-hash <hash>\`\\.$`));

    const promoted = await promoteBest({ source: 'best', actor: 'ana' }, settings, { store: own }).catch((e: unknown) => e as FltsError);
    expect(promoted).toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', details: { configHash: latest } });
    expect((promoted as FltsError).details?.configHashesWithRuns).toEqual([
      { config_hash: a, success_runs: 2, newest_started_at: '2025-01-03T00:00:00.000Z' },
      { config_hash: b, success_runs: 1, newest_started_at: '2025-01-02T00:00:00.000Z' },
      { config_hash: oldest, success_runs: 1, newest_started_at: '2024-12-01T00:00:00.000Z' },
    ]);
    expect((promoted as FltsError).message).toContain(`: pass one with \`flts promote --best --config-hash <hash>\`.`);
    expect((promoted as FltsError).message).not.toContain(up);
  });

  it('fails on the first read of an unreachable store instead of waiting for it once more', async () => {
    const { store: unreachable, calls } = unreachableStore();
    await expect(resolveEvalConfigHash(unreachable, defaultSettings())).rejects.toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
    expect(calls).toHaveLength(1);
  });

  it('refuses a config_hash that is not a whole hash (a prefix, a path, a filter) before reading the store', async () => {
    const { store: unreachable, calls } = unreachableStore();
    for (const configHash of [HASH.slice(0, 8), '../x', `${HASH}' OR params.model_type = 'LSTM`]) {
      await expect(resolveEvalConfigHash(unreachable, settings, configHash)).rejects.toMatchObject({ code: 'FLTS_CONFIG_INVALID_VALUE', kind: 'usage', details: { configHash } });
    }
    expect(calls).toEqual([]);
    await expect(resolveEvalConfigHash(unreachable, settings, HASH)).resolves.toBe(HASH);
  });
});

describe('core > eval > evaluateRuns > new rows under the same file names', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flts-eval-rows-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  function csv(rows: number, from = 0): string {
    const lines = ['time,down,up'];
    for (let i = 0; i < rows; i++) lines.push(`${new Date(Date.UTC(2018, 1, 5) + (from + i) * 120_000).toISOString().slice(0, 19).replace('T', ' ')},${100 + ((i * 37) % 50)},${i % 11}`);
    return `${lines.join('\n')}\n`;
  }

  it('ranks the runs of the rows the config_hash holds now, as promote --best does, and counts those of the replaced rows', async () => {
    const rowsStore = createFsStore(path.join(dir, 'store'));
    const { settings: rowsSettings } = resolveSettings({ flags: { 'data.dataDir': dir, 'data.trainFile': 'train.csv', 'data.testFile': 'test.csv' } });
    writeFileSync(path.join(dir, 'train.csv'), csv(80));
    // After the last training time (training files have at most 100 rows).
    writeFileSync(path.join(dir, 'test.csv'), csv(30, 100));
    const first = await runPreprocess(rowsSettings, { store: rowsStore });
    const old = await trainRun('NAIVE', await loadProcessedData(rowsStore, rowsSettings, { configHash: first.configHash }), rowsSettings, { store: rowsStore });
    expect((await evaluateRuns({}, rowsSettings, { store: rowsStore })).rows.map((row) => row.run_id)).toEqual([old.run_id]);

    writeFileSync(path.join(dir, 'train.csv'), csv(100));
    const grown = await runPreprocess(rowsSettings, { store: rowsStore });
    expect(grown.configHash).toBe(first.configHash);
    await expect(evaluateRuns({}, rowsSettings, { store: rowsStore })).rejects.toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', details: { runsOfReplacedRows: 1 } });
    await expect(promoteBest({ source: 'best', actor: 'ana' }, rowsSettings, { store: rowsStore })).rejects.toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', details: { runsOfReplacedRows: 1 } });

    const fresh = await trainRun('NAIVE', await loadProcessedData(rowsStore, rowsSettings, { configHash: grown.configHash }), rowsSettings, { store: rowsStore });
    const board = await evaluateRuns({}, rowsSettings, { store: rowsStore });
    expect(board.rows.map((row) => row.run_id)).toEqual([fresh.run_id]);
    expect(board.runs_of_replaced_rows).toBe(1);
  });
});
