import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBus } from '../bus/fs-bus.js';
import type { MessageBus } from '../bus/message-bus.js';
import { defaultSettings, type Settings } from '../config/settings.js';
import { liveReportHeartbeatMs, liveReportsPlace, promotionRefOf, readProbationDecision, writeLiveReport, type LiveReport, type PromotionRef } from '../live/live-reports.js';
import { silentLogger, type Logger } from '../logger.js';
import { FltsError } from '../errors.js';
import { readPromotionPointer } from '../registry/pointers.js';
import { fakeRun } from '../registry/run-record.fixture.js';
import type { RunRecord } from '../registry/run-record.js';
import { createFsStore } from '../storage/fs-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { recordingStore, type StoreCall } from '../storage/recording-store.fixture.js';
import { autoPromote } from '../workflows/auto-promote.js';
import { addLoadableRun } from '../workflows/loadable-run.fixture.js';
import { createDaemonMetrics, type DaemonMetrics } from './daemon-metrics.js';
import { createProbationLook, startProbationDecisions, type ProbationLook } from './probation-role-step.js';
import { startPromoterRole } from './promoter-role.js';

const HASH = 'f'.repeat(64);
let root: string;
let fs: ObjectStore;
let store: ObjectStore;
let calls: StoreCall[];
let bus: MessageBus;
let settings: Settings;
let metrics: DaemonMetrics;
let clock: number;
let ref: PromotionRef;

/** A NAIVE SUCCESS of the one data version with test RMSE `rmse` (lower wins, so the daemon promotes it). */
function trained(id: string, rmse: number): RunRecord {
  const run = fakeRun(id, 'NAIVE', { rmse, mae: rmse, mse: rmse * rmse }, new Date().toISOString(), 'SUCCESS', HASH);
  return { ...run, data: { ...run.data, processed_created_at: '2025-02-01T00:00:00.000Z' }, timings: { ...run.timings, finished_at: new Date().toISOString() } };
}

beforeEach(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'flts-probation-step-'));
  fs = createFsStore(path.join(root, 'store'));
  ({ store, calls } = recordingStore(fs));
  bus = createFsBus({ root: path.join(root, 'bus'), pollIntervalMs: 10 });
  settings = defaultSettings();
  settings.daemon.expectedModelTypes = ['NAIVE'];
  settings.live.probationPoints = 10;
  settings.live.rollbackMargin = 0.1;
  metrics = createDaemonMetrics();
  clock = Date.parse('2026-03-01T12:00:00Z');
  // The daemon promotes runW, then runX, a better run of the same data: runX is on probation against runW.
  await addLoadableRun(fs, settings, trained('runW', 0.1));
  await autoPromote(HASH, 'daemon:a', settings, { store: fs, bus });
  await addLoadableRun(fs, settings, trained('runX', 0.05));
  const outcome = await autoPromote(HASH, 'daemon:a', settings, { store: fs, bus });
  if (outcome.result !== 'promoted') throw new Error(`runX was not promoted: ${outcome.result}`);
  ref = promotionRefOf(outcome.record)!;
  expect(ref).toMatchObject({ run_id: 'runX', previous_run_id: 'runW' });
});
afterEach(async () => {
  await bus.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
});

/** The promoter's look, on the recorded store and the test's clock. */
function promoterLook(): ProbationLook {
  return createProbationLook({ settings, store, bus, logger: silentLogger, metrics, owner: 'promoter-a', signal: new AbortController().signal }, () => new Date(clock));
}

/**
 * Replica `replica`'s report of the probation: `points` paired points over which the candidate's squared errors sum
 * to `ratio` squared times the baseline's (its live RMSE is `ratio` times the previous run's), written `ageMs` ago.
 */
async function report(replica: string, points: number, ratio: number, ageMs = 0, extra: Partial<LiveReport> = {}): Promise<void> {
  const paired = { candidate_run_id: ref.run_id, baseline_run_id: ref.previous_run_id, points, terms: points, candidate_sum_sq: points * ratio * ratio, baseline_sum_sq: points };
  const at = new Date(clock - ageMs).toISOString();
  await writeLiveReport(fs, settings, { replica, updated_at: at, served_run_id: ref.run_id, runs: [], probation: { promotion: ref, paired }, memory: { points: 0, forgotten: 0 }, ...extra });
}

