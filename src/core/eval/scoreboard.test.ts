import { describe, expect, it } from 'vitest';
import { fakeRun } from '../registry/run-record.fixture.js';
import type { RunRecord } from '../registry/run-record.js';
import type { IntervalScore } from '../models/prediction-intervals.js';
import { buildScoreboard, referenceScore, rowsOfTargets } from './scoreboard.js';

const HASH = 'c'.repeat(64);

/** `run` trained to forecast `targets` (its pooled test metrics stay as given). */
function forecasting(targets: string[], run: RunRecord): RunRecord {
  return { ...run, window: { ...run.window, features: targets, targets } };
}

describe('core > eval > scoreboard', () => {
  it('uses the reference weights 0.5 rmse + 0.3 mae + 0.2 mse (worked example of the reference)', () => {
    expect(referenceScore({ rmse: 0.04159637, mae: 0.02939517, mse: 0.00173026 })).toBeCloseTo(0.0299628, 6);
    expect(referenceScore({ rmse: 1, mae: 1 })).toBe(Number.POSITIVE_INFINITY);
  });

  it('ranks by score, sends NaN last, breaks ties to the newest run and ignores other hashes and states', () => {
    const runs = [
      fakeRun('old-tie', 'LSTM', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-01T00:00:00.000Z'),
      fakeRun('new-tie', 'GRU', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-02T00:00:00.000Z'),
      fakeRun('nan', 'PROPHET', { rmse: Number.NaN, mae: 0.1, mse: 0.01 }, '2025-01-03T00:00:00.000Z'),
      fakeRun('best', 'LSTM', { rmse: 0.05, mae: 0.05, mse: 0.0025 }, '2024-12-01T00:00:00.000Z'),
      fakeRun('naive', 'NAIVE', { rmse: 0.2, mae: 0.1, mse: 0.04 }, '2024-12-01T00:00:00.000Z'),
      fakeRun('failed', 'LSTM', { rmse: 0.001, mae: 0.001, mse: 0.000001 }, '2025-01-01T00:00:00.000Z', 'FAILED'),
      fakeRun('other', 'LSTM', { rmse: 0.001, mae: 0.001, mse: 0.000001 }, '2025-01-01T00:00:00.000Z', 'SUCCESS', 'd'.repeat(64)),
    ];
    const board = buildScoreboard(HASH, runs);
    expect(board.rows.map((r) => r.run_id)).toEqual(['best', 'new-tie', 'old-tie', 'naive', 'nan']);
    expect(board.rows.map((r) => r.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(board.naive_run_id).toBe('naive');
    expect(board.rows[0].improvement_over_naive_pct).toBeCloseTo(75, 10);
    expect(board.rows[0].gate.passed).toBe(true);
  });

  it('applies the quality gate against NAIVE', () => {
    const runs = [
      fakeRun('good', 'LSTM', { rmse: 0.09, mae: 0.05, mse: 0.0081 }, '2025-01-01T00:00:00.000Z'),
      fakeRun('meh', 'GRU', { rmse: 0.098, mae: 0.05, mse: 0.0096 }, '2025-01-01T00:00:00.000Z'),
      fakeRun('naive', 'NAIVE', { rmse: 0.1, mae: 0.05, mse: 0.01 }, '2025-01-01T00:00:00.000Z'),
    ];
    const board = buildScoreboard(HASH, runs, 5);
    const gate = Object.fromEntries(board.rows.map((r) => [r.run_id, r.gate.passed]));
    expect(gate).toEqual({ good: true, meh: false, naive: false });
    // A run without a test RMSE fails for that reason, not for a missing baseline (NAIVE is there).
    const unscored = buildScoreboard(HASH, [...runs, fakeRun('no-rmse', 'LSTM', { rmse: null as unknown as number, mae: 0.05, mse: 0.01 }, '2025-01-01T00:00:00.000Z')], 5);
    expect(unscored.rows.find((r) => r.run_id === 'no-rmse')?.gate).toEqual({ passed: false, reason: 'no test RMSE (missing or not a number) to compare' });
    const withoutNaive = buildScoreboard(HASH, runs.slice(0, 2), 5);
    expect(withoutNaive.rows.every((r) => !r.gate.passed && /no baseline run/.test(r.gate.reason))).toBe(true);
  });

  it('gates against the best baseline: a seasonal or statistical baseline that beats NAIVE raises the bar', () => {
    const runs = [
      fakeRun('good', 'LSTM', { rmse: 0.08, mae: 0.05, mse: 0.0064 }, '2025-01-01T00:00:00.000Z'),
      fakeRun('beats-naive-only', 'GRU', { rmse: 0.092, mae: 0.05, mse: 0.0085 }, '2025-01-01T00:00:00.000Z'),
      fakeRun('naive', 'NAIVE', { rmse: 0.1, mae: 0.05, mse: 0.01 }, '2025-01-01T00:00:00.000Z'),
      fakeRun('mstl', 'MSTL', { rmse: 0.09, mae: 0.05, mse: 0.0081 }, '2025-01-01T00:00:00.000Z'),
      fakeRun('snaive', 'SNAIVE', { rmse: 0.2, mae: 0.1, mse: 0.04 }, '2025-01-01T00:00:00.000Z'),
    ];
    const board = buildScoreboard(HASH, runs, 5);
    expect(board.baseline_run_id).toBe('mstl');
    const byId = Object.fromEntries(board.rows.map((r) => [r.run_id, r]));
    expect(byId.good.gate.passed).toBe(true);
    expect(byId.good.improvement_over_baseline_pct).toBeCloseTo((0.01 / 0.09) * 100, 10);
    expect(byId.good.improvement_over_naive_pct).toBeCloseTo(20, 10);
    expect(byId['beats-naive-only'].gate.passed).toBe(false);
    expect(byId['beats-naive-only'].gate.reason).toMatch(/best baseline \(MSTL\)/);
    expect(byId.mstl.gate.passed).toBe(false);
    expect(byId.snaive.baseline_model_type).toBe('MSTL');
  });

  it('reports a level without a band as uncalibrated, with the reason, never as its unbounded band covering everything', () => {
    const withIntervals = (run: RunRecord, intervals: Record<string, IntervalScore>): RunRecord => {
      run.metrics!.test.targets.down.intervals = intervals;
      return run;
    };
    const reason = 'too few calibration windows for 0.95: need 19, have 5';
    const runs = [
      withIntervals(fakeRun('short', 'GRU', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-01T00:00:00.000Z'), { '0.8': { coverage: 0.75, mean_width: 3 }, '0.95': { coverage: null, mean_width: null, uncalibrated: reason } }),
      // Recorded before such levels were: the unbounded band's coverage (1) beside the width JSON wrote as null.
      withIntervals(fakeRun('older', 'LSTM', { rmse: 0.2, mae: 0.1, mse: 0.04 }, '2025-01-01T00:00:00.000Z'), { '0.8': { coverage: 0.7, mean_width: 4 }, '0.95': { coverage: 1, mean_width: null } }),
      withIntervals(fakeRun('calibrated', 'NAIVE', { rmse: 0.3, mae: 0.1, mse: 0.09 }, '2025-01-01T00:00:00.000Z'), { '0.8': { coverage: 0.81, mean_width: 5 }, '0.95': { coverage: 0.96, mean_width: 9 } }),
    ];
    const byId = Object.fromEntries(buildScoreboard(HASH, runs).rows.map((r) => [r.run_id, r]));
    expect(byId.short.coverage).toEqual({ '0.8': 0.75, '0.95': null });
    expect(byId.short.uncalibrated).toEqual({ '0.95': reason });
    expect(byId.older.coverage).toEqual({ '0.8': 0.7, '0.95': null });
    expect(byId.older.uncalibrated).toEqual({ '0.95': 'unbounded band: too few calibration windows' });
    expect(byId.calibrated.coverage).toEqual({ '0.8': 0.81, '0.95': 0.96 });
    expect(byId.calibrated).not.toHaveProperty('uncalibrated');
  });

  it('ranks each target set on its own board, against the baselines of that set: a run of other targets never wins or sets the bar', () => {
    const runs = [
      // The walk that found it: the same NAIVE on `down`, and on `down,up` (whose pooled RMSE is another figure).
      forecasting(['down'], fakeRun('naive-down', 'NAIVE', { rmse: 0.1, mae: 0.1, mse: 0.01 }, '2025-01-01T00:00:00.000Z')),
      forecasting(['down', 'up'], fakeRun('naive-both', 'NAIVE', { rmse: 0.0789, mae: 0.07, mse: 0.0062 }, '2025-01-02T00:00:00.000Z')),
      forecasting(['down'], fakeRun('lstm-down', 'LSTM', { rmse: 0.09, mae: 0.09, mse: 0.0081 }, '2025-01-01T00:00:00.000Z')),
      // Listed the other way round: the same columns, the same board.
      forecasting(['up', 'down'], fakeRun('gru-both', 'GRU', { rmse: 0.06, mae: 0.05, mse: 0.0036 }, '2025-01-03T00:00:00.000Z')),
    ];
    const board = buildScoreboard(HASH, runs, 5, ['down']);
    const byId = Object.fromEntries(board.rows.map((r) => [r.run_id, r]));
    // Each NAIVE is its own set's baseline: 0 %, not -26.8 % against the newest NAIVE of any targets.
    expect(byId['naive-down'].improvement_over_naive_pct).toBe(0);
    expect(byId['naive-both'].improvement_over_naive_pct).toBe(0);
    expect(byId['lstm-down'].improvement_over_naive_pct).toBeCloseTo(10, 10);
    expect(byId['lstm-down'].gate).toMatchObject({ passed: true });
    expect(byId['gru-both'].improvement_over_baseline_pct).toBeCloseTo(((0.0789 - 0.06) / 0.0789) * 100, 10);
    // The configured targets' board first, so rows[0] is what promotion chooses; each board ranked from 1.
    expect(board.rows.map((r) => [r.run_id, r.rank, r.targets.join(',')])).toEqual([
      ['lstm-down', 1, 'down'],
      ['naive-down', 2, 'down'],
      ['gru-both', 1, 'up,down'],
      ['naive-both', 2, 'down,up'],
    ]);
    expect(board.targets).toEqual(['down']);
    expect(board.target_sets).toEqual([
      { targets: ['down'], runs: 2, naive_run_id: 'naive-down', baseline_run_id: 'naive-down' },
      { targets: ['down', 'up'], runs: 2, naive_run_id: 'naive-both', baseline_run_id: 'naive-both' },
    ]);
    expect(board.naive_run_id).toBe('naive-down');
    expect(rowsOfTargets(board, ['up', 'down']).map((r) => r.run_id)).toEqual(['gru-both', 'naive-both']);
    // Configured the other way: that board comes first.
    expect(buildScoreboard(HASH, runs, 5, ['up', 'down']).rows[0].run_id).toBe('gru-both');
  });
});
