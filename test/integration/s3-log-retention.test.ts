import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sweepPredictionLogs } from '../../src/core/serve/prediction-log-retention.js';
import { createS3Store } from '../../src/core/storage/s3-store.js';
import { infraSkipReason, loadInfraEnv } from './infra-env.js';

const skipReason = infraSkipReason();

describe('integration > prediction log retention on S3', () => {
  if (skipReason) {
    it.skip(`skipped: ${skipReason}`, () => {});
    return;
  }

  it('sweeps old day folders, several sweepers at once, keeping the recent ones', async () => {
    const store = createS3Store(loadInfraEnv().s3);
    const bucket = `flts-logs-${randomUUID().slice(0, 8)}`;
    for (const scope of ['default', 'site-a']) {
      for (const day of ['20251031', '20261125', '20261204', '20261205']) {
        await Promise.all([1, 2, 3].map((n) => store.put(bucket, `${scope}/${day}/00000000${n}-a.jsonl`, '{}\n')));
      }
    }
    const now = () => new Date('2026-12-05T12:00:00Z');
    const sweeps = await Promise.all([1, 2, 3].map(() => sweepPredictionLogs({ store, bucket, retentionDays: 5, now })));
    expect(sweeps.every((sweep) => sweep.complete)).toBe(true);
    expect(await store.listFolders(bucket, 'default/')).toEqual(['default/20261204/', 'default/20261205/']);
    expect((await store.list(bucket)).map((info) => info.key.split('/').slice(0, 2).join('/'))).toEqual(
      ['default/20261204', 'default/20261205', 'site-a/20261204', 'site-a/20261205'].flatMap((folder) => [folder, folder, folder]),
    );
  });

  it('sweeps a folder of more than one DeleteObjects request up to its bound, and the next sweep finishes it', async () => {
    const store = createS3Store(loadInfraEnv().s3);
    const bucket = `flts-logs-${randomUUID().slice(0, 8)}`;
    const keys = Array.from({ length: 1205 }, (_, i) => `default/20251031/${String(i).padStart(9, '0')}-a.jsonl`);
    for (let at = 0; at < keys.length; at += 50) await Promise.all(keys.slice(at, at + 50).map((key) => store.put(bucket, key, '{}\n')));
    const now = () => new Date('2026-12-05T12:00:00Z');
    expect(await sweepPredictionLogs({ store, bucket, retentionDays: 5, now, maxDeletes: 1100 })).toEqual({ days: [], objects: 1100, complete: false });
    expect((await store.list(bucket)).map((info) => info.key)).toEqual(keys.slice(1100));
    expect(await sweepPredictionLogs({ store, bucket, retentionDays: 5, now })).toEqual({ days: ['default/20251031'], objects: 105, complete: true });
    expect(await store.list(bucket)).toEqual([]);
  });
});
