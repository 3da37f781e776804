import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings, resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { rankRunsByLiveError } from '../../src/core/live/live-ranking.js';
import { readLiveReport, replicasScoringLive } from '../../src/core/live/live-reports.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { monitorServing } from '../helpers/live-monitor.js';

describe('live > replica report at stop', () => {
  let home: string;
  let store: ObjectStore;
  let settings: Settings;

  beforeEach(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'flts-live-stop-'));
    store = createFsStore(path.join(home, 'store'));
    // A report interval no test reaches: only the start's tick and the stop write reports.
    settings = resolveSettings({ flags: { home, 'live.reportIntervalMs': 3_600_000 } }).settings;
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('writes the points scored since the last report when it stops, so flts eval --live ranks them', async () => {
    const monitor = monitorServing('served', { settings, store, replica: 'r1' });
    monitor.start();
    await monitor.tick();
    expect((await rankRunsByLiveError(store, settings)).rows).toEqual([]);
    // Scored after the last report: 3 points, each 2 off.
    monitor.scorer.remember({ identifier: 'default', runId: 'served', origin: 0, targets: ['down'], time: [60, 120, 180], values: [[12, 12, 12]] });
    monitor.scorer.score({ identifier: 'default', time: [60, 120, 180], values: { down: [10, 10, 10] } });
    await monitor.stop();
    expect((await rankRunsByLiveError(store, settings)).rows).toMatchObject([{ run_id: 'served', live_rmse: 2, live_mae: 2, points: 3, replicas: ['r1'] }]);
    // And that it stopped: `flts promote` counts it no more among the replicas that score live.
    const last = (await readLiveReport(store, settings, 'r1'))!;
    expect(last.stopped_at).toBe(last.updated_at);
    expect(replicasScoringLive([last], settings, new Date())).toEqual([]);
    // How often it reported, which flts eval --live says its figures may lag by, whatever the reader's own setting.
    expect(last.report_interval_ms).toBe(3_600_000);
    expect((await rankRunsByLiveError(store, defaultSettings())).replicas).toMatchObject([{ replica: 'r1', report_interval_ms: 3_600_000 }]);
  });

  it('names the run it served in the report it writes at stop, as its periodic reports do, though the model is let go meanwhile', async () => {
    let served: string | undefined = 'served';
    const monitor = monitorServing(() => served, { settings, store, replica: 'r1' });
    monitor.start();
    await monitor.tick();
    expect((await readLiveReport(store, settings, 'r1'))!.served_run_id).toBe('served');
    // A service stops its monitor and its model holder side by side: the holder lets the model go before the last report is written.
    const stopping = monitor.stop();
    served = undefined;
    await stopping;
    const last = (await readLiveReport(store, settings, 'r1'))!;
    expect(last.stopped_at).toBeDefined();
    expect(last.served_run_id).toBe('served');
  });
});
