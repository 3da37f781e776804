import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { FltsError } from '../../src/core/errors.js';
import { promotionRefOf, writeLiveReport } from '../../src/core/live/live-reports.js';
import { decideProbation, probationAwaitingDecision } from '../../src/core/live/probation-decider.js';
import { silentLogger } from '../../src/core/logger.js';
import { readPromotionPointer } from '../../src/core/registry/pointers.js';
import { listPromotionHistory } from '../../src/core/registry/promotion-history.js';
import { fakeRun } from '../../src/core/registry/run-record.fixture.js';
import { createLiveMonitor } from '../../src/core/serve/live-monitor.js';
import type { ModelHolder } from '../../src/core/serve/model-holder.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { createRollbackAction } from '../../src/core/workflows/auto-rollback.js';
import { addLoadableRun } from '../../src/core/workflows/loadable-run.fixture.js';
import { promote } from '../../src/core/workflows/promote.js';

describe('live > probation of a pinned promotion', () => {
  let home: string;
  let store: ObjectStore;
  let settings: Settings;

  beforeEach(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'flts-probation-pin-'));
    store = createFsStore(path.join(home, 'store'));
    settings = resolveSettings({ flags: { home, 'live.probationPoints': 10, 'live.rollbackMargin': 0.1 } }).settings;
    await addLoadableRun(store, settings, fakeRun('runW', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-01T00:00:00.000Z'));
    await addLoadableRun(store, settings, fakeRun('runX', 'NAIVE', { rmse: 0.05, mae: 0.05, mse: 0.0025 }, '2025-01-02T00:00:00.000Z'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

  it('goes on through a pin of the run under probation: same promotion, same decision, and its rollback returns to the run before', async () => {
    await promote({ runId: 'runW', source: 'manual', actor: 'ana', reason: 'baseline' }, settings, { store });
    const auto = (await promote({ runId: 'runX', source: 'auto', actor: 'daemon:a', reason: 'best score' }, settings, { store })).record;
    const holder = { current: () => ({ run: { runId: 'runX' } }), status: () => ({ pinnedRunId: undefined }) } as unknown as ModelHolder;
    const monitor = createLiveMonitor({ settings, holder, loadShadow: () => Promise.reject(new FltsError('FLTS_RUN_NOT_FOUND', 'no shadow in this test')), store, replica: 'r1', logger: silentLogger });
    try {
      await monitor.tick();
      const underWay = { run_id: 'runX', previous_run_id: 'runW', promoted_at: auto.timestamp, active: true };
      expect(monitor.status().probation).toMatchObject(underWay);

      const pin = await promote({ runId: 'runX', source: 'manual', actor: 'ana', reason: 'keep it' }, settings, { store });
      expect(pin).toMatchObject({ changed: true, pinned: true });
      const pointer = (await readPromotionPointer(store, settings))!;
      expect(pointer.timestamp).toBe(pin.record.timestamp);
      // The pointer names the pin, and the probation is still the automatic promotion's: not ended, not restarted.
      expect(promotionRefOf(pointer)).toEqual({ run_id: 'runX', previous_run_id: 'runW', timestamp: auto.timestamp });
      expect(await probationAwaitingDecision(store, settings)).toEqual(promotionRefOf(auto));
      await monitor.tick();
      expect(monitor.status().probation).toMatchObject(underWay);
    } finally {
      await monitor.stop();
    }

    // The replicas' figures for that promotion still decide it: runX clearly worse live, rolled back to runW.
    const ref = promotionRefOf(auto)!;
    const paired = { candidate_run_id: 'runX', baseline_run_id: 'runW', points: 10, terms: 10, candidate_sum_sq: 1000, baseline_sum_sq: 10 };
    await writeLiveReport(store, settings, { replica: 'r1', updated_at: new Date().toISOString(), served_run_id: 'runX', runs: [], probation: { promotion: ref, paired }, memory: { points: 0, forgotten: 0 } });
    const decision = await decideProbation({ store, settings, rollback: createRollbackAction({ store, settings }), logger: silentLogger, decidedBy: 'test' });
    expect(decision).toMatchObject({ promotion: ref, verdict: 'rollback', action: 'rolled-back' });
    expect((await listPromotionHistory(store, settings)).map((r) => `${r.run_id}:${r.action}`)).toEqual(['runW:promote', 'runX:promote', 'runX:pin', 'runW:rollback']);
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runW');
  });
});
