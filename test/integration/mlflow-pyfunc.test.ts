/**
 * A model flts mirrors and registers in a real MLflow tracking server (the suite's, from scripts/mlflow/up.sh), loaded
 * the way an MLflow user loads one: `mlflow.pyfunc.load_model('models:/<name>@champion')` in Python (mlflow-skinny,
 * onnx and onnxruntime from PyPI, scripts/mlflow-client/install.sh), whose forecast for a window of the test file is
 * flts's own for that window.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnAffine } from '../../src/core/data/scaler.js';
import { TIME_FEATURE_COLUMNS, timeFeatureValues } from '../../src/core/preprocess/time-features.js';
import { runPreprocess } from '../../src/core/preprocess/run-preprocess.js';
import { exportRun } from '../../src/core/registry/export-run.js';
import { loadRunForServing } from '../../src/core/registry/load-run.js';
import { MLFLOW_MODEL_ENV } from '../../src/core/registry/mlflow-model.js';
import type { RunRecord } from '../../src/core/registry/run-record.js';
import { createMlflowClient } from '../../src/core/tracking/index.js';
import { proxiedArtifactRoot } from '../../src/core/tracking/mlflow-client.js';
import { findMirroredRun } from '../../src/core/registry/mirror-run.js';
import { toRecord, type MlflowRun } from '../../src/core/tracking/mlflow-types.js';
import { markPromoted } from '../../src/core/workflows/mark-promoted.js';
import { syncRunsToTracking } from '../../src/core/workflows/sync-runs-to-tracking.js';
import { trainModels } from '../../src/core/workflows/train.js';
import { sha256Hex } from '../../src/core/config/config-hash.js';
import { createSliceHome, DATASETS, type SliceHome } from '../helpers/poblesec-slice.js';
import { REPO_ROOT } from '../helpers/run-cli.js';
import { runPythonJson } from '../helpers/run-python.js';
import { skipNote, useServers } from '../helpers/servers.js';

const SCRIPT = path.join(REPO_ROOT, 'test/fixtures/mlflow/pyfunc_load.py');
/** Windows of the test file forecast at once, ending at these rows. */
const ENDS = [40, 90, 140];

const mlflow = await useServers('mlflow');
const client = mlflow.skip ? mlflow : await useServers('mlflow-client');
const skip = mlflow.skip ?? client.skip;

