import { describe, expect, it } from 'vitest';
import { renderLiveRanking } from './live-ranking-lines.js';

const fromSettings = { points: 500, margin: 0.1, source: 'settings' as const, run_id: null };

const row = (rank: number, points: number) => ({ rank, run_id: `run-${rank}`, live_rmse: 2, live_mae: 1, points, few_points: points < 500, terms: fromSettings, replicas: ['r1'], updated_at: '2026-01-01T00:00:00.000Z' });

describe('cli > live-ranking-lines', () => {
  it('counts one matched point as "1 point"', () => {
    // Before: "1 points (too few to judge)".
    const [, one, many] = renderLiveRanking({ scope: 'global', waiting: {}, replicas: [], early_actuals: {}, terms: fromSettings, rows: [row(1, 1), row(2, 600)] }, { reportIntervalMs: 5000 });
    expect(one).toContain('  1 point (too few to judge)  replicas r1');
    expect(many).toContain('  600 points  replicas r1');
  });

  it('says how far behind serving the figures are: the report interval, the newest report, actuals still to come', () => {
    const [header] = renderLiveRanking({ scope: 'global', waiting: {}, replicas: [], early_actuals: {}, terms: fromSettings, rows: [row(1, 600), { ...row(2, 600), updated_at: '2026-01-01T00:00:05.000Z' }] }, { reportIntervalMs: 5000 });
    expect(header).toContain('as replicas last reported, every 5 s while their figures change, unchanged at least every minute, and at stop, newest 2026-01-01T00:00:05.000Z');
    expect(header).toContain('a forecast counts once its actual arrives');
  });

  it('says unchanged figures are rewritten too: at least every minute, or every interval when that is longer', () => {
    const rows = [row(1, 600)];
    expect(renderLiveRanking({ scope: 'global', waiting: {}, replicas: [], early_actuals: {}, terms: fromSettings, rows }, { reportIntervalMs: 5000 })[0]).toContain('every 5 s while their figures change, unchanged at least every minute, and at stop');
    expect(renderLiveRanking({ scope: 'global', waiting: {}, replicas: [], early_actuals: {}, terms: fromSettings, rows }, { reportIntervalMs: 120_000 })[0]).toContain('every 120 s, changed or not, and at stop');
  });

  it('names where the points a run needs come from: the promotion in service, or the local setting when its record fixed none', () => {
    const rows = [row(1, 600)];
    const promoted = renderLiveRanking({ scope: 'global', waiting: {}, replicas: [], early_actuals: {}, terms: { points: 50, margin: 0.2, source: 'promotion', run_id: 'run-9' }, rows }, { reportIntervalMs: 5000 })[0];
    expect(promoted).toContain('runs under 50 points ranked last, the probation terms of the promotion of run run-9;');
    expect(renderLiveRanking({ scope: 'global', waiting: {}, replicas: [], early_actuals: {}, terms: fromSettings, rows }, { reportIntervalMs: 5000 })[0]).toContain('runs under 500 points ranked last, FLTS_LIVE_PROBATION_POINTS (the promotion in service fixed no probation terms);');
  });

  it('names the terms a run served by a pinned replica is judged by, on its row and per replica, where they are not the header\'s', () => {
    const inService = { points: 50, margin: 0.2, source: 'promotion' as const, run_id: 'run-1' };
    const pinned = { points: 100, margin: 0.3, source: 'run-promotion' as const, run_id: 'run-2' };
    const rows = [{ ...row(1, 600), terms: inService }, { ...row(2, 80), few_points: true, terms: pinned, replicas: ['r2'] }];
    const running = { updated_at: '2026-01-01T00:00:05.000Z', stopped_at: null, report_interval_ms: null };
    const replicas = [{ replica: 'r1', served_run_id: 'run-1', terms: inService, ...running }, { replica: 'r2', served_run_id: 'run-2', terms: pinned, ...running }];
    const lines = renderLiveRanking({ scope: 'global', waiting: {}, early_actuals: {}, replicas, terms: inService, rows }, { reportIntervalMs: 5000 });
    expect(lines[1]).not.toContain('judged by');
    expect(lines[2]).toContain('80 points (too few to judge)  replicas r2  (judged by 100 points of the probation terms of the last promotion of run run-2)');
    expect(lines[3]).toBe('replica r2 serves run run-2, not the promoted run (pinned with FLTS_SERVE_RUN, or not reloaded yet): the run it serves is judged by 100 points of the probation terms of the last promotion of run run-2');
    expect(lines).toHaveLength(4);
  });

  it('says how many actual values the replicas keep for forecasts not made yet, under the ranked runs', () => {
    const lines = renderLiveRanking({ scope: 'global', waiting: {}, replicas: [], early_actuals: { down: 2, up: 1 }, terms: fromSettings, rows: [row(1, 600)] }, { reportIntervalMs: 5000 });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^actuals kept for forecasts not made yet .*: down 2 values, up 1 value$/);
  });

  it('says how many points wait for which target, under the ranked runs, and nothing when none waits', () => {
    const lines = renderLiveRanking({ scope: 'global', waiting: { up: 1200, down: 1 }, replicas: [], early_actuals: {}, terms: fromSettings, rows: [row(1, 600)] }, { reportIntervalMs: 5000 });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^waiting for one target's actuals .*: down 1 point, up 1200 points$/);
    expect(renderLiveRanking({ scope: 'global', waiting: {}, replicas: [], early_actuals: {}, terms: fromSettings, rows: [row(1, 600)] }, { reportIntervalMs: 5000 })).toHaveLength(2);
  });

  it('names the replicas that stopped, whose last figures still count, with when they stopped', () => {
    const at = { updated_at: '2026-01-01T00:00:05.000Z', report_interval_ms: null };
    const replicas = [
      { replica: 'r1', served_run_id: 'run-1', terms: fromSettings, ...at, stopped_at: null },
      { replica: 'r2', served_run_id: 'run-1', terms: fromSettings, ...at, stopped_at: '2026-01-01T00:00:05.000Z' },
    ];
    const lines = renderLiveRanking({ scope: 'global', waiting: {}, replicas, early_actuals: {}, terms: fromSettings, rows: [{ ...row(1, 600), replicas: ['r1', 'r2'] }] }, { reportIntervalMs: 5000 });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('stopped replicas, whose last figures count until their report is FLTS_LIVE_REPORT_RETENTION_MS old: r2 (at 2026-01-01T00:00:05.000Z)');
  });
  it('says how far the probation of the promotion in service has come on its paired points, and its decision once taken', () => {
    const probation = { run_id: 'run-new', previous_run_id: 'run-old', promoted_at: '2026-01-01T00:00:00.000Z', points: 40, needed: 500, candidate_rmse: 2, baseline_rmse: 3, replicas: ['r1', 'r2'], decision: null };
    const ranking = { scope: 'global', waiting: {}, replicas: [], early_actuals: {}, terms: fromSettings, rows: [row(1, 600)] };
    expect(renderLiveRanking({ ...ranking, probation }, { reportIntervalMs: 5000 })).toContain(
      'probation of run run-new (promoted 2026-01-01T00:00:00.000Z) against the previous run run-old: running, 40 of 500 paired points from replicas r1,r2 (live RMSE 2.00000 vs 3.00000 on them, as the decision compares them)',
    );
    // Before any replica reports: the probation still shows, under the line saying there are no figures yet.
    expect(renderLiveRanking({ ...ranking, rows: [], probation: { ...probation, points: 0, candidate_rmse: null, baseline_rmse: null, replicas: [] } }, { reportIntervalMs: 5000 })[1]).toBe(
      'probation of run run-new (promoted 2026-01-01T00:00:00.000Z) against the previous run run-old: running, 0 of 500 paired points (live RMSE none vs none on them, as the decision compares them)',
    );
    const decision = { verdict: 'keep' as const, action: 'none' as const, reason: 'live RMSE 2 vs 3', points: 500, candidate_rmse: 2, baseline_rmse: 3, decided_by: 'r1', decided_at: '2026-01-01T01:00:00.000Z' };
    expect(renderLiveRanking({ ...ranking, probation: { ...probation, decision } }, { reportIntervalMs: 5000 })).toContain(
      'probation of run run-new (promoted 2026-01-01T00:00:00.000Z) against the previous run run-old: decided keep (action none) by r1 at 2026-01-01T01:00:00.000Z on 500 paired points: live RMSE 2 vs 3',
    );
    // No probation (a first promotion, a rollback): no line.
    expect(renderLiveRanking({ ...ranking, probation: null }, { reportIntervalMs: 5000 }).some((line) => line.startsWith('probation'))).toBe(false);
  });
  it("says how often the replicas report by their own interval, the longest of them, where this process's setting differs", () => {
    const replica = (name: string, ms: number | null) => ({ replica: name, served_run_id: 'run-1', terms: fromSettings, updated_at: '2026-01-01T00:00:05.000Z', stopped_at: null, report_interval_ms: ms });
    const ranking = { scope: 'global', waiting: {}, early_actuals: {}, terms: fromSettings, rows: [row(1, 600)] };
    expect(renderLiveRanking({ ...ranking, replicas: [replica('r1', 1000)] }, { reportIntervalMs: 5000 })[0]).toContain('as replicas last reported, every 1 s while their figures change');
    // Before: "every 5 s while their figures change", from the reader's setting, of replicas an hour apart.
    expect(renderLiveRanking({ ...ranking, replicas: [replica('r1', 1000), replica('r2', 3_600_000)] }, { reportIntervalMs: 5000 })[0]).toContain('as replicas last reported, every 3600 s, changed or not, and at stop');
    // Replicas of an flts before they said: this process's setting.
    expect(renderLiveRanking({ ...ranking, replicas: [replica('r1', null)] }, { reportIntervalMs: 5000 })[0]).toContain('as replicas last reported, every 5 s while');
  });
});
