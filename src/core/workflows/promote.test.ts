import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { getJson, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { readPromotionPointer, readPromotionPointerWithSource, type PromotionRecord } from '../registry/pointers.js';
import { listPromotionHistory } from '../registry/promotion-history.js';
import { promoteBest, promoteRun, rollbackPromotion } from './promote.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import type { RunRecord } from '../registry/run-record.js';
import { saveRunRecord } from '../registry/run-store.js';

const HASH = 'c'.repeat(64);
let root: string;
let store: ObjectStore;
let settings: Settings;

async function addRun(run: RunRecord): Promise<void> {
  await saveRunRecord(store, settings, run);
  await store.put('runs', `${run.run_id}/model/${run.model_type === 'NAIVE' ? 'naive.json' : run.model_type === 'PROPHET' ? 'prophet.json' : 'model.json'}`, '{}');
}

beforeEach(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'flts-promote-'));
  store = createFsStore(root);
  settings = defaultSettings();
  await addRun(fakeRun('runA', 'LSTM', { rmse: 0.05, mae: 0.04, mse: 0.0025 }, '2025-01-01T00:00:00.000Z'));
  await addRun(fakeRun('runB', 'GRU', { rmse: 0.04, mae: 0.03, mse: 0.0016 }, '2025-01-02T00:00:00.000Z'));
  await addRun(fakeRun('runC', 'NAIVE', { rmse: 0.042, mae: 0.03, mse: 0.0018 }, '2025-01-03T00:00:00.000Z'));
  await addRun(fakeRun('runF', 'LSTM', { rmse: 0.01, mae: 0.01, mse: 0.0001 }, '2025-01-04T00:00:00.000Z', 'FAILED'));
});
afterEach(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > workflows > promote', () => {
  it('writes the history record, then both pointers, in the reference layout and field order', async () => {
    const result = await promoteRun('runA', settings, { store, now: () => new Date('2025-11-03T19:16:41.896Z') });
    const record = result.record;
    expect(record.timestamp).toMatch(/^2025-11-03T19:16:41\.896\d{3}Z$/);
    const key = `global/${HASH}/promotion-${record.timestamp.replace(/:/g, '-')}.json`;
    expect(result.history_key).toBe(`model-promotion/${key}`);
    const stored = await getJson<PromotionRecord>(store, 'model-promotion', key);
    expect(Object.keys(stored)).toEqual(['identifier', 'config_hash', 'run_id', 'model_type', 'experiment', 'model_uri', 'rmse', 'mae', 'mse', 'score', 'timestamp', 'weights', 'source', 'previous_run_id', 'reason', 'action']);
    expect(stored).toMatchObject({ identifier: '', run_id: 'runA', model_uri: 'runs:/runA/LSTM', experiment: 'Default', weights: { rmse: 0.5, mae: 0.3, mse: 0.2 }, source: 'manual', previous_run_id: null });
    expect(stored.score).toBeCloseTo(0.5 * 0.05 + 0.3 * 0.04 + 0.2 * 0.0025, 12);
    const text = (await store.get('model-promotion', 'current.json')).toString();
    expect(JSON.parse(text)).toEqual(stored);
    expect(await getJson(store, 'model-promotion', 'global/current.json')).toEqual(stored);
  });

  it('refuses unknown and unsuccessful runs', async () => {
    await expect(promoteRun('nope', settings, { store })).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_FOUND' });
    await expect(promoteRun('runF', settings, { store })).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_SUCCESSFUL' });
    await expect(promoteRun('../x', settings, { store })).rejects.toMatchObject({ code: 'FLTS_RUN_NOT_FOUND' });
    expect(await readPromotionPointer(store, settings)).toBeUndefined();
  });

  it('promotes the scoreboard winner and respects the quality gate unless forced', async () => {
    const best = await promoteBest(HASH, settings, { store });
    expect(best.record).toMatchObject({ run_id: 'runB', source: 'auto' });
    settings.eval.minImprovementPct = 10; // runB beats NAIVE by ~4.8% only
    await expect(promoteBest(HASH, settings, { store })).rejects.toMatchObject({ code: 'FLTS_EVAL_GATE_FAILED' });
    const forced = await promoteBest(HASH, settings, { store }, { force: true });
    expect(forced.record.previous_run_id).toBe('runB');
  });

  it('rolls back through the history one promotion at a time', async () => {
    await promoteRun('runA', settings, { store });
    await promoteRun('runB', settings, { store });
    await promoteRun('runC', settings, { store });
    expect((await rollbackPromotion(settings, { store })).record).toMatchObject({ run_id: 'runB', previous_run_id: 'runC', action: 'rollback' });
    expect((await rollbackPromotion(settings, { store })).record.run_id).toBe('runA');
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runA');
    await expect(rollbackPromotion(settings, { store })).rejects.toMatchObject({ code: 'FLTS_PROMOTE_NOTHING_TO_ROLLBACK' });
    expect((await listPromotionHistory(store, settings, 'global')).map((r) => r.run_id)).toEqual(['runA', 'runB', 'runC', 'runB', 'runA']);
  });

  it('leaves both pointers on the newest history record after concurrent promotions', async () => {
    await Promise.all(['runA', 'runB', 'runC', 'runA', 'runB', 'runC'].map((id) => promoteRun(id, settings, { store })));
    const history = await listPromotionHistory(store, settings);
    expect(history).toHaveLength(6);
    const newest = history[history.length - 1];
    expect(await getJson(store, 'model-promotion', 'current.json')).toEqual(newest);
    expect(await getJson(store, 'model-promotion', 'global/current.json')).toEqual(newest);
  });

  it('reads pointers through the cascade, tolerating reference multipart JSON and skipping garbage', async () => {
    const wrapped = '--b\r\nContent-Disposition: form-data; name="file"\r\n\r\n{"run_id": "runB", "config_hash": "x", "rmse": NaN}\r\n--b--\r\n';
    await store.put('model-promotion', 'current.json', wrapped);
    expect(await readPromotionPointerWithSource(store, settings)).toMatchObject({ key: 'current.json', record: { run_id: 'runB', rmse: null } });
    await store.put('model-promotion', 'current.json', 'not json at all');
    await putJson(store, 'model-promotion', 'global/current.json', { run_id: 'runA' });
    expect(await readPromotionPointerWithSource(store, settings)).toMatchObject({ key: 'global/current.json', skipped: ['current.json is not valid JSON'] });
    settings.identifier = 'site1';
    await putJson(store, 'model-promotion', 'site1/current.json', { run_id: 'runC' });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runC');
  });
});
