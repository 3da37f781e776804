import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { MemoryMlflow } from '../registry/memory-mlflow.fixture.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { toRecord, type MlflowLoggedModel, type MlflowModelVersion } from '../tracking/mlflow-types.js';
import { markPromoted, promotedScopeTag } from './mark-promoted.js';

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

    it("keeps the version an flts before logged models made at the run's model/ rather than making a second one of the same model", async () => {
      const mlflow = new MemoryMlflow();
      const run = onnxMirror(mlflow);
      const { client, made } = registry(mlflow, [ready(run.info.run_id)], [{ name: 'flts-global', version: '4', source: `runs:/${run.info.run_id}/model`, run_id: run.info.run_id }]);
      expect(await markPromoted(undefined, settings, { run_id: 'run-g', model_type: 'GRU' }, { client })).toMatchObject({ marker: 'alias', version: '4' });
      expect(made).toEqual([]);
    });
  });
});
