import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { liveReportHeartbeatMs } from '../../src/core/live/live-reports.js';
import { silentLogger } from '../../src/core/logger.js';
import { historyRecord as promotion } from '../helpers/promotion-record.js';
import { appendHistory, syncPointers } from '../../src/core/registry/promotion-history.js';
import { createLiveMonitor, type LiveMonitor } from '../../src/core/serve/live-monitor.js';
import type { ModelHolder } from '../../src/core/serve/model-holder.js';
import type { ServedModel } from '../../src/core/serve/served-model.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { recordingStore, type StoreCall } from '../../src/core/storage/recording-store.fixture.js';

const REPLICAS = 4;

describe('live > replica report reads', () => {
  let home: string;
  let settings: Settings;
  let calls: StoreCall[];
  let monitors: LiveMonitor[];
  let clock: number;

  beforeEach(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'flts-live-reads-'));
    settings = resolveSettings({ flags: { home, 'live.probationPoints': 1000, 'live.reportIntervalMs': 1000 } }).settings;
    const recorded = recordingStore(createFsStore(path.join(home, 'store')));
    calls = recorded.calls;
    await recorded.store.ensureBucket(settings.store.buckets.promotion);
    for (const record of [promotion('old', null, 1), promotion('new', 'old', 2)]) await appendHistory(recorded.store, settings, record);
    await syncPointers(recorded.store, settings);
    clock = Date.parse('2026-01-01T00:01:00Z');
    const holder = { current: () => ({ run: { runId: 'new' } }), status: () => ({ pinnedRunId: undefined }) } as unknown as ModelHolder;
    // Serving replicas of a daemon (the promoter decides): each shows the pooled probation points on /healthz.
    monitors = Array.from({ length: REPLICAS }, (_, i) =>
      createLiveMonitor({ settings, holder, loadShadow: () => new Promise<ServedModel>(() => {}), store: recorded.store, replica: `r${i}`, logger: silentLogger, now: () => new Date(clock) }),
    );
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  /**
   * One report interval (a second: a minute of them before the heartbeat rewrites the unchanged reports): every
   * replica ticks once. What the replicas read of the reports meanwhile.
   */
  async function round(): Promise<{ reportReads: number; listings: number }> {
    clock += settings.live.reportIntervalMs;
    const from = calls.length;
    for (const monitor of monitors) await monitor.tick();
    const made = calls.slice(from).filter((call) => call.key?.includes('/replicas/'));
    return { reportReads: made.filter((call) => call.method === 'get').length, listings: made.filter((call) => call.method === 'list').length };
  }

  /** Replica `index` pairs one more point (its report changes). */
  function pairPoint(index: number, at: number): void {
    for (const [runId, value] of [['new', 12], ['old', 11]] as const) monitors[index].scorer.remember({ identifier: '', runId, origin: at - 60, targets: ['down'], time: [at], values: [[value]] });
    monitors[index].scorer.score({ identifier: '', time: [at], values: { down: [10] } });
  }

  it('reads only the reports that changed, and each replica the pool once every R report intervals: about R reads an interval, not R x R', async () => {
    // The first looks read every report (and read again a report first seen within the store's listing resolution).
    for (let i = 0; i < 2 * REPLICAS; i++) await round();
    expect(monitors.map((monitor) => monitor.status().probation?.pooled_points)).toEqual(Array(REPLICAS).fill(0));

    // Nothing scored: the reports are unchanged, so no replica reads any (R x R reads an interval before).
    expect((await round()).reportReads).toBe(0);

    // One replica pairs a point: its report changes, and each replica reads that one alone at its next pooled read
    // (twice at most: once more at a later look, in case the store's listing time is too coarse to tell two writes apart).
    pairPoint(1, 60);
    let reads = 0;
    for (let i = 0; i < 3 * REPLICAS; i++) reads += (await round()).reportReads;
    expect(reads).toBeLessThanOrEqual(2 * REPLICAS);
    expect(monitors.map((monitor) => monitor.status().probation?.pooled_points)).toEqual(Array(REPLICAS).fill(1));
    expect((await round()).reportReads).toBe(0);

    // Every replica pairs a point every interval, so every report changes: still about R reads an interval in all.
    const rounds = 2 * REPLICAS;
    reads = 0;
    let listings = 0;
    for (let i = 0; i < rounds; i++) {
      for (let index = 0; index < REPLICAS; index++) pairPoint(index, 120 + 60 * i);
      const made = await round();
      reads += made.reportReads;
      listings += made.listings;
    }
    expect(reads).toBeLessThanOrEqual(rounds * REPLICAS);
    expect(listings).toBeLessThanOrEqual(rounds);
    // The pooled points lag at most R intervals behind: every replica has read the pool within the last R rounds.
    const paired = 1 + rounds * REPLICAS;
    for (const monitor of monitors) expect(monitor.status().probation?.pooled_points).toBeGreaterThanOrEqual(paired - REPLICAS * REPLICAS);
    for (const monitor of monitors) await monitor.stop();
  });

  it('an embedded server lists the reports once a tick, for its pooled points and its decision alike', async () => {
    const holder = { current: () => ({ run: { runId: 'new' } }), status: () => ({ pinnedRunId: undefined }) } as unknown as ModelHolder;
    const store = recordingStore(createFsStore(path.join(home, 'store')));
    const embedded = createLiveMonitor({ settings, holder, loadShadow: () => new Promise<ServedModel>(() => {}), store: store.store, replica: 'embedded', rollback: () => Promise.reject(new Error('no rollback in this test')), logger: silentLogger, now: () => new Date(clock) });
    for (let i = 0; i < 3; i++) {
      clock += settings.live.reportIntervalMs;
      const from = store.calls.length;
      await embedded.tick();
      expect(store.calls.slice(from).filter((call) => call.method === 'list' && call.key?.includes('/replicas/'))).toHaveLength(1);
    }
    expect(embedded.status().probation).toMatchObject({ active: true, pooled_points: 0 });
    await embedded.stop();
  });

  it('rewrites an unchanged report only when its heartbeat is due, well within the retention that keeps it', async () => {
    const writes = async (): Promise<number> => {
      const from = calls.length;
      await round();
      return calls.slice(from).filter((call) => call.method === 'put' && call.key?.includes('/replicas/')).length;
    };
    expect(await writes()).toBe(REPLICAS);
    expect(await writes()).toBe(0);
    const heartbeat = liveReportHeartbeatMs(settings);
    expect(heartbeat).toBeLessThan(settings.live.reportRetentionMs);
    clock += heartbeat;
    expect(await writes()).toBe(REPLICAS);
    for (const monitor of monitors) await monitor.stop();
  });
});
