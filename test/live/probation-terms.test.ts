import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { readLiveReport, type LiveReport } from '../../src/core/live/live-reports.js';
import type { LiveForecast } from '../../src/core/live/live-scorer.js';
import { decideProbation, type RollbackRequest } from '../../src/core/live/probation-decider.js';
import { silentLogger } from '../../src/core/logger.js';
import type { PromotionRecord } from '../../src/core/registry/pointers.js';
import { appendHistory, syncPointers } from '../../src/core/registry/promotion-history.js';
import { createLiveMonitor, type LiveMonitor } from '../../src/core/serve/live-monitor.js';
import type { ModelHolder } from '../../src/core/serve/model-holder.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { historyRecord as record } from '../helpers/promotion-record.js';

describe("live > a probation's terms are its promotion's", () => {
  let home: string;
  let store: ObjectStore;
  /** Each party's own settings: the replica's, the decider's, all different from the terms the promotion fixed. */
  const settingsWith = (points: number, margin: number): Settings => resolveSettings({ flags: { home, 'live.probationPoints': points, 'live.rollbackMargin': margin } }).settings;
  let replicaSettings: Settings;
  let deciderSettings: Settings;

  beforeEach(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'flts-probation-terms-'));
    store = createFsStore(path.join(home, 'store'));
    replicaSettings = settingsWith(1000, 0.1);
    deciderSettings = settingsWith(30, 10);
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  async function promoted(promotion: PromotionRecord): Promise<void> {
    await store.ensureBucket(replicaSettings.store.buckets.promotion);
    await appendHistory(store, replicaSettings, record('old', null, 1));
    await appendHistory(store, replicaSettings, promotion);
    await syncPointers(store, replicaSettings);
  }

  /** A replica (it reports, another decides) serving run "new"; its shadow forecasts are fed by hand, so it loads none, and its stop waits for none. */
  function replica(): LiveMonitor {
    const holder = { current: () => ({ run: { runId: 'new' } }), status: () => ({ pinnedRunId: undefined }) } as unknown as ModelHolder;
    return createLiveMonitor({ settings: replicaSettings, holder, loadShadow: () => new Promise(() => {}), store, replica: 'r1', logger: silentLogger, shadowLoadStopWaitMs: 0 });
  }

  /** Both runs forecast `count` points from the same origins, the new run off by 3, the previous one by 1; then the actuals come. */
  function servePaired(monitor: LiveMonitor, count: number): void {
    const forecast = (runId: string, origin: number, value: number): LiveForecast => ({ identifier: 'site', runId, origin, targets: ['down'], time: [origin + 60], values: [[value]] });
    for (let i = 0; i < count; i++) {
      monitor.scorer.remember(forecast('new', i * 60, 13));
      monitor.scorer.remember(forecast('old', i * 60, 11));
    }
    monitor.scorer.score({ identifier: 'site', time: Array.from({ length: count }, (_, i) => (i + 1) * 60), values: { down: Array.from({ length: count }, () => 10) } });
  }

  const decide = (requests: RollbackRequest[]) =>
    decideProbation({ store, settings: deciderSettings, rollback: async (request) => (requests.push(request), { run_id: request.toRunId, timestamp: 'later' }), logger: silentLogger, decidedBy: 'promoter p1' });

  it('a replica pairs up to the points the promotion fixed and the decider, set otherwise, decides on them with its margin', async () => {
    await promoted({ ...record('new', 'old', 2), probation: { points: 10, margin: 0.5 } });
    const monitor = replica();
    await monitor.tick();
    expect(monitor.status().probation).toMatchObject({ run_id: 'new', needed: 10, active: true });
    servePaired(monitor, 20);
    await monitor.tick();
    const report = (await readLiveReport(store, replicaSettings, 'r1')) as LiveReport;
    expect(report.probation?.paired).toMatchObject({ points: 10 });

    const requests: RollbackRequest[] = [];
    const decision = await decide(requests);
    expect(decision).toMatchObject({ verdict: 'rollback', action: 'rolled-back', points: 10, candidate_rmse: 3, baseline_rmse: 1 });
    expect(decision?.reason).toContain('over 10 matched points (200% worse; margin 50%)');
    expect(requests).toHaveLength(1);
    await monitor.stop();
  });

  it('a record from before the terms were saved is sized by each process, as before', async () => {
    await promoted(record('new', 'old', 2));
    const monitor = replica();
    await monitor.tick();
    expect(monitor.status().probation).toMatchObject({ run_id: 'new', needed: 1000 });
    servePaired(monitor, 20);
    await monitor.tick();
    // 20 points paired: short of the decider's own 30.
    expect(await decide([])).toBeUndefined();
    await monitor.stop();
  });

  it('a record whose terms were edited into something no promotion writes is sized by each process', async () => {
    await promoted({ ...record('new', 'old', 2), probation: { points: 0, margin: Number.NaN } });
    const monitor = replica();
    await monitor.tick();
    expect(monitor.status().probation).toMatchObject({ needed: 1000 });
    await monitor.stop();
  });
});
