import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { FltsError } from '../../src/core/errors.js';
import { promotionRefOf, readProbationDecision, writeLiveReport, writeProbationDecision, type ProbationDecision, type PromotionRef } from '../../src/core/live/live-reports.js';
import { decideProbation, probationAwaitingDecision, type RollbackAction } from '../../src/core/live/probation-decider.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { readPromotionPointer, type PromotionRecord } from '../../src/core/registry/pointers.js';
import { appendHistory, listPromotionHistory } from '../../src/core/registry/promotion-history.js';
import { fakeRun } from '../../src/core/registry/run-record.fixture.js';
import { createLiveMonitor } from '../../src/core/serve/live-monitor.js';
import type { ModelHolder } from '../../src/core/serve/model-holder.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import type { ObjectStore } from '../../src/core/storage/object-store.js';
import { createRollbackAction } from '../../src/core/workflows/auto-rollback.js';
import { addLoadableRun } from '../../src/core/workflows/loadable-run.fixture.js';
import { promote, rollback } from '../../src/core/workflows/promote.js';

describe('live > probation of a run a person chose', () => {
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

  /** runW by hand, then runX by the daemon: runX is in service automatically, on probation against runW. */
  async function autoPromotedRunX(): Promise<PromotionRecord> {
    await promote({ runId: 'runW', source: 'manual', actor: 'ana', reason: 'baseline' }, settings, { store });
    return (await promote({ runId: 'runX', source: 'auto', actor: 'daemon:a', reason: 'best score' }, settings, { store })).record;
  }

  const pinRunX = () => promote({ runId: 'runX', source: 'manual', actor: 'ana', reason: 'keep it' }, settings, { store });

  /** A replica's report for `ref` over the whole window: runX clearly worse live (RMSE 10 vs 1). */
  async function runXWorseLive(ref: PromotionRef): Promise<void> {
    const paired = { candidate_run_id: ref.run_id, baseline_run_id: ref.previous_run_id, points: 10, terms: 10, candidate_sum_sq: 1000, baseline_sum_sq: 10 };
    await writeLiveReport(store, settings, { replica: 'r1', updated_at: new Date().toISOString(), served_run_id: ref.run_id, runs: [], probation: { promotion: ref, paired }, memory: { points: 0, forgotten: 0 } });
  }

  /** A decider as the daemon's promoter makes one at each look (it keeps nothing between looks, nor over a restart). */
  function decider(overrides: { rollback?: RollbackAction; logger?: Logger } = {}) {
    return decideProbation({ store, settings, rollback: overrides.rollback ?? createRollbackAction({ store, settings }), logger: overrides.logger ?? silentLogger, decidedBy: 'promoter test' });
  }

  function recordingLogger(): { logger: Logger; warnings: string[] } {
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_fields, message) => void warnings.push(message ?? ''), child: () => logger };
    return { logger, warnings };
  }

  it('still rolls back a run the daemon promoted that does worse live', async () => {
    const auto = await autoPromotedRunX();
    await runXWorseLive(promotionRefOf(auto)!);
    expect(await decider()).toMatchObject({ verdict: 'rollback', action: 'rolled-back' });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runW');
  });

  it('goes on through a pin of the run under probation, decides it, and keeps the pinned run however it does live', async () => {
    const auto = await autoPromotedRunX();
    const holder = { current: () => ({ run: { runId: 'runX' } }), status: () => ({ pinnedRunId: undefined }) } as unknown as ModelHolder;
    const monitor = createLiveMonitor({ settings, holder, loadShadow: () => Promise.reject(new FltsError('FLTS_RUN_NOT_FOUND', 'no shadow in this test')), store, replica: 'r1', logger: silentLogger });
    try {
      await monitor.tick();
      const underWay = { run_id: 'runX', previous_run_id: 'runW', promoted_at: auto.timestamp, active: true };
      expect(monitor.status().probation).toMatchObject(underWay);

      const pin = await pinRunX();
      expect(pin).toMatchObject({ changed: true, pinned: true });
      const pointer = (await readPromotionPointer(store, settings))!;
      expect(pointer.timestamp).toBe(pin.record.timestamp);
      // The pointer names the pin, and the probation is still the automatic promotion's: not ended, not restarted.
      expect(promotionRefOf(pointer)).toEqual({ run_id: 'runX', previous_run_id: 'runW', timestamp: auto.timestamp });
      expect(await probationAwaitingDecision(store, settings)).toEqual(promotionRefOf(auto));
      await monitor.tick();
      expect(monitor.status().probation).toMatchObject(underWay);

      // The replicas' figures still decide it (runX clearly worse), but the person's pin stands.
      const ref = promotionRefOf(auto)!;
      await runXWorseLive(ref);
      const { logger, warnings } = recordingLogger();
      const decision = await decider({ logger });
      expect(decision).toMatchObject({ promotion: ref, verdict: 'rollback', action: 'none', candidate_rmse: 10, baseline_rmse: 1, kept_by: { action: 'pin', source: 'manual', actor: 'ana', timestamp: pin.record.timestamp } });
      expect(decision?.reason).toMatch(/^live RMSE 10\.00 of run runX vs 1\.000 of the previous run runW .*; not rolled back: run runX was pinned \S+ by manual ana, and a pin stands against automatic rollback$/);
      expect(warnings).toEqual(['live_probation_worse_kept']);
      expect((await listPromotionHistory(store, settings)).map((r) => `${r.run_id}:${r.action}`)).toEqual(['runW:promote', 'runX:promote', 'runX:pin']);
      expect((await readPromotionPointer(store, settings))?.run_id).toBe('runX');
      // The decision is durable: a decider after a restart takes it as made, and the replicas show it.
      expect(await probationAwaitingDecision(store, settings)).toBeUndefined();
      expect(await decider()).toEqual(decision);
      await monitor.tick();
      expect(monitor.status().probation).toMatchObject({ ...underWay, active: false, decision: { verdict: 'rollback', action: 'none', kept_by: { action: 'pin' } } });
    } finally {
      await monitor.stop();
    }
    // A person's rollback still goes past the pin to the run before.
    expect((await rollback({ source: 'rollback', actor: 'ana' }, settings, { store })).record).toMatchObject({ run_id: 'runW', action: 'rollback', source: 'rollback' });
  });

  it('keeps a run pinned between the decision to roll it back and the rollback, at the next look', async () => {
    const auto = await autoPromotedRunX();
    const ref = promotionRefOf(auto)!;
    await runXWorseLive(ref);
    // The decision is taken, and its rollback meets a store outage: it stays pending for the next look.
    const down: RollbackAction = () => Promise.reject(new FltsError('FLTS_STORE_UNAVAILABLE', 'store unreachable'));
    await expect(decider({ rollback: down })).rejects.toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
    expect(await readProbationDecision(store, settings, ref)).toMatchObject({ verdict: 'rollback', action: 'rollback-pending' });

    const pin = await pinRunX();
    expect(await probationAwaitingDecision(store, settings)).toEqual(ref);
    expect(await decider()).toMatchObject({ verdict: 'rollback', action: 'none', kept_by: { action: 'pin', timestamp: pin.record.timestamp } });
    expect(await readProbationDecision(store, settings, ref)).toMatchObject({ action: 'none', kept_by: { action: 'pin' } });
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runX');
  });

  it('keeps a run pinned after the decider read the pointer: the rollback workflow refuses, the history says why', async () => {
    const auto = await autoPromotedRunX();
    const ref = promotionRefOf(auto)!;
    const pending: ProbationDecision = { promotion: ref, verdict: 'rollback', candidate_rmse: 10, baseline_rmse: 1, points: 10, replicas: ['r1'], reason: 'worse', action: 'rollback-pending', decided_by: 'r1', decided_at: new Date().toISOString() };
    await writeProbationDecision(store, settings, pending);
    // The pin lands in the history while the decider acts on the pointer it read before (a pin of the run in service).
    const lagging: RollbackAction = async (request) => {
      await appendHistory(store, settings, { ...auto, timestamp: `${auto.timestamp.slice(0, -2)}9Z`, source: 'manual', actor: 'ana', action: 'pin', pinned_timestamp: auto.timestamp });
      return createRollbackAction({ store, settings })(request);
    };
    expect(await decider({ rollback: lagging })).toMatchObject({ action: 'none', kept_by: { action: 'pin', source: 'manual', actor: 'ana' } });
    expect((await listPromotionHistory(store, settings)).map((r) => `${r.run_id}:${r.action}`)).toEqual(['runW:promote', 'runX:promote', 'runX:pin']);
  });

  it('rolls back a run a person promoted by hand that does worse live: a promotion is no pin', async () => {
    await promote({ runId: 'runW', source: 'manual', actor: 'ana', reason: 'baseline' }, settings, { store });
    const manual = (await promote({ runId: 'runX', source: 'manual', actor: 'bob', reason: 'better on holidays' }, settings, { store })).record;
    await runXWorseLive(promotionRefOf(manual)!);
    const decision = await decider();
    expect(decision).toMatchObject({ verdict: 'rollback', action: 'rolled-back' });
    expect(decision?.kept_by).toBeUndefined();
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runW');
  });

  it('keeps a run a person promoted by hand with pin however it does live: the decision says who pinned it', async () => {
    await promote({ runId: 'runW', source: 'manual', actor: 'ana', reason: 'baseline' }, settings, { store });
    const pin = await promote({ runId: 'runX', source: 'manual', actor: 'bob', reason: 'keep it', pin: true }, settings, { store });
    const [, promotion, ...more] = await listPromotionHistory(store, settings);
    // One record, the promotion pinned: its probation goes on as for a pin of the daemon's run (runX against runW).
    expect({ more, promotion }).toEqual({ more: [], promotion: pin.record });
    expect(promotion).toMatchObject({ action: 'promote', pinned: true });
    const ref = promotionRefOf(promotion)!;
    expect(promotionRefOf((await readPromotionPointer(store, settings))!)).toEqual(ref);
    expect(await probationAwaitingDecision(store, settings)).toEqual(ref);
    await runXWorseLive(ref);
    const { logger, warnings } = recordingLogger();
    expect(await decider({ logger })).toMatchObject({ promotion: ref, verdict: 'rollback', action: 'none', kept_by: { action: 'pin', source: 'manual', actor: 'bob', timestamp: pin.record.timestamp } });
    expect(warnings).toEqual(['live_probation_worse_kept']);
    expect((await readPromotionPointer(store, settings))?.run_id).toBe('runX');
    await expect(rollback({ source: 'auto-rollback', actor: 'live-accuracy', reason: 'worse live' }, settings, { store })).rejects.toMatchObject({ code: 'FLTS_PROMOTE_CHOSEN_RUN_STANDS' });
  });

  it('keeps a run promoted by hand and pinned later, in service, with a rollback already pending', async () => {
    await promote({ runId: 'runW', source: 'manual', actor: 'ana', reason: 'baseline' }, settings, { store });
    const manual = (await promote({ runId: 'runX', source: 'manual', actor: 'bob', reason: 'better on holidays' }, settings, { store })).record;
    const ref = promotionRefOf(manual)!;
    await runXWorseLive(ref);
    const down: RollbackAction = () => Promise.reject(new FltsError('FLTS_STORE_UNAVAILABLE', 'store unreachable'));
    await expect(decider({ rollback: down })).rejects.toMatchObject({ code: 'FLTS_STORE_UNAVAILABLE' });
    const pin = await promote({ runId: 'runX', source: 'manual', actor: 'bob', reason: 'keep it', pin: true }, settings, { store });
    expect(pin).toMatchObject({ changed: true, pinned: true, record: { action: 'pin', pinned_timestamp: manual.timestamp } });
    expect(await decider()).toMatchObject({ promotion: ref, verdict: 'rollback', action: 'none', kept_by: { action: 'pin', actor: 'bob', timestamp: pin.record.timestamp } });
    expect((await listPromotionHistory(store, settings)).map((r) => `${r.run_id}:${r.action}`)).toEqual(['runW:promote', 'runX:promote', 'runX:pin']);
  });

  it('refuses an automatic rollback of a pinned run from any caller, and lets a person roll back', async () => {
    await autoPromotedRunX();
    const pin = await pinRunX();
    for (const expected of [undefined, { fromRunId: 'runX', toRunId: 'runW' }]) {
      await expect(rollback({ source: 'auto-rollback', actor: 'live-accuracy', reason: 'worse live', expected }, settings, { store })).rejects.toMatchObject({
        code: 'FLTS_PROMOTE_CHOSEN_RUN_STANDS',
        message: `Not rolled back automatically: run runX of scope 'global' was pinned ${pin.record.timestamp} by manual ana, and only a person undoes a pin.`,
      });
    }
    expect((await listPromotionHistory(store, settings)).map((r) => `${r.run_id}:${r.action}`)).toEqual(['runW:promote', 'runX:promote', 'runX:pin']);
    expect((await rollback({ source: 'rollback', actor: 'ana' }, settings, { store })).record).toMatchObject({ run_id: 'runW', source: 'rollback' });
  });
});
