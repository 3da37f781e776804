import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { readLiveReport } from '../../src/core/live/live-reports.js';
import { createLiveMetrics } from '../../src/core/serve/live-metrics.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { monitorServing } from '../helpers/live-monitor.js';

describe('live > points waiting for one target', () => {
  let home: string;
  let store: ObjectStore;
  let settings: Settings;

  beforeEach(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'flts-live-waiting-'));
    store = createFsStore(path.join(home, 'store'));
    settings = resolveSettings({ flags: { home, 'live.reportIntervalMs': 3_600_000 } }).settings;
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('shows how many points wait for which target on /healthz, in the replica report and as flts_live_waiting_points', async () => {
    const monitor = monitorServing('served', { settings, store, replica: 'r1' });
    const registry = new Registry();
    createLiveMetrics(registry).attach(monitor.metrics);
    monitor.scorer.remember({ identifier: 'default', runId: 'served', origin: 0, targets: ['down', 'up'], time: [60, 120, 180], values: [[12, 12, 12], [5, 5, 5]] });
    // Actuals of "down" only: its three points are scored, and each waits for "up".
    await monitor.observeActualsInTurns({ identifier: 'default', time: [60, 120, 180], values: { down: [10, 10, 10] } });
    expect(monitor.status().memory).toEqual({ points: 3, forgotten: 0, waiting: { up: 3 } });
    expect(monitor.status().runs[0].targets.down.points).toBe(3);
    expect(await registry.metrics()).toContain('flts_live_waiting_points{target="up"} 3');
    await monitor.tick();
    expect((await readLiveReport(store, settings, 'r1'))!.memory).toEqual({ points: 3, forgotten: 0, waiting: { up: 3 } });
    // The late "up" of one point: it waits no more.
    await monitor.observeActualsInTurns({ identifier: 'default', time: [120], values: { up: [4] } });
    expect(monitor.status().memory.waiting).toEqual({ up: 2 });
    expect(await registry.metrics()).toContain('flts_live_waiting_points{target="up"} 2');
    await monitor.stop();
  });

  it('writes the actuals it keeps for forecasts not made yet to the replica report, which flts eval --live sums', async () => {
    const monitor = monitorServing('served', { settings, store, replica: 'r3' });
    await monitor.observeActualsInTurns({ identifier: 'default', time: [60, 120], values: { down: [10, 11], up: [1, Number.NaN] } });
    await monitor.tick();
    expect((await readLiveReport(store, settings, 'r3'))!.early_actuals).toEqual({ points: 2, targets: { down: 2, up: 1 }, expired: 0, forgotten: 0 });
    await monitor.stop();
  });

  it('counts the points a full memory forgot as flts_live_forgotten_points_total, which the waiting alert reads', async () => {
    const small = resolveSettings({ flags: { home, 'live.memoryPoints': 2 } }).settings;
    const monitor = monitorServing('served', { settings: small, replica: 'r2' });
    const registry = new Registry();
    createLiveMetrics(registry).attach(monitor.metrics);
    expect(await registry.metrics()).toContain('flts_live_forgotten_points_total 0');
    monitor.scorer.remember({ identifier: 'default', runId: 'served', origin: 0, targets: ['down'], time: [60, 120, 180], values: [[1, 1, 1]] });
    expect(monitor.status().memory.forgotten).toBe(1);
    expect(await registry.metrics()).toContain('flts_live_forgotten_points_total 1');
    await monitor.stop();
  });
});
