import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { processedKeys, type ProcessedSidecar } from '../preprocess/processed-layout.js';
import { loadMirrorSource } from '../registry/mirror-source.js';
import { writeMirrorMarker } from '../registry/mirror-markers.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import { saveRunRecord } from '../registry/run-store.js';
import { createFsStore } from '../storage/fs-store.js';
import { putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import type { MlflowRunSummary } from '../tracking/list-mlflow-runs.js';
import type { MlflowRun } from '../tracking/mlflow-types.js';
import { mlflowRunScore, rankMlflowRuns, rankMlflowRunsByConfigHash } from './rank-mlflow-runs.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-rank-mlflow-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
const settings = defaultSettings();
const HASH = 'c'.repeat(64);
const fingerprints = (rows: string) => ({ train: { file: 'train.csv', sha256: rows, bytes: 10 }, test: { file: 'test.csv', sha256: `${rows}-test`, bytes: 5 } });

function run(id: string, startTime: number, metrics: { rmse?: number; mae?: number; mse?: number }): MlflowRunSummary {
  return {
    mlflowRunId: id,
    experimentId: '0',
    experimentName: 'Default',
    runName: 'GRU',
    modelType: 'GRU',
    configHash: 'h',
    status: 'FINISHED',
    startTime,
    testRmse: metrics.rmse,
    testMae: metrics.mae,
    testMse: metrics.mse,
    modelUri: `runs:/${id}/GRU`,
    params: {},
    tags: {},
  };
}

describe('core > eval > rank-mlflow-runs', () => {
  it("scores like the reference eval (Nov 4 E2E GRU: 0.0299628)", () => {
    expect(mlflowRunScore({ testRmse: 0.04159637, testMae: 0.02939517, testMse: 0.00173026 })).toBeCloseTo(0.0299628, 7);
  });

  it('ranks by score, ties to the newest run, missing metrics after scored runs and NaN last', () => {
    const ranked = rankMlflowRuns([
      run('nan', 5, { rmse: Number.NaN, mae: 0.1, mse: 0.1 }),
      run('missing', 6, { rmse: 0.1, mae: 0.1 }),
      run('tie-old', 1, { rmse: 0.2, mae: 0.2, mse: 0.2 }),
      run('best', 2, { rmse: 0.1, mae: 0.1, mse: 0.1 }),
      run('tie-new', 3, { rmse: 0.2, mae: 0.2, mse: 0.2 }),
    ]);
    expect(ranked.map((r) => r.mlflowRunId)).toEqual(['best', 'tie-new', 'tie-old', 'missing', 'nan']);
    expect(ranked.map((r) => r.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(ranked[3].score).toBe(Number.POSITIVE_INFINITY);
  });
});

/** A store whose processed data for HASH holds the rows digested as `current`, read from input files fingerprinted `rows`. */
async function storeHolding(name: string, current: { processed_sha256: string; rows: string }): Promise<ObjectStore> {
  const store = createFsStore(path.join(root, name));
  const sidecar = { config_hash: HASH, created_at: '2026-12-01T00:00:00Z', flts: { data_sha256: current.processed_sha256, fingerprints: fingerprints(current.rows) } } as unknown as ProcessedSidecar;
  await putJson(store, settings.store.buckets.processed, processedKeys(settings, HASH).trainSidecar, sidecar);
  return store;
}

/**
 * The finished MLflow mirror of a flts run trained on `lineage` with test RMSE `rmse`, tagged as the mirror tags it
 * (a run without a lineage stands for a reference trainer's run, whose tags say nothing of its data).
 */
async function mirrorOf(store: ObjectStore, id: string, rmse: number, lineage?: { processed_sha256?: string; rows?: string }): Promise<MlflowRun> {
  const record = fakeRun(id, 'NAIVE', { rmse, mae: rmse, mse: rmse }, '2026-12-01T00:00:00.000Z', 'SUCCESS', HASH);
  const data = { ...record.data, ...(lineage?.rows ? { fingerprints: fingerprints(lineage.rows) } : {}), ...(lineage?.processed_sha256 ? { processed_sha256: lineage.processed_sha256 } : {}) };
  await saveRunRecord(store, settings, { ...record, data });
  const tags = lineage ? Object.entries((await loadMirrorSource(store, settings, id)).tags).map(([key, value]) => ({ key, value })) : [];
  const metrics = ['test_rmse', 'test_mae', 'test_mse'].map((key) => ({ key, value: rmse, timestamp: 0, step: 0 }));
  return { info: { run_id: `mlflow-${id}`, experiment_id: '1', status: 'FINISHED', start_time: 0 }, data: { params: [{ key: 'config_hash', value: HASH }, { key: 'model_type', value: 'NAIVE' }], tags, metrics } };
}

/** A tracking server holding `runs`, all of them with params.config_hash = HASH. */
const serverWith = (runs: MlflowRun[]): MlflowClient =>
  ({ searchExperiments: async () => [{ experiment_id: '1', name: 'NonML' }], getExperimentByName: async () => undefined, searchRuns: async () => runs }) as unknown as MlflowClient;

describe('core > eval > rankMlflowRunsByConfigHash', () => {
  it('ranks only the runs of the rows the config_hash holds now, by the digests their mirrors are tagged with, and counts those it leaves out', async () => {
    const store = await storeHolding('replaced', { processed_sha256: 'new-rows', rows: 'inputs-b' });
    const runs = [
      await mirrorOf(store, 'current', 0.3, { processed_sha256: 'new-rows', rows: 'inputs-b' }),
      // The best score, on rows the data no longer holds: what promote --best never picks.
      await mirrorOf(store, 'replaced', 0.1, { processed_sha256: 'old-rows', rows: 'inputs-a' }),
      // Mirrored before the processed digest was recorded: its input files tell.
      await mirrorOf(store, 'old-inputs', 0.15, { rows: 'inputs-a' }),
      await mirrorOf(store, 'same-inputs', 0.2, { rows: 'inputs-b' }),
      await mirrorOf(store, 'reference', 0.25),
    ];
    const board = await rankMlflowRunsByConfigHash(settings, HASH, { client: serverWith(runs), store });
    expect(board.rows.map((row) => row.mlflowRunId)).toEqual(['mlflow-same-inputs', 'mlflow-reference', 'mlflow-current']);
    expect(board.runs_of_replaced_rows).toBe(2);

    // Without the store nothing tells the rows apart: every finished run is ranked, as before.
    const unfiltered = await rankMlflowRunsByConfigHash(settings, HASH, { client: serverWith(runs) });
    expect(unfiltered.rows[0].mlflowRunId).toBe('mlflow-replaced');
    expect(unfiltered.runs_of_replaced_rows).toBeUndefined();
  });

  it('ranks a run with two complete mirrors (one deleted, mirrored again, then restored in MLflow) once, as the mirror its marker names', async () => {
    const store = createFsStore(path.join(root, 'restored'));
    const restored = await mirrorOf(store, 'twice', 0.2, { rows: 'inputs-b' });
    const again = structuredClone(restored);
    again.info.run_id = 'mlflow-twice-again';
    const other = await mirrorOf(store, 'other', 0.3, { rows: 'inputs-b' });
    const runs = [restored, again, other];

    // Without the store, the first MLflow lists.
    const unmarked = await rankMlflowRunsByConfigHash(settings, HASH, { client: serverWith(runs) });
    expect(unmarked.rows.map((row) => row.mlflowRunId)).toEqual(['mlflow-twice', 'mlflow-other']);

    await writeMirrorMarker(store, settings, 'twice', '1', 'mlflow-twice-again');
    const board = await rankMlflowRunsByConfigHash(settings, HASH, { client: serverWith(runs), store });
    expect(board.rows.map((row) => [row.mlflowRunId, row.rank])).toEqual([['mlflow-twice-again', 1], ['mlflow-other', 2]]);
    expect(board.target_sets).toEqual([{ targets: null, runs: 2 }]);
  });

  it('says so when every finished run is of replaced rows', async () => {
    const store = await storeHolding('all-replaced', { processed_sha256: 'new-rows', rows: 'inputs-b' });
    const runs = [await mirrorOf(store, 'replaced', 0.1, { processed_sha256: 'old-rows', rows: 'inputs-a' })];
    const error = await rankMlflowRunsByConfigHash(settings, HASH, { client: serverWith(runs), store }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FltsError);
    expect(error).toMatchObject({ code: 'FLTS_EVAL_NO_RUNS', details: { runsOfReplacedRows: 1 } });
    expect((error as FltsError).message).toContain('new data under the same file names replaced');
  });
});

describe('core > eval > rankMlflowRunsByConfigHash > other config_hashes', () => {
  const finished = (id: string, hash: string, startTime: number): MlflowRun => ({
    info: { run_id: id, experiment_id: '1', status: 'FINISHED', start_time: startTime },
    data: { params: [{ key: 'config_hash', value: hash }, { key: 'model_type', value: 'NAIVE' }], tags: [], metrics: [] },
  });

  // Before, the refusal said "No finished MLflow runs with params.config_hash = <new>" alone, where `flts eval`'s names the versions that have runs.
  it('names the config_hashes with finished MLflow runs, newest first, and how to rank one, when the one asked for has none', async () => {
    const [a, b] = ['a', 'b'].map((c) => c.repeat(64));
    const filters: string[] = [];
    const others = [finished('a-new', a, Date.parse('2026-12-03T00:00:00Z')), finished('b-1', b, Date.parse('2026-12-02T00:00:00Z')), finished('a-old', a, Date.parse('2026-12-01T00:00:00Z'))];
    const client = {
      searchExperiments: async () => [{ experiment_id: '1', name: 'NonML' }],
      getExperimentByName: async () => undefined,
      searchRuns: async (search: { filter: string }) => {
        filters.push(search.filter);
        return search.filter.startsWith(`params.config_hash = '${HASH}'`) ? [{ ...finished('running', HASH, 0), info: { ...finished('running', HASH, 0).info, status: 'RUNNING' } }] : others;
      },
    } as unknown as MlflowClient;

    const refusal = (await rankMlflowRunsByConfigHash(settings, HASH, { client }).catch((error: unknown) => error)) as FltsError;
    expect(refusal).toMatchObject({
      code: 'FLTS_EVAL_NO_RUNS',
      details: {
        configHashesWithRuns: [
          { config_hash: a, success_runs: 2, newest_started_at: '2026-12-03T00:00:00.000Z' },
          { config_hash: b, success_runs: 1, newest_started_at: '2026-12-02T00:00:00.000Z' },
        ],
      },
    });
    expect(refusal.message).toMatch(new RegExp(`; config_hashes with finished MLflow runs, newest first: ${a} \\(2 run\\(s\\), newest started 2026-12-03T00:00:00.000Z\\), ${b} .*: pass one with \`flts eval --source mlflow --config-hash <hash>\`\\.$`));
    expect(filters[1]).toBe(`params.config_hash != '${HASH}' AND attributes.status = 'FINISHED'`);

    // A server refusing that search: the refusal as before, naming none.
    const refusing = { ...client, searchRuns: async (search: { filter: string }) => (search.filter.startsWith('params.config_hash =') ? [] : Promise.reject(new FltsError('FLTS_TRACKING_REJECTED', 'INVALID_PARAMETER_VALUE: bad filter'))) } as unknown as MlflowClient;
    const plain = (await rankMlflowRunsByConfigHash(settings, HASH, { client: refusing }).catch((error: unknown) => error)) as FltsError;
    expect(plain).toMatchObject({ code: 'FLTS_EVAL_NO_RUNS' });
    expect(plain.details.configHashesWithRuns).toBeUndefined();
  });
});

describe('core > eval > rankMlflowRunsByConfigHash > target sets', () => {
  /** The finished mirror of a flts run of `targets`, with the params the mirror logs for it. */
  async function mirrorOfTargets(store: ObjectStore, id: string, rmse: number, targets: string[]): Promise<MlflowRun> {
    const record = fakeRun(id, 'NAIVE', { rmse, mae: rmse, mse: rmse }, '2026-12-01T00:00:00.000Z', 'SUCCESS', HASH);
    await saveRunRecord(store, settings, { ...record, window: { ...record.window, targets } });
    const params = Object.entries((await loadMirrorSource(store, settings, id)).params).map(([key, value]) => ({ key, value }));
    const metrics = ['test_rmse', 'test_mae', 'test_mse'].map((key) => ({ key, value: rmse, timestamp: 0, step: 0 }));
    return { info: { run_id: `mlflow-${id}`, experiment_id: '1', status: 'FINISHED', start_time: 0 }, data: { params, tags: [], metrics } };
  }
  const reference = (id: string, rmse: number): MlflowRun => ({
    info: { run_id: `mlflow-${id}`, experiment_id: '1', status: 'FINISHED', start_time: 0 },
    data: { params: [{ key: 'config_hash', value: HASH }, { key: 'model_type', value: 'NAIVE' }], tags: [], metrics: ['test_rmse', 'test_mae', 'test_mse'].map((key) => ({ key, value: rmse, timestamp: 0, step: 0 })) },
  });

  it('ranks each target set its mirrors logged on its own board, the configured one first, runs that logged none together last', async () => {
    const store = createFsStore(path.join(root, 'target-sets'));
    const runs = [
      await mirrorOfTargets(store, 'wide-best', 0.05, ['up', 'down']),
      await mirrorOfTargets(store, 'down-b', 0.3, ['down']),
      await mirrorOfTargets(store, 'wide', 0.1, ['down', 'up']),
      await mirrorOfTargets(store, 'down-a', 0.2, ['down']),
      reference('ref-a', 0.4),
      reference('ref-b', 0.01),
    ];
    const board = await rankMlflowRunsByConfigHash(settings, HASH, { client: serverWith(runs) });
    expect(board.rows.map((row) => [row.mlflowRunId, row.rank, row.targets?.join(',') ?? null])).toEqual([
      ['mlflow-down-a', 1, 'down'],
      ['mlflow-down-b', 2, 'down'],
      ['mlflow-wide-best', 1, 'down,up'],
      ['mlflow-wide', 2, 'down,up'],
      ['mlflow-ref-b', 1, null],
      ['mlflow-ref-a', 2, null],
    ]);
    expect(board.target_sets).toEqual([
      { targets: ['down'], runs: 2 },
      { targets: ['down', 'up'], runs: 2 },
      { targets: null, runs: 2 },
    ]);
    expect(board.targets).toEqual(['down']);
  });

  it('ranks runs that logged no targets as one board, as before', async () => {
    const board = await rankMlflowRunsByConfigHash(settings, HASH, { client: serverWith([reference('ref-a', 0.4), reference('ref-b', 0.01)]) });
    expect(board.rows.map((row) => [row.mlflowRunId, row.rank])).toEqual([['mlflow-ref-b', 1], ['mlflow-ref-a', 2]]);
    expect(board.target_sets).toEqual([{ targets: null, runs: 2 }]);
  });
});
