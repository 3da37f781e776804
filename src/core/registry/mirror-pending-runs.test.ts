import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { recordingStore } from '../storage/recording-store.fixture.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import type { MlflowRun } from '../tracking/mlflow-types.js';
import { MIRROR_TAGS } from '../tracking/tracking-deps.js';
import { mirrorPendingRuns } from './mirror-pending-runs.js';
import { fakeRun } from './run-record.fixture.js';
import { saveRunRecord } from './run-store.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-mirror-pending-'));
const settings = defaultSettings();
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

/** A complete, finished MLflow mirror of flts run `runId`. */
function completeMirror(runId: string): MlflowRun {
  const tags = [{ key: MIRROR_TAGS.runId, value: runId }, { key: MIRROR_TAGS.complete, value: 'true' }];
  return { info: { run_id: `mlflow-${runId}`, experiment_id: '1', status: 'FINISHED' }, data: { tags } };
}

/**
 * A tracking server holding complete mirrors of `mirrored`; a run searched for by its id has one too by then (a
 * concurrent sync finished it), so mirroring it sends nothing.
 */
function serverWith(mirrored: readonly string[]): MlflowClient {
  return {
    searchExperiments: async () => [{ experiment_id: '1', name: 'Default' }],
    searchRuns: async ({ filter }: { filter?: string }) => {
      const one = /flts\.run_id` = '([^']+)'/.exec(filter ?? '')?.[1];
      return one ? [completeMirror(one)] : mirrored.map(completeMirror);
    },
  } as unknown as MlflowClient;
}

describe('core > registry > mirrorPendingRuns', () => {
  it('looks up only the runs MLflow lacks, oldest first, without listing every object of the runs bucket', async () => {
    const inner = createFsStore(root);
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    for (const [at, id] of ids.entries()) {
      await saveRunRecord(inner, settings, fakeRun(id, 'LSTM', { rmse: 1, mae: 1, mse: 1 }, `2025-01-0${at + 1}T00:00:00.000Z`));
      for (const file of ['model/model.json', 'model/weights.bin', 'scaler.json', 'predictions.json', 'intervals.json']) await inner.put('runs', `${id}/${file}`, '{}');
    }
    // Saved last, so its record is the newest: pending runs go oldest record first.
    await saveRunRecord(inner, settings, fakeRun('r2', 'LSTM', { rmse: 1, mae: 1, mse: 1 }, '2025-01-02T00:00:00.000Z', 'SUCCESS'));
    await inner.put('runs', 'live/global/replicas/a.json', '{}');
    const { store, calls } = recordingStore(inner);

    const result = await mirrorPendingRuns(store, settings, {}, { client: serverWith(['r1', 'r3', 'r4', 'r6']) });

    expect(result.pending).toEqual(['r5', 'r2']);
    expect(result.mirrored.map((run) => [run.runId, run.upToDate])).toEqual([['r5', true], ['r2', true]]);
    // The folders by name, then the runs MLflow lacks (and the folders without a record): never the bucket whole.
    expect(calls.filter((call) => call.method === 'list' && !call.key)).toEqual([]);
    const touched = new Set(calls.flatMap((call) => (call.key ? [call.key.split('/')[0]] : [])));
    expect([...touched].sort()).toEqual(['live', 'r2', 'r5']);
  });
});
