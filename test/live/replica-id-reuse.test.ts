import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { rankRunsByLiveError } from '../../src/core/live/live-ranking.js';
import { readLiveReport, writeLiveReport } from '../../src/core/live/live-reports.js';
import type { RunFigures } from '../../src/core/live/live-scorer.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { monitorServing } from '../helpers/live-monitor.js';

/** A run's figures as an earlier process reported them: `points` matched, each `error` off. */
const figures = (runId: string, points: number, error: number): RunFigures => ({ run_id: runId, matched_total: points, targets: { down: { points, rmse: error, mae: error, coverage: {} } } });

describe('live > a replica id that outlives its process', () => {
  let home: string;
  let store: ObjectStore;
  let settings: Settings;

  beforeEach(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'flts-live-reuse-'));
    store = createFsStore(path.join(home, 'store'));
    settings = resolveSettings({ flags: { home, 'live.reportIntervalMs': 3_600_000 } }).settings;
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('carries on the per-run windows its earlier process reported for runs it has not scored yet, and reports its own for the others', async () => {
    // The process before the restart (a StatefulSet pod, the same name) scored a shadow run and the served one.
    await writeLiveReport(store, settings, { replica: 'flts-0', updated_at: new Date().toISOString(), served_run_id: 'served', runs: [figures('shadow', 40, 3), figures('served', 40, 5)], probation: null, memory: { points: 0, forgotten: 0 } });
    const monitor = monitorServing('served', { settings, store, replica: 'flts-0' });
    monitor.start();
    await monitor.tick();
    // The new process scores the served run: 3 points, each 2 off. Its own window replaces the earlier one.
    monitor.scorer.remember({ identifier: 'default', runId: 'served', origin: 0, targets: ['down'], time: [60, 120, 180], values: [[12, 12, 12]] });
    monitor.scorer.score({ identifier: 'default', time: [60, 120, 180], values: { down: [10, 10, 10] } });
    await monitor.tick();
    await monitor.stop();

    const runs = (await readLiveReport(store, settings, 'flts-0'))!.runs;
    expect(runs.map((run) => run.run_id).sort()).toEqual(['served', 'shadow']);
    expect(runs.find((run) => run.run_id === 'shadow')).toEqual(figures('shadow', 40, 3));
    expect(runs.find((run) => run.run_id === 'served')).toMatchObject({ matched_total: 3, targets: { down: { points: 3, rmse: 2 } } });
    expect((await rankRunsByLiveError(store, settings)).rows).toMatchObject([
      { run_id: 'served', live_rmse: 2, points: 3, replicas: ['flts-0'] },
      { run_id: 'shadow', live_rmse: 3, points: 40, replicas: ['flts-0'] },
    ]);
  });

  it('carries nothing from a report the retention already gave up on', async () => {
    const old = new Date(Date.now() - settings.live.reportRetentionMs - 60_000).toISOString();
    await writeLiveReport(store, settings, { replica: 'flts-0', updated_at: old, served_run_id: 'served', runs: [figures('shadow', 40, 3)], probation: null, memory: { points: 0, forgotten: 0 } });
    const monitor = monitorServing('served', { settings, store, replica: 'flts-0' });
    await monitor.tick();
    await monitor.stop();
    expect((await readLiveReport(store, settings, 'flts-0'))!.runs).toEqual([]);
  });
});
