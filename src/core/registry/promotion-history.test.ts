import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { listPromotionHistory } from './promotion-history.js';

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
});
