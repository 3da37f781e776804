import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { FltsError } from '../../src/core/errors.js';
import { promotionRefOf, readLiveReport, readProbationDecision, writeLiveReport, writeProbationDecision, type ProbationDecision } from '../../src/core/live/live-reports.js';
import { decideProbation, type RollbackAction, type RollbackRequest } from '../../src/core/live/probation-decider.js';
import { silentLogger } from '../../src/core/logger.js';
import type { PromotionRecord } from '../../src/core/registry/pointers.js';
import { historyRecord as record } from '../helpers/promotion-record.js';
import { appendHistory, listPromotionHistory, syncPointers } from '../../src/core/registry/promotion-history.js';
import { Registry } from 'prom-client';
import { createLiveMetrics } from '../../src/core/serve/live-metrics.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { putJson } from '../../src/core/storage/json-objects.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { createRollbackAction } from '../../src/core/workflows/auto-rollback.js';
import { rollback } from '../../src/core/workflows/promote.js';
import { monitorServing, noShadow } from '../helpers/live-monitor.js';

describe('live > probation decider', () => {
  let home: string;
  let store: ObjectStore;
  let settings: Settings;

  beforeEach(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'flts-decider-'));
    store = createFsStore(path.join(home, 'store'));
    settings = resolveSettings({ flags: { home, 'live.probationPoints': 10, 'live.rollbackMargin': 0.1 } }).settings;
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  async function history(...records: PromotionRecord[]): Promise<PromotionRecord> {
    await store.ensureBucket(settings.store.buckets.promotion);
    for (const r of records) await appendHistory(store, settings, r);
    await syncPointers(store, settings);
    return records.at(-1)!;
  }

  /** A replica's report: the candidate clearly worse than the baseline over the whole probation window. */
  async function failedProbation(promotion: PromotionRecord): Promise<void> {
    const ref = promotionRefOf(promotion)!;
    const paired = { candidate_run_id: ref.run_id, baseline_run_id: ref.previous_run_id, points: 10, terms: 10, candidate_sum_sq: 1000, baseline_sum_sq: 10 };
    await writeLiveReport(store, settings, { replica: 'r1', updated_at: new Date().toISOString(), served_run_id: ref.run_id, runs: [], probation: { promotion: ref, paired }, memory: { points: 0, forgotten: 0 } });
  }

  /** An embedded server's monitor (it decides and rolls back itself) serving run "new", its rollbacks recorded. */
  function embeddedMonitor(requests: RollbackRequest[]) {
    return monitorServing('new', {
      settings,
      store,
      replica: 'r1',
      rollback: async (request) => {
        requests.push(request);
        return { run_id: request.toRunId, timestamp: 'later' };
      },
    });
  }

  it('decides on the readable reports when another holds paired figures no replica writes (null, text, Infinity as null), never stopping at a TypeError or deciding on NaN', async () => {
    const promotion = await history(record('old', null, 1), record('new', 'old', 2));
    const ref = promotionRefOf(promotion)!;
    await failedProbation(promotion);
    const report = (replica: string, paired: unknown) => ({ replica, updated_at: new Date().toISOString(), served_run_id: 'new', runs: [], probation: { promotion: ref, paired }, memory: { points: 0, forgotten: 0 } });
    const damaged = [report('r2', null), report('r3', { candidate_run_id: 'new', baseline_run_id: 'old', points: 10, terms: 10, candidate_sum_sq: 'x', baseline_sum_sq: 10 }), report('r4', { candidate_run_id: 'new', baseline_run_id: 'old', points: 10, terms: 10, candidate_sum_sq: null, baseline_sum_sq: 10 })];
    for (const entry of damaged) await putJson(store, settings.store.buckets.runs, `live/global/replicas/${entry.replica}.json`, entry);
    const requests: RollbackRequest[] = [];
    const decision = await decideProbation({ store, settings, rollback: async (request) => (requests.push(request), { run_id: request.toRunId, timestamp: 'later' }), logger: silentLogger, decidedBy: 'promoter p1' });
    expect(decision).toMatchObject({ verdict: 'rollback', action: 'rolled-back', points: 10, candidate_rmse: 10, baseline_rmse: 1, replicas: ['r1'] });
    expect(requests).toHaveLength(1);
  });

  it('ends a probation whose previous run a replica could not load, without waiting for points that never come', async () => {
    const promotion = await history(record('old', null, 1), record('new', 'old', 2));
    const ref = promotionRefOf(promotion)!;
    const paired = { candidate_run_id: 'new', baseline_run_id: 'old', points: 0, terms: 0, candidate_sum_sq: 0, baseline_sum_sq: 0 };
    await writeLiveReport(store, settings, { replica: 'r1', updated_at: new Date().toISOString(), served_run_id: 'new', runs: [], probation: { promotion: ref, paired, baseline_unloadable: { code: 'FLTS_MODEL_ARTIFACT_MISSING' } }, memory: { points: 0, forgotten: 0 } });
    const requests: RollbackRequest[] = [];
    const ended: string[] = [];
    const decide = () => decideProbation({ store, settings, rollback: async (request) => (requests.push(request), { run_id: request.toRunId, timestamp: 'later' }), logger: silentLogger, decidedBy: 'promoter p1', onNoBaseline: (decision) => ended.push(decision.promotion.run_id) });
    const decision = await decide();
    expect(decision).toMatchObject({ verdict: 'no-baseline', action: 'none', points: 0, candidate_rmse: null, baseline_rmse: null, replicas: ['r1'], decided_by: 'promoter p1' });
    expect(decision?.reason).toBe('no baseline to compare: the previous run old could not be loaded (FLTS_MODEL_ARTIFACT_MISSING); run new stays in service, there is no run to roll back to');
    expect(await readProbationDecision(store, settings, ref)).toMatchObject({ verdict: 'no-baseline' });
    // Taken once, counted once, and nothing rolled back.
    await decide();
    expect(ended).toEqual(['new']);
    expect(requests).toEqual([]);
  });

  it('a replica keeps reporting a previous run it could not load when the same promotion comes back in service', async () => {
    const promotion = await history(record('old', null, 1), record('new', 'old', 2));
    let served = 'new';
    // A replica of a distributed deployment: it reports, the promoter decides.
    const monitor = monitorServing(() => served, { settings, store, replica: 'r1', loadShadow: noShadow('gone') });
    await monitor.tick();
    served = 'other';
    await monitor.tick();
    served = 'new';
    await monitor.tick();
    expect((await readLiveReport(store, settings, 'r1'))?.probation).toMatchObject({ promotion: promotionRefOf(promotion), baseline_unloadable: { code: 'FLTS_RUN_NOT_FOUND' } });
    const decision = await decideProbation({ store, settings, rollback: async () => ({ run_id: 'old', timestamp: 'later' }), logger: silentLogger, decidedBy: 'promoter p1' });
    expect(decision).toMatchObject({ verdict: 'no-baseline', action: 'none' });
    await monitor.tick();
    expect(monitor.status().probation).toMatchObject({ run_id: 'new', active: false, decision: { verdict: 'no-baseline' } });
    await monitor.stop();
  });

  it('records why a failed probation stands when the previous run is gone, and stops retrying', async () => {
    const promotion = await history(record('old', null, 1), record('new', 'old', 2));
    await failedProbation(promotion);
    const rollbackAction = createRollbackAction({ store, settings });
    let attempts = 0;
    const counting: RollbackAction = (request) => {
      attempts++;
      return rollbackAction(request);
    };
    const worseKept: string[] = [];
    const decision = await decideProbation({ store, settings, rollback: counting, logger: silentLogger, decidedBy: 'test', onWorseKept: (kept) => worseKept.push(kept.promotion.run_id) });
    expect(decision).toMatchObject({ verdict: 'rollback', action: 'none' });
    expect(decision?.reason).toMatch(/not rolled back: .*FLTS_RUN_NOT_FOUND/);
    // The worse run stays in service: counted (flts_live_worse_kept_total), once.
    expect(worseKept).toEqual(['new']);
    expect(await readProbationDecision(store, settings, promotionRefOf(promotion)!)).toMatchObject({ action: 'none' });
    await decideProbation({ store, settings, rollback: counting, logger: silentLogger, decidedBy: 'test', onWorseKept: (kept) => worseKept.push(kept.promotion.run_id) });
    expect(attempts).toBe(1);
    expect(worseKept).toEqual(['new']);
    expect((await listPromotionHistory(store, settings, 'global')).map((r) => r.run_id)).toEqual(['old', 'new']);
  });

  it('says in the decision why a worse run stays when automatic rollback is off, and counts it', async () => {
    settings.live.rollback = false;
    const promotion = await history(record('old', null, 1), record('new', 'old', 2));
    await failedProbation(promotion);
    const requests: RollbackRequest[] = [];
    const worseKept: string[] = [];
    const decision = await decideProbation({ store, settings, rollback: async (request) => (requests.push(request), { run_id: request.toRunId, timestamp: 'later' }), logger: silentLogger, decidedBy: 'test', onWorseKept: (kept) => worseKept.push(kept.promotion.run_id) });
    expect(decision).toMatchObject({ verdict: 'rollback', action: 'none' });
    expect(decision?.reason).toMatch(/% worse; margin 10%\); not rolled back: automatic rollback is off \(FLTS_LIVE_ROLLBACK=false\)$/);
    expect(requests).toEqual([]);
    expect(worseKept).toEqual(['new']);
  });

  it('keeps a rollback pending through an outage and finishes it on a later look', async () => {
    const promotion = await history(record('old', null, 1), record('new', 'old', 2));
    await failedProbation(promotion);
    const requests: RollbackRequest[] = [];
    let down = true;
    const flaky: RollbackAction = async (request) => {
      requests.push(request);
      if (down) throw new FltsError('FLTS_STORE_UNAVAILABLE', 'store unreachable');
      return { run_id: request.toRunId, timestamp: 'later' };
    };
    await expect(decideProbation({ store, settings, rollback: flaky, logger: silentLogger, decidedBy: 'test' })).rejects.toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
    expect(await readProbationDecision(store, settings, promotionRefOf(promotion)!)).toMatchObject({ action: 'rollback-pending' });
    down = false;
    expect(await decideProbation({ store, settings, rollback: flaky, logger: silentLogger, decidedBy: 'test' })).toMatchObject({ action: 'rolled-back', rollback_timestamp: 'later' });
    expect(requests.map((r) => [r.fromRunId, r.toRunId])).toEqual([
      ['new', 'old'],
      ['new', 'old'],
    ]);
  });

  it('never rolls back a second time for one decision: a stale rollback is refused with a code', async () => {
    // Two deciders finishing one pending rollback: the first already went from "new" back to "old".
    await history(record('older', null, 1), record('old', 'older', 2), record('new', 'old', 3), record('old', 'new', 4, 'rollback'));
    const second = rollback({ source: 'auto-rollback', actor: 'live-accuracy', reason: 'second decider', expected: { fromRunId: 'new', toRunId: 'old' } }, settings, { store });
    await expect(second).rejects.toMatchObject({ code: 'FLTS_PROMOTE_ROLLBACK_STALE' });
    expect((await listPromotionHistory(store, settings, 'global')).map((r) => r.run_id)).toEqual(['older', 'old', 'new', 'old']);
  });

  it('an embedded server finishes a rollback its earlier look left pending', async () => {
    const promotion = await history(record('old', null, 1), record('new', 'old', 2));
    const ref = promotionRefOf(promotion)!;
    const pending: ProbationDecision = { promotion: ref, verdict: 'rollback', candidate_rmse: 10, baseline_rmse: 1, points: 10, replicas: ['r1'], reason: 'worse', action: 'rollback-pending', decided_by: 'r1', decided_at: new Date().toISOString() };
    await writeProbationDecision(store, settings, pending);
    const requests: RollbackRequest[] = [];
    const monitor = embeddedMonitor(requests);
    await monitor.tick();
    await monitor.stop();
    expect(requests).toHaveLength(1);
    expect(monitor.status()).toMatchObject({ probation: null, previous_probation: { decision: { action: 'rolled-back' } } });
  });

  it('tries a shadow run that is gone once per probation, not on every look', async () => {
    await history(record('old', null, 1), record('new', 'old', 2));
    const loads: string[] = [];
    const monitor = monitorServing('new', {
      settings,
      loadShadow: (runId) => {
        loads.push(runId);
        return Promise.reject(new FltsError('FLTS_RUN_NOT_FOUND', `Run ${runId} not found`));
      },
      store,
      replica: 'r1',
    });
    for (let look = 0; look < 4; look++) {
      await monitor.tick();
      // The load settles after the tick that started it.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await monitor.stop();
    expect(loads).toEqual(['old']);
    expect(monitor.status().probation).toMatchObject({ run_id: 'new', shadowing: false, decision: null });
  });

  it('ends a probation on /healthz once it is kept, while its promotion stays current', async () => {
    const promotion = await history(record('old', null, 1), record('new', 'old', 2));
    const ref = promotionRefOf(promotion)!;
    const rollbacks: RollbackRequest[] = [];
    const monitor = embeddedMonitor(rollbacks);
    await monitor.tick();
    expect(monitor.status().probation).toMatchObject({ run_id: 'new', active: true, decision: null });
    // The whole window, both runs equally good: the embedded decider keeps the new run.
    const paired = { candidate_run_id: 'new', baseline_run_id: 'old', points: 10, terms: 10, candidate_sum_sq: 10, baseline_sum_sq: 10 };
    await writeLiveReport(store, settings, { replica: 'r2', updated_at: new Date().toISOString(), served_run_id: 'new', runs: [], probation: { promotion: ref, paired }, memory: { points: 0, forgotten: 0 } });
    await monitor.tick();
    expect(await readProbationDecision(store, settings, ref)).toMatchObject({ verdict: 'keep', action: 'none' });
    expect(monitor.status().probation).toMatchObject({ run_id: 'new', active: false, decision: { verdict: 'keep', action: 'none', decided_by: 'r1' } });
    // Later looks leave it over: the pointer still names the promotion, but its probation was decided.
    await monitor.tick();
    await monitor.stop();
    expect(monitor.status().probation).toMatchObject({ active: false, decision: { verdict: 'keep' } });
    expect(rollbacks).toEqual([]);
  });

  it('after a rollback shows no probation on /healthz for the run restored, and the one rolled back as previous_probation', async () => {
    const promotion = await history(record('old', null, 1), record('new', 'old', 2));
    const ref = promotionRefOf(promotion)!;
    let served = 'new';
    // The rollback workflow's effect on the registry, and the served model following the pointer.
    const rollbackAction: RollbackAction = async (request) => {
      const restored = await history(record(request.toRunId, request.fromRunId, 3, 'rollback'));
      served = request.toRunId;
      return { run_id: restored.run_id, timestamp: restored.timestamp };
    };
    const monitor = monitorServing(() => served, { settings, store, replica: 'r1', rollback: rollbackAction });
    await monitor.tick();
    expect(monitor.status()).toMatchObject({ probation: { run_id: 'new', active: true }, previous_probation: null });
    // Another replica (or this one before a restart) paired the whole window: the new run is clearly worse.
    const paired = { candidate_run_id: 'new', baseline_run_id: 'old', points: 10, terms: 10, candidate_sum_sq: 1000, baseline_sum_sq: 10 };
    await writeLiveReport(store, settings, { replica: 'r2', updated_at: new Date().toISOString(), served_run_id: 'new', runs: [], probation: { promotion: ref, paired }, memory: { points: 0, forgotten: 0 } });
    await monitor.tick();
    const rolledBack = { run_id: 'new', previous_run_id: 'old', active: false, shadowing: false, decision: { verdict: 'rollback', action: 'rolled-back', points: 10, candidate_rmse: 10, baseline_rmse: 1 } };
    expect(monitor.status()).toMatchObject({ probation: null, previous_probation: rolledBack });
    // Later looks, with the pointer on the rollback record, say the same.
    await monitor.tick();
    expect(monitor.status()).toMatchObject({ probation: null, previous_probation: rolledBack });
    // The next promotion's probation is the one in service; the rolled-back one stays previous until it ends.
    await history(record('newer', 'old', 4));
    served = 'newer';
    await monitor.tick();
    await monitor.stop();
    expect(monitor.status()).toMatchObject({ probation: { run_id: 'newer', previous_run_id: 'old', active: true, decision: null }, previous_probation: rolledBack });
  });

  it('shows on /healthz the paired points a restarted replica pooled with its earlier process, which the decision counts', async () => {
    const promotion = await history(record('old', null, 1), record('new', 'old', 2));
    const ref = promotionRefOf(promotion)!;
    // The process that served before the restart paired 6 of the 10 points (its last report stays in the store).
    const paired = { candidate_run_id: 'new', baseline_run_id: 'old', points: 6, terms: 6, candidate_sum_sq: 6, baseline_sum_sq: 6 };
    await writeLiveReport(store, settings, { replica: 'host-111', updated_at: new Date().toISOString(), served_run_id: 'new', runs: [], probation: { promotion: ref, paired }, memory: { points: 0, forgotten: 0 } });
    const monitor = embeddedMonitor([]);
    await monitor.tick();
    expect(monitor.status().probation).toMatchObject({ run_id: 'new', active: true, points: 0, pooled_points: 6, needed: 10 });
    // This process pairs 4 more: the window is full, over both processes, and the decision is taken.
    for (const [runId, value] of [['new', 11], ['old', 11]] as const) monitor.scorer.remember({ identifier: '', runId, origin: 0, targets: ['down'], time: [60, 120, 180, 240], values: [[value, value, value, value]] });
    monitor.scorer.score({ identifier: '', time: [60, 120, 180, 240], values: { down: [10, 10, 10, 10] } });
    await monitor.tick();
    await monitor.stop();
    expect(monitor.status().probation).toMatchObject({ active: false, points: 4, pooled_points: null, decision: { verdict: 'keep', points: 10 } });
  });

  it('carries on the probation points its earlier process paired when the replica id outlives a restart (FLTS_REPLICA_ID)', async () => {
    const promotion = await history(record('old', null, 1), record('new', 'old', 2));
    const ref = promotionRefOf(promotion)!;
    // The process before the restart, under the same replica id, paired 6 of the 10 points: the new one is worse.
    const paired = { candidate_run_id: 'new', baseline_run_id: 'old', points: 6, terms: 6, candidate_sum_sq: 600, baseline_sum_sq: 6 };
    await writeLiveReport(store, settings, { replica: 'r1', updated_at: new Date().toISOString(), served_run_id: 'new', runs: [], probation: { promotion: ref, paired }, memory: { points: 0, forgotten: 0 } });
    const requests: RollbackRequest[] = [];
    const monitor = embeddedMonitor(requests);
    await monitor.tick();
    expect(monitor.status().probation).toMatchObject({ run_id: 'new', active: true, points: 6, pooled_points: 6 });
    // 4 more points complete the window: the decision counts all 10 and rolls back.
    for (const [runId, value] of [['new', 20], ['old', 11]] as const) monitor.scorer.remember({ identifier: '', runId, origin: 0, targets: ['down'], time: [60, 120, 180, 240], values: [[value, value, value, value]] });
    monitor.scorer.score({ identifier: '', time: [60, 120, 180, 240], values: { down: [10, 10, 10, 10] } });
    await monitor.tick();
    await monitor.stop();
    expect(await readProbationDecision(store, settings, ref)).toMatchObject({ verdict: 'rollback', points: 10, action: 'rolled-back' });
    expect(requests).toHaveLength(1);
  });

  it('goes on with a probation when its promotion is back in service after the replica served another run for a look', async () => {
    await history(record('old', null, 1), record('new', 'old', 2));
    let served = 'new';
    const monitor = monitorServing(() => served, { settings, store, replica: 'r1' });
    await monitor.tick();
    for (const [runId, value] of [['new', 12], ['old', 11]] as const) monitor.scorer.remember({ identifier: '', runId, origin: 0, targets: ['down'], time: [60, 120], values: [[value, value]] });
    monitor.scorer.score({ identifier: '', time: [60, 120], values: { down: [10, 10] } });
    served = 'old';
    await monitor.tick();
    expect(monitor.status()).toMatchObject({ probation: null, previous_probation: { run_id: 'new', active: false, points: 2 } });
    served = 'new';
    await monitor.tick();
    await monitor.stop();
    expect(monitor.status()).toMatchObject({ probation: { run_id: 'new', active: true, points: 2 }, previous_probation: null });
  });

  it('shows a probation in /metrics of a reporting replica only while it runs: gone once the promoter decided it', async () => {
    const promotion = await history(record('old', null, 1), record('new', 'old', 2));
    // No rollback action: a replica in distributed mode only reports, the promoter decides.
    const monitor = monitorServing('new', { settings, store, replica: 'r1' });
    const registry = new Registry();
    createLiveMetrics(registry).attach(monitor.metrics);
    const probationSeries = async (): Promise<string[]> => (await registry.metrics()).split('\n').filter((line) => /^flts_live_probation_/.test(line));
    expect(await probationSeries()).toEqual([]);
    await monitor.tick();
    // Started, nothing paired yet: running at 0 points, no RMSE.
    expect(await probationSeries()).toEqual(['flts_live_probation_points{run_id="new"} 0']);
    // Both runs forecast 4 points from the same origins (the shadow's forecasts, fed to the scorer directly).
    for (const [runId, value] of [['new', 12], ['old', 11]] as const) {
      monitor.scorer.remember({ identifier: '', runId, origin: 0, targets: ['down'], time: [60, 120, 180, 240], values: [[value, value, value, value]] });
    }
    monitor.scorer.score({ identifier: '', time: [60, 120, 180, 240], values: { down: [10, 10, 10, 10] } });
    expect(await probationSeries()).toEqual(['flts_live_probation_rmse{run_id="new",role="candidate"} 2', 'flts_live_probation_rmse{run_id="old",role="baseline"} 1', 'flts_live_probation_points{run_id="new"} 4']);

    const ref = promotionRefOf(promotion)!;
    await writeProbationDecision(store, settings, { promotion: ref, verdict: 'rollback', candidate_rmse: 2, baseline_rmse: 1, points: 10, replicas: ['r1'], reason: 'worse', action: 'rolled-back', decided_by: 'promoter', decided_at: new Date().toISOString() });
    await monitor.tick();
    await monitor.stop();
    expect(monitor.status()).toMatchObject({ probation: null, previous_probation: { run_id: 'new', points: 4, active: false, decision: { action: 'rolled-back' } } });
    expect(await probationSeries()).toEqual([]);
  });
});