/** One report interval later, one look: what it decided, and which replica reports it read (store gets). */
async function look(step: ProbationLook): Promise<{ decided: Awaited<ReturnType<ProbationLook>>; reads: string[] }> {
  clock += settings.live.reportIntervalMs;
  const from = calls.length;
  const decided = await step();
  const { prefix } = liveReportsPlace(settings);
  const reads = calls.slice(from).filter((call) => call.method === 'get' && call.key?.startsWith(prefix));
  return { decided, reads: reads.map((call) => path.basename(call.key!, '.json')).sort() };
}

describe('core > daemon > probation-role-step', () => {
  it('sums the reports of every replica, reading only those that changed since its last look', async () => {
    const step = promoterLook();
    await report('r1', 4, 1);
    await report('r2', 3, 1);
    // Too few points in all (7 of 10): no decision. A report first seen is read once more a look later (a listing
    // in whole seconds could hide a rewrite within that second), then no more while unchanged.
    expect(await look(step)).toEqual({ decided: undefined, reads: ['r1', 'r2'] });
    expect(await look(step)).toEqual({ decided: undefined, reads: ['r1', 'r2'] });
    expect(await look(step)).toEqual({ decided: undefined, reads: [] });
    expect(await look(step)).toEqual({ decided: undefined, reads: [] });

    // r2 pairs two more points: only its report is read, and the sum (9) is still short.
    await report('r2', 5, 1);
    expect(await look(step)).toEqual({ decided: undefined, reads: ['r2'] });
    expect(await look(step)).toEqual({ decided: undefined, reads: ['r2'] });
    expect(await look(step)).toEqual({ decided: undefined, reads: [] });
    expect(await readProbationDecision(fs, settings, ref)).toBeUndefined();

    // A third replica brings the sum to 12: decided from the three, kept (equal figures), and nothing read twice.
    await report('r3', 3, 1);
    const { decided, reads } = await look(step);
    expect(reads).toEqual(['r3']);
    expect(decided).toMatchObject({ verdict: 'keep', action: 'none', points: 12, replicas: ['r1', 'r2', 'r3'], decided_by: 'promoter promoter-a' });
    expect(await readProbationDecision(fs, settings, ref)).toMatchObject({ verdict: 'keep', points: 12 });
    expect(await readPromotionPointer(fs, settings)).toMatchObject({ run_id: 'runX' });
    // Decided: later looks read no report at all.
    await report('r1', 40, 3);
    expect(await look(step)).toEqual({ decided: undefined, reads: [] });
  });

  it('rolls back a run worse than the margin allows once enough matched points arrive, and counts it', async () => {
    const step = promoterLook();
    await report('r1', 6, 1.5);
    expect((await look(step)).decided).toBeUndefined();
    await report('r2', 6, 1.5);
    const { decided } = await look(step);
    expect(decided).toMatchObject({ verdict: 'rollback', action: 'rolled-back', points: 12, replicas: ['r1', 'r2'] });
    expect(decided?.candidate_rmse).toBeCloseTo(1.5);
    expect(decided?.baseline_rmse).toBeCloseTo(1);
    expect(await readPromotionPointer(fs, settings)).toMatchObject({ run_id: 'runW', source: 'auto-rollback' });
    expect((await metrics.registry.getSingleMetricAsString('flts_live_rollbacks_total')).match(/^flts_live_rollbacks_total (\d+)$/m)?.[1]).toBe('1');
  });

  it('keeps a run worse within the margin', async () => {
    const step = promoterLook();
    // 9 % worse, the margin being 10 %.
    await report('r1', 12, 1.09);
    const { decided } = await look(step);
    expect(decided).toMatchObject({ verdict: 'keep', action: 'none', points: 12, replicas: ['r1'] });
    expect(await readPromotionPointer(fs, settings)).toMatchObject({ run_id: 'runX' });
  });

  it('leaves out, and deletes, the report of a replica gone past the retention; a replica that stopped within it still counts', async () => {
    const step = promoterLook();
    const { bucket, prefix } = liveReportsPlace(settings);
    // Past its heartbeat but within the retention, and stopped: the points it paired are real, and summed.
    const stoppedAgo = liveReportHeartbeatMs(settings) * 3;
    await report('stopped', 4, 3, stoppedAgo, { stopped_at: new Date(clock - stoppedAgo).toISOString() });
    // Gone a day ago with enough points to decide alone, far worse: counted, it would roll runX back.
    await report('gone', 40, 3, settings.live.reportRetentionMs + 60_000);
    expect(await look(step)).toEqual({ decided: undefined, reads: ['gone', 'stopped'] });
    expect((await fs.list(bucket, prefix)).map((info) => path.basename(info.key, '.json'))).toEqual(['stopped']);

    // With r1's six points the sum reaches 10: decided on the two, the stopped replica's far worse figures included.
    await report('r1', 6, 1);
    expect((await look(step)).decided).toMatchObject({ verdict: 'rollback', action: 'rolled-back', points: 10, replicas: ['r1', 'stopped'] });
  });

  it('the promoter role looks every report interval on its own: a worse run is rolled back without a message', async () => {
    settings.live.reportIntervalMs = 50;
    const stopping = new AbortController();
    const role = await startPromoterRole({ settings, store, bus, logger: silentLogger, metrics, owner: 'promoter-a', signal: stopping.signal });
    try {
      clock = Date.now();
      await report('r1', 12, 2);
      await expect.poll(() => readPromotionPointer(fs, settings), { timeout: 30_000 }).toMatchObject({ run_id: 'runW', source: 'auto-rollback' });
      // The decision is recorded rollback-pending before the rollback and rolled-back after it, which may come a turn
      // after the pointer moved.
      await expect.poll(() => readProbationDecision(fs, settings, ref), { timeout: 30_000 }).toMatchObject({ verdict: 'rollback', action: 'rolled-back', replicas: ['r1'], decided_by: 'promoter promoter-a' });
    } finally {
      stopping.abort();
      await role.stop();
    }
  });
});

