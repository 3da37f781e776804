import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../src/core/config/settings.js';
import { processedKeys } from '../src/core/preprocess/processed-layout.js';
import { PROCESSED_SHA256_TAG } from '../src/core/registry/mirror-source.js';
import { createObjectStore, putJson } from '../src/core/storage/index.js';
import { withServer } from '../src/core/tracking/tracking-server.fixture.js';
import { runCli } from './helpers/run-cli.js';

const HASH = 'c'.repeat(64);

/** A finished mirror of a flts run trained on the processed rows digested as `rows`. */
const mirror = (id: string, rmse: number, rows: string) => ({
  info: { run_id: id, experiment_id: '1', status: 'FINISHED', start_time: 0 },
  data: {
    params: [{ key: 'config_hash', value: HASH }, { key: 'model_type', value: 'NAIVE' }],
    tags: [{ key: 'flts.run_id', value: `flts-${id}` }, { key: PROCESSED_SHA256_TAG, value: rows }],
    metrics: ['test_rmse', 'test_mae', 'test_mse'].map((key) => ({ key, value: rmse, timestamp: 0, step: 0 })),
  },
});

describe('cli > eval --source mlflow on a config_hash whose rows were replaced', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'flts-eval-mlflow-rows-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ranks the runs of the rows it holds now and says how many it left out', async () => {
    const home = path.join(dir, 'home');
    const settings = resolveSettings({ env: { FLTS_HOME: home } }).settings;
    const sidecar = { config_hash: HASH, created_at: '2026-12-01T00:00:00Z', flts: { data_sha256: 'new-rows' } };
    await putJson(await createObjectStore(settings), settings.store.buckets.processed, processedKeys(settings, HASH).trainSidecar, sidecar);
    const runs = [mirror('old', 0.1, 'old-rows'), mirror('new', 0.2, 'new-rows')];
    await withServer(
      (request, response) => {
        const url = request.url ?? '';
        const answer = url.includes('/experiments/search') ? { experiments: [{ experiment_id: '0', name: 'Default' }, { experiment_id: '1', name: 'NonML' }] } : url.includes('/runs/search') ? { runs } : {};
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      },
      async (uri) => {
        const env = { MLFLOW_TRACKING_URI: uri, FLTS_MLFLOW_RETRIES: '0' };
        const json = await runCli(['eval', '--source', 'mlflow', '--config-hash', HASH, '--home', home, '--json'], { cwd: dir, env });
        expect(json.exitCode, json.stdout + json.stderr).toBe(0);
        expect(json.json.result.rows.map((row: { mlflow_run_id: string }) => row.mlflow_run_id)).toEqual(['new']);
        expect(json.json.result.runs_of_replaced_rows).toBe(1);
        const human = await runCli(['eval', '--source', 'mlflow', '--config-hash', HASH, '--home', home], { cwd: dir, env });
        expect(human.stdout).toContain('left out: 1 finished MLflow run(s) trained on rows that new data under the same file names replaced');
      },
    );
  });
});
