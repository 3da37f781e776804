import { describe, expect, it, vi } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { MemoryMlflow } from '../registry/memory-mlflow.fixture.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { toRecord, type MlflowLoggedModel, type MlflowModelVersion } from '../tracking/mlflow-types.js';
import { markPromoted, promotedScopeTag } from './mark-promoted.js';

// A network run's export without training one, for the run whose mirror lacks its logged model.
vi.mock('../registry/mirror-model.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../registry/mirror-model.js')>();
  const { fakeRun } = await import('../registry/run-record.fixture.js');
  const record = { ...fakeRun('run-g', 'GRU', { rmse: 1, mae: 1, mse: 1 }, '2026-12-01T00:00:00.000Z'), timings: { started_at: '2026-12-01T00:00:00.000Z', finished_at: '2026-12-01T00:01:00.000Z' } };
  return { ...original, planMirroredModel: async () => ({ kind: 'onnx', record, exported: { bytes: new Uint8Array([8, 1]) } }) };
});

const settings = resolveSettings({ flags: { 'tracking.uri': 'http://127.0.0.1:19402' } }).settings;

describe('core > workflows > markPromoted', () => {
  it('moves the promoted tag of a server without a model registry as the alias would move: only runs in service keep it, per scope', async () => {
    const mlflow = new MemoryMlflow();
    const [a, b, c] = ['run-a', 'run-b', 'run-c'].map((id) => mlflow.addMirror(id).info.run_id);
    // A server whose model registry refuses flts (too old for aliases, or no permission on it).
    const client = {
      ...mlflow.client,
      getOrCreateRegisteredModel: async () => {
        throw new FltsError('FLTS_TRACKING_REJECTED', 'MLflow rejected GET /api/2.0/mlflow/registered-models/get (HTTP 404 ENDPOINT_NOT_FOUND)');
      },
    } as MlflowClient;
    const promote = (runId: string, identifier?: string) => markPromoted(undefined, settings, { run_id: runId, model_type: 'NAIVE', identifier }, { client });
    const inService = (): string[] => mlflow.runs.filter((run) => toRecord(run.data.tags).promoted === 'true').map((run) => run.info.run_id).sort();

    expect(await promote('run-a')).toMatchObject({ marker: 'tag', mlflowRunId: a, tag: 'promoted' });
    await promote('run-a', 'cell:7');
    expect(inService()).toEqual([a]);
    // Replaced in global, but still in service in cell:7: it keeps `promoted`.
    await promote('run-b');
    expect(inService()).toEqual([a, b]);
    // Replaced in its last scope: before, every run ever promoted kept promoted=true.
    await promote('run-c', 'cell:7');
    expect(inService()).toEqual([b, c]);
    expect(toRecord(mlflow.runs.find((run) => run.info.run_id === a)?.data.tags)).toMatchObject({ [promotedScopeTag('global')]: 'false', [promotedScopeTag('cell:7')]: 'false', promoted: 'false' });
    expect(promotedScopeTag('cell:7')).toBe('flts.promoted.cell_7');
  });

  describe('a run with an MLflow model, on MLflow 3', () => {
    /** A registry that records the versions made, and a server whose logged models of the run are `models`. */
    function registry(mlflow: MemoryMlflow, models: MlflowLoggedModel[], versions: MlflowModelVersion[] = []) {
      const made: Array<Record<string, unknown>> = [];
      const client = {
        ...mlflow.client,
        searchLoggedModels: async () => models,
        getOrCreateRegisteredModel: async () => undefined,
        searchModelVersions: async () => versions,
        createModelVersion: async (input: Record<string, unknown>) => {
          made.push(input);
          const version = { name: String(input.name), version: String(versions.length + 1), source: String(input.source), run_id: String(input.runId) };
          versions.push(version);
          return version;
        },
        setRegisteredModelAlias: async () => undefined,
      } as unknown as MlflowClient;
      return { client, made };
    }
    const onnxMirror = (mlflow: MemoryMlflow) => mlflow.addMirror('run-g', { tags: { 'flts.mlflow_model': 'onnx' } });
    const ready = (runId: string): MlflowLoggedModel => ({ info: { model_id: 'm-1', experiment_id: '1', source_run_id: runId, status: 'LOGGED_MODEL_READY', tags: [{ key: 'flts.run_id', value: 'run-g' }] } });

    it("versions the run's logged model: source models:/<model_id> and its model_id, so the experiment's Models tab lists the registration", async () => {
      const mlflow = new MemoryMlflow();
      const run = onnxMirror(mlflow);
      const { client, made } = registry(mlflow, [ready(run.info.run_id)]);
      expect(await markPromoted(undefined, settings, { run_id: 'run-g', model_type: 'GRU' }, { client })).toMatchObject({ marker: 'alias', version: '1' });
      expect(made).toEqual([expect.objectContaining({ source: 'models:/m-1', modelId: 'm-1', runId: run.info.run_id })]);
    });

    it('logs the logged model of a mirror an flts before them wrote (tagged onnx, none logged) from the store, and versions it', async () => {
      const mlflow = new MemoryMlflow();
      const run = onnxMirror(mlflow);
      const models: MlflowLoggedModel[] = [];
      const { client, made } = registry(mlflow, models);
      const logging = {
        ...client,
        createLoggedModel: async (input: { sourceRunId: string; tags: Array<{ key: string; value: string }> }) => {
          const model = { info: { model_id: 'm-new', experiment_id: '1', source_run_id: input.sourceRunId, status: 'LOGGED_MODEL_PENDING', artifact_uri: 'mlflow-artifacts:/1/models/m-new/artifacts', tags: input.tags } };
          models.push(model);
          return model;
        },
        finalizeLoggedModel: async (id: string, status: string) => void (models.find((model) => model.info.model_id === id)!.info.status = status),
        logOutputs: async () => undefined,
      } as unknown as MlflowClient;
      const store = {} as Parameters<typeof markPromoted>[0];
      expect(await markPromoted(store, settings, { run_id: 'run-g', model_type: 'GRU' }, { client: logging })).toMatchObject({ marker: 'alias' });
      expect(models.map((model) => [model.info.model_id, model.info.status, model.info.source_run_id])).toEqual([['m-new', 'LOGGED_MODEL_READY', run.info.run_id]]);
      expect(made).toEqual([expect.objectContaining({ source: 'models:/m-new', modelId: 'm-new' })]);
    });

    it("keeps the version an flts before logged models made at the run's model/ rather than making a second one of the same model", async () => {
      const mlflow = new MemoryMlflow();
      const run = onnxMirror(mlflow);
      const { client, made } = registry(mlflow, [ready(run.info.run_id)], [{ name: 'flts-global', version: '4', source: `runs:/${run.info.run_id}/model`, run_id: run.info.run_id }]);
      expect(await markPromoted(undefined, settings, { run_id: 'run-g', model_type: 'GRU' }, { client })).toMatchObject({ marker: 'alias', version: '4' });
      expect(made).toEqual([]);
    });
  });
});
