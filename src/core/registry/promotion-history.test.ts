import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { putJson } from '../storage/json-objects.js';
import { recordingStore } from '../storage/recording-store.fixture.js';
import { readPromotionPointer, scopedPointerKey, type PromotionRecord } from './pointers.js';
import { historyKey, listPromotionHistory } from './promotion-history.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-history-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
const settings = defaultSettings();
const KEY = `global/${'c'.repeat(64)}/promotion-2026-01-01T00-00-00.000000Z.json`;

describe('core > registry > promotion history', () => {
  it('leaves out a record that is not a promotion, but fails on a store that stops answering instead of reading an empty history', async () => {
    const store = createFsStore(root);
    await store.put(settings.store.buckets.promotion, KEY, '{"run_id": "r1", "timest');
    expect(await listPromotionHistory(store, settings)).toEqual([]);

    const unreachable: ObjectStore = {
      ...store,
      get: async () => {
        throw new FltsError('FLTS_STORE_UNAVAILABLE', 'S3 endpoint http://127.0.0.1:1 did not answer for 10 s.');
      },
    };
    await expect(listPromotionHistory(unreachable, settings)).rejects.toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
  });

  it('lists and resolves a scope an earlier release made with an identifier now refused (U+200B): stored records are never checked as they are read', async () => {
    const scopeRoot = mkdtempSync(path.join(tmpdir(), 'flts-history-invisible-'));
    try {
      const store = createFsStore(scopeRoot);
      // The setting refuses it now (settings.test.ts); a library caller's settings, or what is stored, still name it.
      const scoped = { ...settings, identifier: 'site\u200Bb' };
      const record: PromotionRecord = { identifier: 'site\u200Bb', config_hash: 'c'.repeat(64), run_id: 'run1', model_type: 'NAIVE', experiment: 'NonML', model_uri: 'runs:/run1/NAIVE', rmse: 1, mae: 1, mse: 1, score: 1, timestamp: '2026-01-01T00:00:00.000000Z', weights: { rmse: 0.5, mae: 0.3, mse: 0.2 }, source: 'manual', previous_run_id: null, reason: 'r' };
      await putJson(store, settings.store.buckets.promotion, historyKey(record), record);
      await putJson(store, settings.store.buckets.promotion, scopedPointerKey(scoped), record);
      expect((await listPromotionHistory(store, settings, 'site\u200Bb')).map((r) => r.run_id)).toEqual(['run1']);
      expect(await readPromotionPointer(store, scoped)).toMatchObject({ identifier: 'site\u200Bb', run_id: 'run1' });
    } finally {
      rmSync(scopeRoot, { recursive: true, force: true });
    }
  });

  it('reads each record once however often the history is looked at, and again only once it changes', async () => {
    const historyRoot = mkdtempSync(path.join(tmpdir(), 'flts-history-reads-'));
    try {
      const { store, calls } = recordingStore(createFsStore(historyRoot));
      const record = (n: number, reason = 'r'): PromotionRecord => ({ identifier: '', config_hash: 'c'.repeat(64), run_id: `run${n}`, model_type: 'NAIVE', experiment: 'NonML', model_uri: `runs:/run${n}/NAIVE`, rmse: 1, mae: 1, mse: 1, score: 1, timestamp: `2026-01-0${n}T00:00:00.000000Z`, weights: { rmse: 0.5, mae: 0.3, mse: 0.2 }, source: 'manual', previous_run_id: null, reason });
      for (const n of [1, 2, 3]) await putJson(store, settings.store.buckets.promotion, historyKey(record(n)), record(n));
      const reads = (): Record<string, number> => {
        const counts: Record<string, number> = {};
        for (const call of calls) if (call.method === 'get') counts[call.key!] = (counts[call.key!] ?? 0) + 1;
        return counts;
      };
      // A promotion looks at the whole history four times; a year's history is thousands of records.
      for (let look = 0; look < 4; look++) expect((await listPromotionHistory(store, settings, 'global')).map((r) => r.run_id)).toEqual(['run1', 'run2', 'run3']);
      expect(Object.values(reads())).toEqual([1, 1, 1]);

      // What a caller does with the records it was given is not what the next caller reads.
      (await listPromotionHistory(store, settings, 'global'))[0].reason = 'changed in memory';
      expect((await listPromotionHistory(store, settings, 'global'))[0].reason).toBe('r');

      // Edited by hand (another size), it is read again; deleted, it is gone.
      await putJson(store, settings.store.buckets.promotion, historyKey(record(2)), record(2, 'edited by hand'));
      await store.delete(settings.store.buckets.promotion, historyKey(record(3)));
      expect((await listPromotionHistory(store, settings, 'global')).map((r) => `${r.run_id} ${r.reason}`)).toEqual(['run1 r', 'run2 edited by hand']);
      expect(reads()[historyKey(record(2))]).toBe(2);
    } finally {
      rmSync(historyRoot, { recursive: true, force: true });
    }
  });
});