/** Windows [ENDS.length, inputSeqLen, features] of the test file in original units, time features as flts computes them. */
function testWindows(features: readonly string[], inputSeqLen: number): Float32Array {
  const lines = readFileSync(path.join(DATASETS, 'PobleSec_test.csv'), 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  const rows = lines.slice(1).map((line) => line.split(','));
  const out = new Float32Array(ENDS.length * inputSeqLen * features.length);
  ENDS.forEach((end, w) => {
    for (let r = 0; r < inputSeqLen; r++) {
      const row = rows[end - inputSeqLen + 1 + r];
      const time = timeFeatureValues(Date.parse(`${row[header.indexOf('time')].replace(' ', 'T')}Z`));
      features.forEach((feature, f) => {
        const t = (TIME_FEATURE_COLUMNS as readonly string[]).indexOf(feature);
        out[(w * inputSeqLen + r) * features.length + f] = t >= 0 ? time[t] : Number(row[header.indexOf(feature)]);
      });
    }
  });
  return out;
}

describe.skipIf(Boolean(skip))(`integration > mlflow > a registered flts model loads with mlflow.pyfunc${skip ? ` (skipped: ${skip})` : skipNote(mlflow)}`, () => {
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const registered = `flts-pyfunc-${suffix}`;
  let slice: SliceHome;
  let gru: RunRecord;
  let naive: RunRecord;
  let lstm: RunRecord;
  let answer: any;
  let window: Float32Array;
  const versions: Record<string, { version: string; mlflowRunId: string }> = {};
  /** The MLflow 3 logged model of each network run, by model type, and the runs' mirrors. */
  const logged: Record<string, string> = {};
  const mirrors: Record<string, MlflowRun> = {};

  beforeAll(async () => {
    slice = createSliceHome('flts-mlflow-pyfunc-', {
      'tracking.uri': mlflow.vars.FLTS_TEST_MLFLOW_URI,
      'tracking.experiments.neural': `flts-pyfunc-${suffix}-nn`,
      'tracking.experiments.statistical': `flts-pyfunc-${suffix}-stat`,
      'tracking.registeredModel': registered,
      'tracking.timeoutMs': 10_000,
      'tracking.retries': 2,
      'tracking.backoffMs': 50,
    });
    const { store, settings } = slice;
    await runPreprocess(settings, { store });
    [gru, naive] = (await trainModels({ models: ['GRU', 'NAIVE'] }, settings, { store })).runs;
    [lstm] = (await trainModels({ models: ['LSTM'] }, settings, { store })).runs;
    const sync = await syncRunsToTracking(store, settings, { runIds: [gru.run_id, naive.run_id, lstm.run_id] });
    expect(sync.status, JSON.stringify(sync)).toBe('ok');
    // The LSTM's mirror as an flts before MLflow models left it: complete, without the model's tags and files.
    const tracking = createMlflowClient(settings.tracking);
    const lstmMirror = (await findMirroredRun(tracking, lstm.run_id))!;
    const rest = async (method: string, route: string, body?: unknown) => {
      const response = await fetch(`${mlflow.vars.FLTS_TEST_MLFLOW_URI}${route}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      expect(response.status, `${method} ${route}`).toBe(200);
    };
    for (const key of ['flts.mlflow_model', 'mlflow.log-model.history']) await rest('POST', '/api/2.0/mlflow/runs/delete-tag', { run_id: lstmMirror.info.run_id, key });
    // Nor any logged model of it.
    const [lstmModel] = (await tracking.searchLoggedModels({ experimentIds: [lstmMirror.info.experiment_id], filter: `source_run_id = '${lstmMirror.info.run_id}'` })) ?? [];
    await rest('DELETE', `/api/2.0/mlflow/logged-models/${lstmModel.info.model_id}`);
    await rest('DELETE', `/api/2.0/mlflow-artifacts/artifacts/${proxiedArtifactRoot(lstmMirror.info.artifact_uri)}/model/MLmodel`);
    const old = await markPromoted(store, { ...settings, tracking: { ...settings.tracking, registeredModel: `${registered}-old` } }, { run_id: lstm.run_id, model_type: 'LSTM' });
    expect(old.marker).toBe('alias');
    // NAIVE first: version 1 of the model has no MLflow flavour, version 2 (the GRU, champion at the end) has.
    for (const run of [naive, gru]) {
      const marker = await markPromoted(store, settings, { run_id: run.run_id, model_type: run.model_type });
      expect(marker.marker).toBe('alias');
      if (marker.marker === 'alias') versions[run.model_type] = { version: marker.version, mlflowRunId: marker.mlflowRunId };
    }
    for (const run of [gru, lstm, naive]) {
      mirrors[run.model_type] = (await findMirroredRun(tracking, run.run_id))!;
      const { run_id: mlflowRunId, experiment_id: experimentId } = mirrors[run.model_type].info;
      const [model] = (await tracking.searchLoggedModels({ experimentIds: [experimentId], filter: `source_run_id = '${mlflowRunId}'` })) ?? [];
      if (model) logged[run.model_type] = model.info.model_id;
    }
    window = testWindows(gru.window.features, gru.window.inputSeqLen);
    answer = await runPythonJson(
      client.vars.FLTS_TEST_MLFLOW_CLIENT_PYTHON,
      SCRIPT,
      {
        tracking_uri: mlflow.vars.FLTS_TEST_MLFLOW_URI,
        window: Array.from(window),
        shape: [ENDS.length, gru.window.inputSeqLen, gru.window.features.length],
        loads: [`models:/${registered}@champion`, `models:/${registered}/${versions.NAIVE.version}`, `runs:/${versions.GRU.mlflowRunId}/model`, `models:/${registered}-old@champion`, `models:/${logged.GRU}`],
        logged_models: [`flts-pyfunc-${suffix}-nn`, `flts-pyfunc-${suffix}-stat`],
      },
      240_000,
    );
  }, 400_000);

  afterAll(() => slice?.remove());

  it("models:/<name>@champion loads as an onnx + python_function model whose forecast of three windows is flts's own (float32 tolerance)", async () => {
    const loaded = answer.loads[`models:/${registered}@champion`];
    expect(loaded.error, loaded.error).toBeUndefined();
    expect(loaded.flavors).toEqual(['onnx', 'python_function']);
    expect(loaded.loader_module).toBe('mlflow.onnx');
    const { features, targets, inputSeqLen, outputSeqLen } = gru.window;
    expect(loaded.signature_inputs).toEqual([{ name: 'input', type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, inputSeqLen, features.length] } }]);
    expect(loaded.forecast_shape).toEqual([ENDS.length, outputSeqLen, targets.length]);
    expect(loaded.forecast_dtype).toBe('float32');

    // flts's forecast of the same windows: the run as serving loads it, on the scaled windows, back in original units.
    const { model, scaler } = await loadRunForServing(slice.store, slice.settings, gru.run_id);
    try {
      const f = columnAffine(scaler, features);
      const t = columnAffine(scaler, targets);
      const scaled = Float32Array.from(window, (v, i) => (v - f.offset[i % features.length]) / f.scale[i % features.length]);
      const own = await model.predict({ windows: scaled, size: ENDS.length, forecastTimes: new Float64Array(ENDS.length * outputSeqLen) });
      const original = Array.from(own, (v, i) => v * t.scale[i % targets.length] + t.offset[i % targets.length]);
      expect(loaded.forecast).toHaveLength(original.length);
      original.forEach((value, i) => {
        const scale = t.scale[i % targets.length];
        // float32: a few units in the last place of the target's scale, not of its (possibly tiny) value.
        expect(Math.abs(loaded.forecast[i] - value) / scale, `forecast ${i}: ${loaded.forecast[i]} vs ${value}`).toBeLessThanOrEqual(1e-5);
        expect(Math.abs(loaded.forecast_scaled[i] - own[i]), `scaled forecast ${i}`).toBeLessThanOrEqual(1e-5);
      });
      // Three different windows, three different forecasts: the model read the window, not a constant.
      expect(new Set(original.map((v) => v.toFixed(3))).size).toBe(ENDS.length);
    } finally {
      model.dispose();
    }
  });

  it('holds the bytes `flts export` writes, the MLmodel fields mlflow.onnx.save_model writes, and the environment the client has', async () => {
    const loaded = answer.loads[`models:/${registered}@champion`];
    expect(loaded.onnx_sha256).toBe(sha256Hex((await exportRun(slice.store, slice.settings, gru.run_id)).bytes));
    const mlmodel = loaded.files.MLmodel;
    // The champion is the run's logged model, whose MLmodel names it as MLflow 3's log_model writes it.
    const mirror = mirrors.GRU.info;
    expect(mlmodel).toMatchObject({
      artifact_path: `mlflow-artifacts:/${mirror.experiment_id}/models/${logged.GRU}/artifacts`,
      model_id: logged.GRU,
      model_uuid: logged.GRU,
      run_id: versions.GRU.mlflowRunId,
      mlflow_version: MLFLOW_MODEL_ENV.mlflow,
      flavors: {
        onnx: { data: 'model.onnx', onnx_version: MLFLOW_MODEL_ENV.onnx, providers: ['CUDAExecutionProvider', 'CPUExecutionProvider'], code: null, onnx_session_options: null },
        python_function: { data: 'model.onnx', loader_module: 'mlflow.onnx', env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' }, python_version: MLFLOW_MODEL_ENV.python },
      },
      metadata: { flts_run_id: gru.run_id, features: gru.window.features, targets: gru.window.targets },
    });
    // An MLflow 3 client takes runs:/<id>/model for the run's logged model named `model` (clients before it read the
    // run's own copy, which names none: mirror-model.test.ts).
    expect(answer.loads[`runs:/${versions.GRU.mlflowRunId}/model`].files.MLmodel).toMatchObject({ model_id: logged.GRU });
    expect(mlmodel.utc_time_created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/);
    expect(mlmodel.model_size_bytes).toBe((await exportRun(slice.store, slice.settings, gru.run_id)).bytes.byteLength);
    const requirements = [`mlflow==${MLFLOW_MODEL_ENV.mlflow}`, `onnx==${MLFLOW_MODEL_ENV.onnx}`, `onnxruntime==${MLFLOW_MODEL_ENV.onnxruntime}`];
    expect(loaded.files['requirements.txt']).toEqual(requirements);
    expect(loaded.files['conda.yaml']).toEqual({ channels: ['conda-forge'], dependencies: [`python=${MLFLOW_MODEL_ENV.python}`, `pip<=${MLFLOW_MODEL_ENV.pip}`, { pip: requirements }], name: 'mlflow-env' });
    expect(loaded.files['python_env.yaml']).toEqual({ python: MLFLOW_MODEL_ENV.python, build_dependencies: [`pip==${MLFLOW_MODEL_ENV.pip}`, `setuptools==${MLFLOW_MODEL_ENV.setuptools}`, 'wheel'], dependencies: ['-r requirements.txt'] });
    // The requirements name what the client that loaded it has installed.
    expect(answer.versions).toEqual({ 'mlflow-skinny': MLFLOW_MODEL_ENV.mlflow, onnx: MLFLOW_MODEL_ENV.onnx, onnxruntime: MLFLOW_MODEL_ENV.onnxruntime });
    // And the same model under the run's own URI.
    expect(answer.loads[`runs:/${versions.GRU.mlflowRunId}/model`].forecast).toEqual(loaded.forecast);
  });

  it("records the model on the run as MLflow does and versions the run's logged model, described", async () => {
    const tracking = createMlflowClient(slice.settings.tracking);
    const run = await tracking.getRun(versions.GRU.mlflowRunId);
    const tags = toRecord(run?.data.tags);
    expect(tags['flts.mlflow_model']).toBe('onnx');
    const history = JSON.parse(tags['mlflow.log-model.history']);
    expect(history).toEqual([expect.objectContaining({ artifact_path: 'model', run_id: versions.GRU.mlflowRunId, flavors: expect.objectContaining({ python_function: expect.objectContaining({ loader_module: 'mlflow.onnx' }) }) })]);
    const [version] = await tracking.searchModelVersions(`name='${registered}' and run_id='${versions.GRU.mlflowRunId}'`);
    // MLflow 3: the version is of the run's logged model, as a registration by mlflow.register_model('models:/<id>') is.
    // The server keeps the model's id in the source, and names the version on the logged model (its registrations).
    expect(version.source).toBe(`models:/${logged.GRU}`);
    const model = (answer.logged_models as any[]).find((candidate) => candidate.model_id === logged.GRU);
    expect(JSON.parse(model.tags['mlflow.modelVersions'])).toEqual([{ name: registered, version: Number(versions.GRU.version) }]);
    expect((version as { description?: string }).description).toContain('python_function');
  });

  it("MLflow 3 lists each network's model in its experiment (search_logged_models): READY, of its run, with the run's params and final metrics, and models:/<model_id> loads it", async () => {
    const models = answer.logged_models as any[];
    // One per network run, the LSTM's logged anew by the promotion of its mirror stripped of its model (the one its sync
    // logged was deleted): none for the NAIVE run, which has no MLflow model.
    expect(models.map((model) => model.model_id).sort()).toEqual([logged.GRU, logged.LSTM].sort());
    for (const run of [gru, lstm]) {
      const model = models.find((candidate) => candidate.model_id === logged[run.model_type]);
      const mirror = mirrors[run.model_type];
      expect(model).toMatchObject({ name: 'model', status: 'READY', model_type: run.model_type, source_run_id: mirror.info.run_id, got_same: true, tags: { 'flts.run_id': run.run_id, 'flts.mlflow_model': 'onnx' } });
      expect(model.artifact_location).toBe(`mlflow-artifacts:/${mirror.info.experiment_id}/models/${model.model_id}/artifacts`);
      expect(model.params).toEqual(toRecord(mirror.data.params));
      // The run's final metrics, the values the run has (MLflow took the linked points for repeats of the run's own).
      const onRun = Object.fromEntries((mirror.data.metrics ?? []).map((metric) => [metric.key, metric.value]));
      const linked = Object.fromEntries(model.metrics.map((metric: { key: string; value: number }) => [metric.key, metric.value]));
      for (const key of ['test_rmse', 'test_mae', 'test_mse', 'test_r2']) expect(linked[key], key).toBe(onRun[key]);
      for (const metric of model.metrics) expect(metric.run_id).toBe(mirror.info.run_id);
    }
    const byId = answer.loads[`models:/${logged.GRU}`];
    expect(byId.error, byId.error).toBeUndefined();
    expect(byId.files.MLmodel).toMatchObject({ model_id: logged.GRU, run_id: versions.GRU.mlflowRunId });
    expect(byId.forecast).toEqual(answer.loads[`models:/${registered}@champion`].forecast);
    expect(byId.onnx_sha256).toBe(sha256Hex((await exportRun(slice.store, slice.settings, gru.run_id)).bytes));
  });

  it('gives a NAIVE run no made-up flavour: its version points at its flts files and says why, and pyfunc refuses it', async () => {
    const tracking = createMlflowClient(slice.settings.tracking);
    const run = await tracking.getRun(versions.NAIVE.mlflowRunId);
    const tags = toRecord(run?.data.tags);
    expect(tags['flts.mlflow_model']).toBe('none');
    expect(tags['flts.mlflow_model_reason']).toContain('no ONNX export');
    expect(tags['mlflow.log-model.history']).toBeUndefined();
    const [version] = await tracking.searchModelVersions(`name='${registered}' and run_id='${versions.NAIVE.mlflowRunId}'`);
    expect(version.source).toBe(`${run?.info.artifact_uri}/NAIVE`);
    expect((version as { description?: string; tags?: Array<{ key: string; value: string }> }).description).toContain('no ONNX export');
    expect(toRecord((version as { tags?: Array<{ key: string; value: string }> }).tags)['flts.mlflow_model']).toBe('none');
    expect(answer.loads[`models:/${registered}/${versions.NAIVE.version}`].error).toMatch(/MLmodel/);
  });

  it('a promotion of a run whose mirror an flts before MLflow models wrote logs the model into that mirror, and it loads', async () => {
    const loaded = answer.loads[`models:/${registered}-old@champion`];
    expect(loaded.error, loaded.error).toBeUndefined();
    expect(loaded.flavors).toEqual(['onnx', 'python_function']);
    expect(loaded.onnx_sha256).toBe(sha256Hex((await exportRun(slice.store, slice.settings, lstm.run_id)).bytes));
    expect(loaded.forecast).toHaveLength(ENDS.length * lstm.window.outputSeqLen * lstm.window.targets.length);
  });
});
