import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { startLogRetention, sweepPredictionLogs } from './prediction-log-retention.js';

const BUCKET = 'inference-logs';
const NOW = new Date('2026-12-05T00:30:00.000Z');
/** Days relative to NOW: today, yesterday, 2, 3, 10 and 400 days ago. */
const DAYS = ['20261205', '20261204', '20261203', '20261202', '20261125', '20251031'];

let dir: string;
let store: ObjectStore;

async function seed(): Promise<void> {
  for (const scope of ['default', 'site-a']) {
    for (const day of DAYS) {
      await store.put(BUCKET, `${scope}/${day}/000000000-a.jsonl`, '{}\n');
      await store.put(BUCKET, `${scope}/${day}/batch-r1-abc.jsonl`, '{}\n');
    }
  }
  // Not a day folder: left alone whatever its name looks like.
  await store.put(BUCKET, 'site-a/notes/20200101.jsonl', '{}\n');
  await store.put(BUCKET, 'site-a/20200231/x.jsonl', '{}\n');
}

const daysLeft = (scope: string): string[] => readdirSync(path.join(dir, BUCKET, scope)).sort();

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flts-retention-'));
  store = createFsStore(dir);
  await seed();
});
afterEach(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > serve > prediction-log-retention', () => {
  it('deletes the day folders older than the retention in every identifier scope, and only those', async () => {
    const result = await sweepPredictionLogs({ store, bucket: BUCKET, retentionDays: 3, now: () => NOW });
    expect(result).toEqual({ days: ['default/20251031', 'default/20261125', 'site-a/20251031', 'site-a/20261125'], objects: 8, complete: true });
    expect(daysLeft('default')).toEqual(['20261202', '20261203', '20261204', '20261205']);
    expect(daysLeft('site-a')).toEqual(['20200231', '20261202', '20261203', '20261204', '20261205', 'notes']);
    expect(await store.exists(BUCKET, 'site-a/20261202/batch-r1-abc.jsonl')).toBe(true);
  });

  it('keeps today and yesterday at the shortest retention, and deletes nothing at 0', async () => {
    expect(await sweepPredictionLogs({ store, bucket: BUCKET, retentionDays: 0, now: () => NOW })).toEqual({ days: [], objects: 0, complete: true });
    expect(daysLeft('default')).toEqual([...DAYS].sort());
    await sweepPredictionLogs({ store, bucket: BUCKET, retentionDays: 1, now: () => NOW });
    expect(daysLeft('default')).toEqual(['20261204', '20261205']);
  });

  it('bounds the objects one sweep deletes, and the next sweep finishes', async () => {
    const first = await sweepPredictionLogs({ store, bucket: BUCKET, retentionDays: 2, now: () => NOW, maxDeletes: 3 });
    expect(first).toMatchObject({ objects: 3, complete: false });
    const rest = await sweepPredictionLogs({ store, bucket: BUCKET, retentionDays: 2, now: () => NOW });
    expect(rest).toMatchObject({ objects: 9, complete: true });
    expect(daysLeft('site-a')).toEqual(['20200231', '20261203', '20261204', '20261205', 'notes']);
  });

  it('deletes a folder with bulk deletes, and lists no more of it than the deletes left in the bound (and one more)', async () => {
    const limits: Array<number | undefined> = [];
    const bulk: string[][] = [];
    const watched: ObjectStore = {
      ...store,
      list: async (bucket, prefix, options) => (limits.push(options?.limit), store.list(bucket, prefix, options)),
      delete: () => Promise.reject(new Error('one request per object')),
      deleteMany: async (bucket, keys) => (bulk.push([...keys]), store.deleteMany(bucket, keys)),
    };
    for (let i = 0; i < 6; i++) await store.put(BUCKET, `default/20251031/extra-${i}.jsonl`, '{}\n');
    const first = await sweepPredictionLogs({ store: watched, bucket: BUCKET, retentionDays: 3, now: () => NOW, maxDeletes: 5 });
    expect(first).toEqual({ days: [], objects: 5, complete: false });
    expect(limits).toEqual([6]);
    expect(bulk).toEqual([['default/20251031/000000000-a.jsonl', 'default/20251031/batch-r1-abc.jsonl', 'default/20251031/extra-0.jsonl', 'default/20251031/extra-1.jsonl', 'default/20251031/extra-2.jsonl']]);
    limits.length = 0;
    const rest = await sweepPredictionLogs({ store: watched, bucket: BUCKET, retentionDays: 3, now: () => NOW, maxDeletes: 7 });
    expect(rest).toEqual({ days: ['default/20251031', 'default/20261125', 'site-a/20251031'], objects: 7, complete: false });
    expect(limits).toEqual([8, 5, 3]);
  });

  it('fails a sweep whose deletes the store refuses under the store\'s code, counting the refused keys', async () => {
    const refusing: ObjectStore = {
      ...store,
      deleteMany: async (bucket, keys) => {
        const [denied, ...rest] = keys;
        const done = await store.deleteMany(bucket, rest);
        return { ...done, failed: [{ key: denied, error: new FltsError('FLTS_STORE_ACCESS_DENIED', `denied ${denied}`, { details: { s3Code: 'AccessDenied' } }) }] };
      },
    };
    const error = await sweepPredictionLogs({ store: refusing, bucket: BUCKET, retentionDays: 3, now: () => NOW }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FLTS_STORE_ACCESS_DENIED', details: { folder: 'default/20251031/', failed: 1, s3Code: 'AccessDenied' } });
    expect((error as FltsError).message).toBe('1 of 2 prediction log objects in default/20251031/ could not be deleted; the first, default/20251031/000000000-a.jsonl: denied default/20251031/000000000-a.jsonl');
    expect(await store.exists(BUCKET, 'default/20251031/000000000-a.jsonl')).toBe(true);
    expect(await store.exists(BUCKET, 'default/20251031/batch-r1-abc.jsonl')).toBe(false);
  });

  it('lets replicas sweep at once: every old folder goes once and none of them fails', async () => {
    const sweeps = await Promise.all(Array.from({ length: 4 }, () => sweepPredictionLogs({ store, bucket: BUCKET, retentionDays: 3, now: () => NOW })));
    expect(sweeps.every((sweep) => sweep.complete)).toBe(true);
    expect(daysLeft('default')).toEqual(['20261202', '20261203', '20261204', '20261205']);
    expect(daysLeft('site-a')).toEqual(['20200231', '20261202', '20261203', '20261204', '20261205', 'notes']);
  });

  it('logs a failed sweep with its code instead of throwing, and stops its timer', async () => {
    const warnings: Array<Record<string, unknown>> = [];
    const logger = { ...silentLogger, warn: (fields: Record<string, unknown>, message: string) => warnings.push({ ...fields, message }) } as unknown as Logger;
    const broken: ObjectStore = { ...store, listFolders: () => Promise.reject(new FltsError('FLTS_STORE_UNAVAILABLE', 'store down')) };
    const retention = startLogRetention({ store: broken, bucket: BUCKET, retentionDays: 3, now: () => NOW, logger });
    expect(await retention.lastSweep).toBeUndefined();
    await retention.stop();
    expect(warnings).toEqual([expect.objectContaining({ code: 'FLTS_STORE_UNAVAILABLE', message: 'prediction_log_retention_failed' })]);
  });

  it('starts nothing at retention 0', async () => {
    const retention = startLogRetention({ store, bucket: BUCKET, retentionDays: 0, logger: silentLogger });
    expect(retention.lastSweep).toBeUndefined();
    await retention.stop();
    expect(daysLeft('default')).toHaveLength(DAYS.length);
  });
});
