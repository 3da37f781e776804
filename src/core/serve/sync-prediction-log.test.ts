import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { PredictionLogRecord } from './prediction-log.js';
import { createSyncPredictionLog } from './sync-prediction-log.js';

const record = (i: number): PredictionLogRecord => ({
  timestamp: '2025-11-04T10:00:00.000Z',
  identifier: 'default',
  run_id: 'r1',
  model_type: 'LSTM',
  config_hash: 'h',
  status: 'SUCCESS',
  req_id: `req${i}`,
  prediction_hash: 'abc',
  metrics: {},
  samples: [],
});

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('core > serve > sync prediction log', () => {
  it('resolves each append once its record is on disk, with one append per group of concurrent records', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flts-synclog-'));
    const store = createFsStore(dir);
    let appends = 0;
    const counting: ObjectStore = { ...store, appendDurable: async (bucket, key, body) => (appends++, store.appendDurable!(bucket, key, body)) };
    const log = createSyncPredictionLog({ store: counting, bucket: 'inference-logs', identifier: '', logger: silentLogger });
    const seen: string[] = [];
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        await log.append(record(i));
        const objects = await store.list('inference-logs');
        const text = (await Promise.all(objects.map(async (o) => (await store.get('inference-logs', o.key)).toString()))).join('');
        if (text.includes(`"req${i}"`)) seen.push(`req${i}`);
      }),
    );
    await log.close();
    expect(seen).toHaveLength(200);
    expect(appends).toBeLessThan(20);
    const objects = await store.list('inference-logs');
    expect(objects).toHaveLength(1);
    expect(objects[0].key).toMatch(/^default\/20251104\/\d{9}-[0-9a-f]{12}\.jsonl$/);
  });

  it('rejects the appends of a group that could not be written, so their predictions are not acknowledged', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flts-synclog-'));
    const broken: ObjectStore = { ...createFsStore(dir), appendDurable: async () => Promise.reject(new Error('disk full')) };
    const log = createSyncPredictionLog({ store: broken, bucket: 'inference-logs', identifier: '', logger: silentLogger });
    await expect(log.append(record(1))).rejects.toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
  });

  it('writes one new object per group on a store that cannot append (S3)', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flts-synclog-'));
    const { appendDurable: _unused, ...putOnly } = createFsStore(dir);
    const log = createSyncPredictionLog({ store: putOnly, bucket: 'inference-logs', identifier: 'site', logger: silentLogger });
    await Promise.all([1, 2, 3].map((i) => log.append(record(i))));
    await log.append(record(4));
    const objects = await putOnly.list('inference-logs', 'site/');
    expect(objects.length).toBeGreaterThanOrEqual(2);
    expect(objects.length).toBeLessThanOrEqual(4);
  });
});
