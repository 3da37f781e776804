import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import type { FltsEvent } from '../events.js';
import { MemoryMlflow } from '../registry/memory-mlflow.fixture.js';
import { readPromotionPointer, scopedPointerKey, type PromotionRecord } from '../registry/pointers.js';
import { putJson } from '../storage/json-objects.js';
import { createFsStore } from '../storage/fs-store.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { historyRecord } from '../../../test/helpers/promotion-record.js';
import { markPromotionLeftOut, recordPromotionMarked } from './promotion-mark.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-promotion-mark-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const settings = resolveSettings({ flags: { 'tracking.uri': 'http://127.0.0.1:19601' } }).settings;

/** The pointer of a manual promotion of `runId`, written at 2026-01-01T00:00:01. */
const pointerTo = (runId: string): PromotionRecord => ({ ...historyRecord(runId, null, 1), source: 'manual' });

describe('core > workflows > promotion-mark', () => {
  it('asks MLflow nothing and counts no failure when no run is in service', async () => {
    const store = createFsStore(mkdtempSync(path.join(root, 'none-')));
    const events: FltsEvent[] = [];
    expect(await markPromotionLeftOut(store, settings, { client: new MemoryMlflow().client, onEvent: (event) => events.push(event) })).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('counts a mark MLflow fails as a tracking failure, and one of a run found nowhere (a pointer to a deleted run) as none', async () => {
    const store = createFsStore(mkdtempSync(path.join(root, 'failing-')));
    await putJson(store, settings.store.buckets.promotion, scopedPointerKey(settings), pointerTo('gone'));
    const events: FltsEvent[] = [];
    // No such run in the registry nor in MLflow: the pointers' trouble, reported where they are read.
    expect(await markPromotionLeftOut(store, settings, { client: new MemoryMlflow().client, onEvent: (event) => events.push(event) })).toBeUndefined();
    expect(events).toEqual([]);

    const unavailable = { ...new MemoryMlflow().client, searchRuns: async () => Promise.reject(new FltsError('FLTS_TRACKING_UNAVAILABLE', 'MLflow does not answer.')) } as unknown as MlflowClient;
    expect(await markPromotionLeftOut(store, settings, { client: unavailable, onEvent: (event) => events.push(event) })).toBeUndefined();
    expect(events).toEqual([{ type: 'tracking.unavailable', runId: 'gone', code: 'FLTS_TRACKING_UNAVAILABLE', message: 'MLflow does not answer.' }]);
  });

  it('marks again the run in service when a promotion lands while it catches up an older one: the alias never stays on the run replaced', async () => {
    const store = createFsStore(mkdtempSync(path.join(root, 'overtaken-')));
    const mlflow = new MemoryMlflow();
    const mirrors = new Map(['run-1', 'run-2'].map((id) => [mlflow.addMirror(id).info.run_id, id]));
    const versions: Array<{ version: string; run_id: string }> = [];
    let alias: string | undefined;
    let landed = false;
    const older = pointerTo('run-1');
    const newer: PromotionRecord = { ...historyRecord('run-2', 'run-1', 2), source: 'manual' };
    await putJson(store, settings.store.buckets.promotion, scopedPointerKey(settings), older);
    const runOf = (version: string | undefined) => mirrors.get(versions.find((v) => v.version === version)?.run_id ?? '');
    const client = {
      ...mlflow.client,
      getOrCreateRegisteredModel: async () => undefined,
      searchModelVersions: async (filter: string) => versions.filter((v) => filter.includes(`'${v.run_id}'`)),
      createModelVersion: async (input: { runId: string }) => {
        const created = { version: String(versions.length + 1), run_id: input.runId };
        versions.push(created);
        return created;
      },
      setRegisteredModelAlias: async (_name: string, _alias: string, version: string) => {
        if (!landed) {
          // run-2 is promoted, and marked by its promotion, between this catch-up's read of the pointers and its alias.
          landed = true;
          await putJson(store, settings.store.buckets.promotion, scopedPointerKey(settings), newer);
          const own = { version: String(versions.length + 1), run_id: [...mirrors].find(([, id]) => id === 'run-2')![0] };
          versions.push(own);
          alias = own.version;
          await recordPromotionMarked(store, settings, newer);
        }
        alias = version;
      },
    } as unknown as MlflowClient;
    const repair = await markPromotionLeftOut(store, settings, { client });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('run-2');
    // Before, the catch-up left the alias on run-1, and its record said run-2 was marked, so no sync moved it again.
    expect(runOf(alias)).toBe('run-2');
    expect(repair).toMatchObject({ runId: 'run-2', marker: 'alias' });
    expect(await markPromotionLeftOut(store, settings, { client })).toBeUndefined();
  });
});
