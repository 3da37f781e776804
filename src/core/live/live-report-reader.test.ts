import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { createFsStore } from '../storage/fs-store.js';
import { createLiveReportReader, listLiveReports } from './live-report-reader.js';
import { recordingStore } from '../storage/recording-store.fixture.js';
import type { ObjectStore } from '../storage/object-store.js';
import { writeLiveReport, type LiveReport } from './live-reports.js';

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

  it('reads a report again until a look a second later finds it unchanged, as a listing in whole seconds cannot tell two writes apart', async () => {
    const fs = createFsStore(path.join(root, 'coarse'));
    // A listing that tells time in whole seconds, as S3's does: both writes below fall in the same second.
    const second0 = new Date('2026-03-01T12:00:00Z');
    const coarse: ObjectStore = { ...fs, list: async (...args) => (await fs.list(...args)).map((info) => ({ ...info, lastModified: second0 })) };
    const { store, calls } = recordingStore(coarse);
    const settings = defaultSettings();
    const reader = createLiveReportReader(store, settings);
    const at = (ms: number): Date => new Date(second0.getTime() + ms);
    const reads = (from: number): number => calls.slice(from).filter((call) => call.method === 'get').length;
    // Same length: only the contents tell them apart.
    const first = { ...report('host-1', second0.toISOString()), served_run_id: 'ra' };
    const second = { ...report('host-1', second0.toISOString()), served_run_id: 'rb' };
    await writeLiveReport(fs, settings, first);
    expect((await reader.read(at(0)))[0].served_run_id).toBe('ra');
    // Rewritten after that read, within the same second.
    await writeLiveReport(fs, settings, second);
    let from = calls.length;
    expect((await reader.read(at(5_000)))[0].served_run_id).toBe('rb');
    expect(reads(from)).toBe(1);
    from = calls.length;
    expect((await reader.read(at(10_000)))[0].served_run_id).toBe('rb');
    expect(reads(from)).toBe(0);
  });
});
