import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { createFsStore } from '../storage/fs-store.js';
import { createPredictionLog, type PredictionLogRecord } from './prediction-log.js';

const record = (i: number, timestamp = '2025-11-04T10:00:00.000Z'): PredictionLogRecord => ({
  timestamp,
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
afterEach(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > serve > prediction-log', () => {
  it('writes every flush as a new object per UTC day, never rewriting one (F22)', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flts-plog-'));
    const store = createFsStore(dir);
    await store.ensureBucket('inference-logs');
    const log = createPredictionLog({ store, bucket: 'inference-logs', identifier: '', flushIntervalMs: 60_000, maxBuffered: 100, logger: silentLogger });
    log.append(record(1));
    log.append(record(2));
    await log.flush();
    log.append(record(3));
    log.append(record(4, '2025-11-05T00:00:01.000Z'));
    await log.close();
    const objects = await store.list('inference-logs');
    expect(objects.map((o) => o.key.split('/').slice(0, 2).join('/')).sort()).toEqual(['default/20251104', 'default/20251104', 'default/20251105']);
    const lines = (await Promise.all(objects.map(async (o) => (await store.get('inference-logs', o.key)).toString()))).join('').trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).req_id).sort()).toEqual(['req1', 'req2', 'req3', 'req4']);
  });

  it('bounds memory by dropping the oldest records beyond maxBuffered', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flts-plog-'));
    const store = createFsStore(dir);
    await store.ensureBucket('inference-logs');
    const log = createPredictionLog({ store, bucket: 'inference-logs', identifier: 'site-a', flushIntervalMs: 60_000, maxBuffered: 3, logger: silentLogger });
    for (let i = 0; i < 5; i++) log.append(record(i));
    await log.close();
    expect(log.dropped).toBe(2);
    const [object] = await store.list('inference-logs', 'site-a/');
    const ids = (await store.get('inference-logs', object.key)).toString().trim().split('\n').map((line) => JSON.parse(line).req_id);
    expect(ids).toEqual(['req2', 'req3', 'req4']);
  });

  it('keeps only the newest maxBuffered of many records, non-ASCII text intact', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flts-plog-'));
    const store = createFsStore(dir);
    await store.ensureBucket('inference-logs');
    const log = createPredictionLog({ store, bucket: 'inference-logs', identifier: '', flushIntervalMs: 60_000, maxBuffered: 10, logger: silentLogger });
    for (let i = 0; i < 3000; i++) log.append({ ...record(i), model_type: 'LSTM \u00e9\u4e2d' });
    await log.close();
    expect(log.dropped).toBe(2990);
    const [object] = await store.list('inference-logs');
    const rows = (await store.get('inference-logs', object.key)).toString().trim().split('\n').map((line) => JSON.parse(line));
    expect(rows.map((row) => row.req_id)).toEqual(Array.from({ length: 10 }, (_, i) => `req${2990 + i}`));
    expect(rows.every((row) => row.model_type === 'LSTM \u00e9\u4e2d')).toBe(true);
  });

  it('puts the lines a failed write held back ahead of those appended meanwhile, and writes them next time', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flts-plog-'));
    const store = createFsStore(dir);
    await store.ensureBucket('inference-logs');
    let failures = 1;
    const flaky = Object.create(store) as typeof store;
    flaky.put = async (...args) => {
      if (failures-- > 0) throw new Error('store down');
      return store.put(...args);
    };
    const log = createPredictionLog({ store: flaky, bucket: 'inference-logs', identifier: '', flushIntervalMs: 60_000, maxBuffered: 100, logger: silentLogger });
    log.append(record(1));
    log.append(record(2));
    await log.flush();
    expect(await store.list('inference-logs')).toEqual([]);
    log.append(record(3));
    await log.close();
    const objects = await store.list('inference-logs');
    expect(objects).toHaveLength(1);
    const ids = (await store.get('inference-logs', objects[0].key)).toString().trim().split('\n').map((line) => JSON.parse(line).req_id);
    expect(ids).toEqual(['req1', 'req2', 'req3']);
  });
});
