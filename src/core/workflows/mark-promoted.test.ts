import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { MemoryMlflow } from '../registry/memory-mlflow.fixture.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { toRecord } from '../tracking/mlflow-types.js';
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
});
