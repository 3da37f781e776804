import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { putJson } from '../storage/json-objects.js';
import { createFsStore } from '../storage/fs-store.js';
import { rankRunsByLiveError } from './live-ranking.js';
import { writeLiveReport, type LiveReport } from './live-reports.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-live-ranking-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > live > ranking by live error', () => {
  it('ranks the readable figures and leaves out run entries and figures a damaged report holds instead of failing', async () => {
    const store = createFsStore(root);
    const settings = defaultSettings();
    const updated = new Date().toISOString();
    const good: LiveReport = {
      replica: 'host-1',
      updated_at: updated,
      served_run_id: 'good',
      runs: [{ run_id: 'good', matched_total: 5, targets: { down: { rmse: 2, mae: 1, points: 5 } as never } }],
      probation: null,
      memory: { points: 5, forgotten: 0 },
    };
    await writeLiveReport(store, settings, good);
    const runs = [null, { run_id: 'no-targets' }, { run_id: 'text', targets: { down: { rmse: 'abc', mae: 1, points: 5 } } }, { run_id: 'nulls', targets: { down: null } }];
    await putJson(store, settings.store.buckets.runs, 'live/global/replicas/host-2.json', { ...good, replica: 'host-2', runs });

    const ranking = await rankRunsByLiveError(store, settings);
    expect(ranking.rows).toEqual([{ rank: 1, run_id: 'good', live_rmse: 2, live_mae: 1, points: 5, replicas: ['host-1'], updated_at: updated }]);
  });
});
