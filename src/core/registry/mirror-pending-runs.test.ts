import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { recordingStore } from '../storage/recording-store.fixture.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { toRecord, type MlflowRun } from '../tracking/mlflow-types.js';
import { MIRROR_TAGS } from '../tracking/tracking-deps.js';
import { FltsError } from '../errors.js';
import { DIGEST_TAG_READS_PER_SYNC, mirrorPendingRuns } from './mirror-pending-runs.js';
import { PROCESSED_SHA256_TAG } from './mirror-source.js';
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

/** A complete mirror as flts writes it now, tagged with the processed rows its run was trained on. */
function taggedMirror(runId: string): MlflowRun {
  const mirror = completeMirror(runId);
  return { ...mirror, data: { tags: [...(mirror.data.tags ?? []), { key: PROCESSED_SHA256_TAG, value: 'f'.repeat(64) }] } };
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
      return one ? [taggedMirror(one)] : mirrored.map(taggedMirror);
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

describe('core > registry > mirrorPendingRuns > mirrors written before the processed-data tag', () => {
  const digestOf = (id: string): string => id.padEnd(64, '0');

  /** A tracking server holding complete mirrors, started in the order given, whose setTag writes into them. */
  function serverOf(mirrors: MlflowRun[], failAt?: number): { client: MlflowClient; setTags: string[] } {
    const setTags: string[] = [];
    const client = {
      searchExperiments: async () => [{ experiment_id: '1', name: 'Default' }],
      searchRuns: async () => mirrors,
      setTag: async (mlflowRunId: string, key: string, value: string) => {
        if (setTags.length === failAt) throw new FltsError('FLTS_TRACKING_UNAVAILABLE', 'MLflow went away.');
        setTags.push(mlflowRunId);
        mirrors.find((run) => run.info.run_id === mlflowRunId)?.data.tags?.push({ key, value });
      },
    } as unknown as MlflowClient;
    return { client, setTags };
  }

  const mirrorOf = (runId: string, at: number, tags: Array<{ key: string; value: string }> = []): MlflowRun => ({
    ...completeMirror(runId),
    info: { run_id: `mlflow-${runId}`, experiment_id: '1', status: 'FINISHED', start_time: at },
    data: { tags: [...(completeMirror(runId).data.tags ?? []), ...tags] },
  });

  it('tags the complete mirrors whose run.json records the digest, newest first and a bounded number per sync, until none is left', async () => {
    const store = createFsStore(mkdtempSync(path.join(root, 'digests-')));
    const ids = Array.from({ length: DIGEST_TAG_READS_PER_SYNC + 2 }, (_, at) => `d${String(at).padStart(2, '0')}`);
    for (const [at, id] of ids.entries()) {
      const run = fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, `2026-01-01T00:00:${String(at).padStart(2, '0')}.000Z`);
      await saveRunRecord(store, settings, { ...run, data: { ...run.data, processed_sha256: digestOf(id) } });
    }
    // Recorded before digests existed: nothing to tag it with.
    await saveRunRecord(store, settings, fakeRun('legacy', 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2025-01-01T00:00:00.000Z'));
    const mirrors = [
      mirrorOf('legacy', 0),
      ...ids.map((id, at) => mirrorOf(id, 1000 + at)),
      mirrorOf('tagged', 5000, [{ key: PROCESSED_SHA256_TAG, value: digestOf('tagged') }]),
      // Another registry's run, mirrored to the same server: not this sync's to read.
      mirrorOf('elsewhere', 6000),
    ];
    const server = serverOf(mirrors);

    const first = await mirrorPendingRuns(store, settings, {}, { client: server.client });
    expect(first.pending).toEqual([]);
    expect(first.tagged.map((tag) => tag.runId)).toEqual(ids.slice(2).reverse());
    const second = await mirrorPendingRuns(store, settings, {}, { client: server.client });
    expect(second.tagged).toEqual([{ runId: ids[1], mlflowRunId: `mlflow-${ids[1]}` }, { runId: ids[0], mlflowRunId: `mlflow-${ids[0]}` }]);
    for (const id of ids) expect(toRecord(mirrors.find((run) => run.info.run_id === `mlflow-${id}`)?.data.tags)[PROCESSED_SHA256_TAG]).toBe(digestOf(id));

    // Everything taggable is tagged: a later sync sets nothing again.
    const third = await mirrorPendingRuns(store, settings, {}, { client: server.client });
    expect(third.tagged).toEqual([]);
    expect(server.setTags).toHaveLength(ids.length);
    expect(toRecord(mirrors[0].data.tags)[PROCESSED_SHA256_TAG]).toBeUndefined();
  });

  it('stops at an unavailable server, reports it as a failed mirror write, and the next sync finishes', async () => {
    const store = createFsStore(mkdtempSync(path.join(root, 'digests-down-')));
    for (const id of ['a1', 'a2', 'a3']) {
      const run = fakeRun(id, 'NAIVE', { rmse: 1, mae: 1, mse: 1 }, '2026-01-01T00:00:00.000Z');
      await saveRunRecord(store, settings, { ...run, data: { ...run.data, processed_sha256: digestOf(id) } });
    }
    const mirrors = ['a1', 'a2', 'a3'].map((id, at) => mirrorOf(id, at));
    const cut = await mirrorPendingRuns(store, settings, {}, { client: serverOf(mirrors, 1).client });
    expect(cut.tagged.map((tag) => tag.runId)).toEqual(['a3']);
    expect(cut.failed).toEqual([{ runId: 'a2', code: 'FLTS_TRACKING_UNAVAILABLE', message: 'MLflow went away.' }]);

    const resumed = await mirrorPendingRuns(store, settings, {}, { client: serverOf(mirrors).client });
    expect(resumed.tagged.map((tag) => tag.runId)).toEqual(['a2', 'a1']);
    expect(resumed.failed).toEqual([]);
  });
});
