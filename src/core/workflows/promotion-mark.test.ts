import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import type { FltsEvent } from '../events.js';
import { MemoryMlflow } from '../registry/memory-mlflow.fixture.js';
import { scopedPointerKey, type PromotionRecord } from '../registry/pointers.js';
import { putJson } from '../storage/json-objects.js';
import { createFsStore } from '../storage/fs-store.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { historyRecord } from '../../../test/helpers/promotion-record.js';
import { markPromotionLeftOut } from './promotion-mark.js';

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
});
