import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { listLiveReports, writeLiveReport, type LiveReport } from './live-reports.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-live-reports-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
const HOUR_MS = 3_600_000;

function report(replica: string, updatedAt: string): LiveReport {
  return { replica, updated_at: updatedAt, served_run_id: 'r1', runs: [], probation: null, memory: { points: 0, forgotten: 0 } };
}

describe('core > live > replica reports', () => {
  it('leaves out and deletes the report of a replica that stopped rewriting it, keeping live ones', async () => {
    const store = createFsStore(root);
    const settings = defaultSettings();
    const now = new Date('2026-03-01T12:00:00Z');
    await writeLiveReport(store, settings, report('host-101', new Date(now.getTime() - 5_000).toISOString()));
    await writeLiveReport(store, settings, report('host-57', new Date(now.getTime() - settings.live.reportRetentionMs - HOUR_MS).toISOString()));
    await writeLiveReport(store, settings, report('host-9', 'not a time'));

    expect((await listLiveReports(store, settings, now)).map((kept) => kept.replica).sort()).toEqual(['host-101', 'host-9']);
    const keys = (await store.list(settings.store.buckets.runs, 'live/')).map((info) => info.key);
    expect(keys.some((key) => key.includes('host-57'))).toBe(false);
    expect(keys.some((key) => key.includes('host-101'))).toBe(true);
  });
});
