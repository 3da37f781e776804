import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../config/settings.js';
import { putJson } from '../storage/json-objects.js';
import { createFsStore } from '../storage/fs-store.js';
import { rankRunsByLiveError } from './live-ranking.js';
import { writeLiveReport, writeProbationDecision, type LiveReport } from './live-reports.js';
import { appendHistory, syncPointers } from '../registry/promotion-history.js';
import { historyRecord } from '../../../test/helpers/promotion-record.js';

const root = mkdtempSync(path.join(tmpdir(), 'flts-live-ranking-'));
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));

describe('core > live > ranking by live error', () => {
  it('ranks the readable figures and leaves out run entries and figures a damaged report holds instead of failing', async () => {
    const store = createFsStore(root);
    const settings = defaultSettings();
    const updated = new Date().toISOString();
    const good: LiveReport = {
      replica: 'host-1',
      updated_at: updated,
      served_run_id: 'good',
      runs: [{ run_id: 'good', matched_total: 5, targets: { down: { rmse: 2, mae: 1, points: 5 } as never } }],
      probation: null,
      memory: { points: 5, forgotten: 0 },
    };
    await writeLiveReport(store, settings, good);
    const runs = [null, { run_id: 'no-targets' }, { run_id: 'text', targets: { down: { rmse: 'abc', mae: 1, points: 5 } } }, { run_id: 'nulls', targets: { down: null } }];
    await putJson(store, settings.store.buckets.runs, 'live/global/replicas/host-2.json', { ...good, replica: 'host-2', runs });

    const ranking = await rankRunsByLiveError(store, settings);
    expect(ranking.rows).toEqual([{ rank: 1, run_id: 'good', live_rmse: 2, live_mae: 1, points: 5, few_points: true, terms: { points: 500, margin: 0.1, source: 'settings', run_id: null }, replicas: ['host-1'], updated_at: updated }]);
  });

  it('leaves out figures no scorer writes (Infinity points, a negative RMSE, a coverage share past 1) and pools huge errors without reading Infinity', async () => {
    const store = createFsStore(path.join(root, 'bounds'));
    const settings = defaultSettings();
    const updated = new Date().toISOString();
    const report = (replica: string, targets: Record<string, unknown>): LiveReport => ({
      replica,
      updated_at: updated,
      served_run_id: 'run',
      runs: [{ run_id: 'run', matched_total: 1, targets: targets as never }],
      probation: null,
      memory: { points: 0, forgotten: 0 },
    });
    await writeLiveReport(store, settings, report('host-1', { down: { rmse: 1e150, mae: 1e150, points: 1_000_000, coverage: {} }, up: { rmse: 1e150, mae: 1e150, points: 1_000_000, coverage: {} } }));
    await writeLiveReport(store, settings, report('host-2', { down: { rmse: 1e150, mae: 1e150, points: 1_000_000, coverage: {} } }));
    await putJson(store, settings.store.buckets.runs, 'live/global/replicas/host-3.json', report('host-3', { down: { rmse: 1, mae: 1, points: 1e308, coverage: {} }, up: { rmse: -5, mae: 1, points: 3, coverage: {} }, other: { rmse: 1, mae: 1, points: 3, coverage: { '0.8': 7 } } }));

    const [row] = (await rankRunsByLiveError(store, settings)).rows;
    expect(row).toMatchObject({ run_id: 'run', points: 2_000_000, replicas: ['host-1', 'host-2'] });
    expect(row.live_rmse).toBeCloseTo(1e150, -140);
    expect(row.live_mae).toBeCloseTo(1e150, -140);
  });

  it('ranks a run with fewer points than a probation needs after the runs that have enough, however low its error', async () => {
    const store = createFsStore(path.join(root, 'few'));
    const settings = defaultSettings();
    settings.live.probationPoints = 100;
    const report = (replica: string, runs: Array<[string, number, number]>): LiveReport => ({
      replica,
      updated_at: new Date().toISOString(),
      served_run_id: runs[0][0],
      runs: runs.map(([runId, rmse, points]) => ({ run_id: runId, matched_total: points, targets: { down: { rmse, mae: rmse, points } as never } })),
      probation: null,
      memory: { points: 0, forgotten: 0 },
    });
    await writeLiveReport(store, settings, report('host-1', [['measured', 3, 1000], ['lucky', 0.5, 2], ['worse', 4, 800]]));
    const rows = (await rankRunsByLiveError(store, settings)).rows;
    expect(rows.map((row) => [row.rank, row.run_id, row.few_points])).toEqual([[1, 'measured', false], [2, 'worse', false], [3, 'lucky', true]]);
  });

  it("judges 'too few points' by the probation terms of the promotion in service, the local setting only when its record has none", async () => {
    const store = createFsStore(path.join(root, 'terms'));
    const settings = defaultSettings();
    settings.live.probationPoints = 100;
    settings.live.rollbackMargin = 0.1;
    await writeLiveReport(store, settings, {
      replica: 'host-1',
      updated_at: new Date().toISOString(),
      served_run_id: 'new',
      runs: [{ run_id: 'new', matched_total: 60, targets: { down: { rmse: 1, mae: 1, points: 60 } as never } }],
      probation: null,
      memory: { points: 0, forgotten: 0 },
    });
    await store.ensureBucket(settings.store.buckets.promotion);
    // A first promotion fixes no terms: the local setting rules, and says so.
    await appendHistory(store, settings, historyRecord('old', null, 1));
    await syncPointers(store, settings);
    const local = await rankRunsByLiveError(store, settings);
    expect(local.terms).toEqual({ points: 100, margin: 0.1, source: 'settings', run_id: null });
    expect(local.rows[0].few_points).toBe(true);

    // The promoting process fixed 50 points: 60 are enough, whatever this process's 100 say.
    await appendHistory(store, settings, { ...historyRecord('new', 'old', 2), probation: { points: 50, margin: 0.25 } });
    await syncPointers(store, settings);
    const promoted = await rankRunsByLiveError(store, settings);
    expect(promoted.terms).toEqual({ points: 50, margin: 0.25, source: 'promotion', run_id: 'new' });
    expect(promoted.rows[0]).toMatchObject({ run_id: 'new', points: 60, few_points: false });
  });

  it('judges the runs of a replica pinned to another run (FLTS_SERVE_RUN) by the terms of the run it serves, and says which terms judged each replica', async () => {
    const store = createFsStore(path.join(root, 'pinned'));
    const settings = defaultSettings();
    settings.live.probationPoints = 200;
    const report = (replica: string, served: string, runs: Array<[string, number]>): LiveReport => ({
      replica,
      updated_at: new Date().toISOString(),
      served_run_id: served,
      runs: runs.map(([runId, points]) => ({ run_id: runId, matched_total: points, targets: { down: { rmse: 1, mae: 1, points } as never } })),
      probation: null,
      memory: { points: 0, forgotten: 0 },
    });
    // host-1 serves the promotion in service (50 points); host-2 is pinned to "old", whose own promotion fixed 100,
    // and forecasts a challenger in shadow; host-3 is pinned to a run never promoted.
    await writeLiveReport(store, settings, report('host-1', 'new', [['new', 60]]));
    await writeLiveReport(store, settings, report('host-2', 'old', [['old', 80], ['challenger', 120]]));
    await writeLiveReport(store, settings, report('host-3', 'candidate', [['candidate', 150]]));
    await store.ensureBucket(settings.store.buckets.promotion);
    await appendHistory(store, settings, { ...historyRecord('old', null, 1), probation: { points: 100, margin: 0.3 } });
    await appendHistory(store, settings, { ...historyRecord('new', 'old', 2), probation: { points: 50, margin: 0.25 } });
    await syncPointers(store, settings);

    const ranking = await rankRunsByLiveError(store, settings);
    const inService = { points: 50, margin: 0.25, source: 'promotion', run_id: 'new' };
    const oldTerms = { points: 100, margin: 0.3, source: 'run-promotion', run_id: 'old' };
    const fromSettings = { points: 200, margin: 0.1, source: 'settings', run_id: null };
    expect(ranking.terms).toEqual(inService);
    expect(Object.fromEntries(ranking.rows.map((row) => [row.run_id, [row.few_points, row.terms]]))).toEqual({
      new: [false, inService],
      // 80 points: enough by the promotion in service's 50, too few by the 100 of the run host-2 serves.
      old: [true, oldTerms],
      challenger: [false, oldTerms],
      candidate: [true, fromSettings],
    });
    const running = { updated_at: expect.any(String), stopped_at: null, report_interval_ms: null };
    expect(ranking.replicas).toEqual([
      { replica: 'host-1', served_run_id: 'new', terms: inService, ...running },
      { replica: 'host-2', served_run_id: 'old', terms: oldTerms, ...running },
      { replica: 'host-3', served_run_id: 'candidate', terms: fromSettings, ...running },
    ]);
  });

  it('sums the points of a run several replicas forecast in shadow, each on its own requests, and judges them by the strictest terms of the runs served beside it', async () => {
    const store = createFsStore(path.join(root, 'shadowed'));
    const settings = defaultSettings();
    const report = (replica: string, served: string, runs: Array<[string, number, number]>): LiveReport => ({
      replica,
      updated_at: new Date().toISOString(),
      served_run_id: served,
      runs: runs.map(([runId, points, rmse]) => ({ run_id: runId, matched_total: points, targets: { down: { rmse, mae: rmse, points } as never } })),
      probation: null,
      memory: { points: 0, forgotten: 0 },
    });
    // host-1 serves the promotion in service (50 points to decide), host-2 is pinned to "old" (100): both forecast
    // the challenger in shadow, on the requests each was sent, so their points are distinct and add up.
    await writeLiveReport(store, settings, report('host-1', 'new', [['new', 60, 2], ['challenger', 40, 1]]));
    await writeLiveReport(store, settings, report('host-2', 'old', [['old', 120, 3], ['challenger', 50, 4]]));
    await store.ensureBucket(settings.store.buckets.promotion);
    await appendHistory(store, settings, { ...historyRecord('old', null, 1), probation: { points: 100, margin: 0.3 } });
    await appendHistory(store, settings, { ...historyRecord('new', 'old', 2), probation: { points: 50, margin: 0.25 } });
    await syncPointers(store, settings);

    const challenger = (await rankRunsByLiveError(store, settings)).rows.find((row) => row.run_id === 'challenger')!;
    // 90 points: enough for the 50 of the run host-1 serves, too few for the 100 of the one host-2 serves, which it
    // is ranked against too; the largest of one replica's (50) would say too few by either.
    expect(challenger).toMatchObject({ points: 90, few_points: true, terms: { points: 100, source: 'run-promotion', run_id: 'old' }, replicas: ['host-1', 'host-2'] });
    expect(challenger.live_rmse).toBeCloseTo(Math.sqrt((1 * 40 + 16 * 50) / 90), 12);
  });

  it('counts a point scored on several targets once, as a probation does, when it judges too few points', async () => {
    const store = createFsStore(path.join(root, 'targets'));
    const settings = defaultSettings();
    settings.live.probationPoints = 500;
    await writeLiveReport(store, settings, {
      replica: 'host-1',
      updated_at: new Date().toISOString(),
      served_run_id: 'two',
      runs: [{ run_id: 'two', matched_total: 300, targets: { down: { rmse: 1, mae: 1, points: 300 } as never, up: { rmse: 3, mae: 3, points: 300 } as never } }],
      probation: null,
      memory: { points: 0, forgotten: 0 },
    });
    const [row] = (await rankRunsByLiveError(store, settings)).rows;
    expect(row).toMatchObject({ run_id: 'two', points: 300, few_points: true, live_mae: 2 });
    expect(row.live_rmse).toBeCloseTo(Math.sqrt(5), 12);
  });

  it('sums the points the running replicas hold waiting for each target, leaving out a stopped replica and figures no scorer writes', async () => {
    const store = createFsStore(path.join(root, 'waiting'));
    const settings = defaultSettings();
    const report = (replica: string, waiting: unknown, stopped = false): LiveReport => ({
      replica,
      updated_at: new Date().toISOString(),
      served_run_id: 'run',
      runs: [{ run_id: 'run', matched_total: 5, targets: { down: { rmse: 1, mae: 1, points: 5 } as never } }],
      probation: null,
      memory: { points: 5, forgotten: 0, waiting: waiting as Record<string, number> },
      ...(stopped ? { stopped_at: new Date().toISOString() } : {}),
    });
    await writeLiveReport(store, settings, report('host-1', { up: 3 }));
    await writeLiveReport(store, settings, report('host-2', { up: 4, down: 'x', other: -1 }));
    await writeLiveReport(store, settings, report('host-3', { up: 100 }, true));
    const ranking = await rankRunsByLiveError(store, settings);
    expect(ranking.waiting).toEqual({ up: 7 });
    // The stopped replica's figures still count, and --json says it stopped.
    expect(ranking.rows[0].replicas).toEqual(['host-1', 'host-2', 'host-3']);
    expect(ranking.replicas.map((replica) => [replica.replica, replica.stopped_at === null])).toEqual([['host-1', true], ['host-2', true], ['host-3', false]]);
  });

  it('sums the actual values the running replicas keep for forecasts not made yet, leaving out a stopped replica', async () => {
    const store = createFsStore(path.join(root, 'early'));
    const settings = defaultSettings();
    const report = (replica: string, targets: Record<string, unknown> | undefined, stopped = false): LiveReport => ({
      replica,
      updated_at: new Date().toISOString(),
      served_run_id: 'run',
      runs: [{ run_id: 'run', matched_total: 5, targets: { down: { rmse: 1, mae: 1, points: 5 } as never } }],
      probation: null,
      memory: { points: 0, forgotten: 0 },
      ...(targets ? { early_actuals: { points: 0, targets: targets as Record<string, number>, expired: 0, forgotten: 0 } } : {}),
      ...(stopped ? { stopped_at: new Date().toISOString() } : {}),
    });
    await writeLiveReport(store, settings, report('host-1', { down: 3 }));
    await writeLiveReport(store, settings, report('host-2', { down: 4, up: 'x' }));
    await writeLiveReport(store, settings, report('host-3', { down: 100 }, true));
    // A report of an flts before early actuals were kept has none.
    await writeLiveReport(store, settings, report('host-4', undefined));
    expect((await rankRunsByLiveError(store, settings)).early_actuals).toEqual({ down: 7 });
  });
  it('shows the probation of the promotion in service as the decider pools it, paired points of every replica against those needed, and its decision once taken', async () => {
    const store = createFsStore(path.join(root, 'probation'));
    const settings = defaultSettings();
    await store.ensureBucket(settings.store.buckets.promotion);
    await appendHistory(store, settings, historyRecord('old', null, 1));
    await syncPointers(store, settings);
    // A first promotion has no probation.
    expect((await rankRunsByLiveError(store, settings)).probation).toBeNull();

    await appendHistory(store, settings, { ...historyRecord('new', 'old', 2), probation: { points: 50, margin: 0.1 } });
    await syncPointers(store, settings);
    const promotion = { run_id: 'new', previous_run_id: 'old', timestamp: '2026-01-01T00:00:02.000000Z' };
    const report = (replica: string, paired: { points: number; candidate: number; baseline: number }, of = promotion): LiveReport => ({
      replica,
      updated_at: new Date().toISOString(),
      served_run_id: 'new',
      runs: [{ run_id: 'new', matched_total: 99, targets: { down: { rmse: 9, mae: 9, points: 99 } as never } }],
      probation: { promotion: of, paired: { candidate_run_id: of.run_id, baseline_run_id: of.previous_run_id, points: paired.points, terms: paired.points, candidate_sum_sq: paired.candidate, baseline_sum_sq: paired.baseline } },
      memory: { points: 0, forgotten: 0 },
    });
    // Two replicas pair 10 and 30 points (squared errors 40 and 160 for the new run, 90 and 270 for the old); a
    // third's are of an earlier promotion of the same run, which this probation does not count.
    await writeLiveReport(store, settings, report('host-1', { points: 10, candidate: 40, baseline: 90 }));
    await writeLiveReport(store, settings, report('host-2', { points: 30, candidate: 160, baseline: 270 }));
    await writeLiveReport(store, settings, report('host-3', { points: 500, candidate: 1, baseline: 1 }, { ...promotion, timestamp: '2025-12-31T00:00:00.000000Z' }));
    const running = await rankRunsByLiveError(store, settings);
    expect(running.probation).toEqual({ run_id: 'new', previous_run_id: 'old', promoted_at: promotion.timestamp, points: 40, needed: 50, candidate_rmse: Math.sqrt(200 / 40), baseline_rmse: Math.sqrt(360 / 40), replicas: ['host-1', 'host-2'], decision: null });

    const decision = { promotion, verdict: 'keep' as const, candidate_rmse: 2, baseline_rmse: 3, points: 52, replicas: ['host-1', 'host-2'], reason: 'better', action: 'none' as const, decided_by: 'host-1', decided_at: '2026-01-01T00:10:00.000Z' };
    await writeProbationDecision(store, settings, decision);
    expect((await rankRunsByLiveError(store, settings)).probation?.decision).toEqual({ verdict: 'keep', action: 'none', reason: 'better', points: 52, candidate_rmse: 2, baseline_rmse: 3, decided_by: 'host-1', decided_at: '2026-01-01T00:10:00.000Z' });
  });
});