describe('core > daemon > probation-role-step > a failing look', () => {
  /** Every call of the store fails with `failure`, as an S3 endpoint that stopped answering. */
  function failingStore(failure: () => Error): ObjectStore {
    return new Proxy(fs, { get: (target, key) => (typeof Reflect.get(target, key) === 'function' ? async () => { throw failure(); } : Reflect.get(target, key)) });
  }

  /** The promoter's looks on `failing`, every 50 ms: the level and fields of the first daemon_probation_failed line. */
  async function firstFailureLine(failing: ObjectStore): Promise<{ level: string; fields: Record<string, unknown> }> {
    settings.live.reportIntervalMs = 50;
    const stopping = new AbortController();
    let said!: (line: { level: string; fields: Record<string, unknown> }) => void;
    const first = new Promise<{ level: string; fields: Record<string, unknown> }>((resolve) => (said = resolve));
    const at = (level: string) => (fields: object, msg?: string) => { if (msg === 'daemon_probation_failed') said({ level, fields: fields as Record<string, unknown> }); };
    const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
    startProbationDecisions({ settings, store: failing, bus, logger, metrics, owner: 'promoter-a', signal: stopping.signal });
    try {
      return await first;
    } finally {
      stopping.abort();
    }
  }

  it('says a store outage at warn with its code and reason, no stack: it repeats every report interval while it lasts', async () => {
    const outage = 'S3 endpoint http://127.0.0.1:9 did not answer for 10 s (store.s3.idleTimeoutMs) while accessing object \'current.json\' in bucket \'model-promotion\'.';
    const line = await firstFailureLine(failingStore(() => new FltsError('FLTS_STORE_UNAVAILABLE', outage)));
    expect(line).toEqual({ level: 'warn', fields: { code: 'FLTS_STORE_UNAVAILABLE', reason: outage } });
  });

  it('keeps any other failure at error with the error itself, stack and all', async () => {
    const bug = new TypeError('cannot read properties of undefined');
    const line = await firstFailureLine(failingStore(() => bug));
    expect(line).toEqual({ level: 'error', fields: { err: bug } });
  });
});
