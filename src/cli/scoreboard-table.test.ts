import { describe, expect, it } from 'vitest';
import type { Scoreboard, ScoreboardRow } from '../core/eval/scoreboard.js';
import { renderScoreboard } from './scoreboard-table.js';

function row(rank: number, runId: string, modelType: string, coverage: ScoreboardRow['coverage'], uncalibrated?: Record<string, string>): ScoreboardRow {
  return {
    rank,
    run_id: runId,
    model_type: modelType,
    experiment: 'Default',
    started_at: '2025-01-01T00:00:00.000Z',
    rmse: 0.1,
    mae: 0.1,
    mse: 0.01,
    r2: 0.5,
    score: 0.082,
    target: 'down',
    targets: ['down'],
    rmse_original: 1e7,
    r2_original: 0.5,
    improvement_over_naive_pct: null,
    improvement_over_baseline_pct: null,
    baseline_model_type: null,
    nrmse_original: 0.8,
    coverage,
    ...(uncalibrated ? { uncalibrated } : {}),
    gate: { passed: true, reason: 'no quality gate' },
  };
}

describe('cli > scoreboard-table', () => {
  it('shows an uncalibrated level as "-" and says why under the table, and a calibrated one as a percentage', () => {
    const reason = 'too few calibration windows for 0.95: need 19, have 5';
    const board: Scoreboard = {
      config_hash: 'c'.repeat(64),
      rows: [row(1, 'run-a', 'GRU', { '0.8': 0.294, '0.95': null }, { '0.95': reason }), row(2, 'run-b', 'NAIVE', { '0.8': 0.81, '0.95': 0.955 })],
      naive_run_id: 'run-b',
      gate_min_improvement_pct: null,
    };
    const lines = renderScoreboard(board);
    const header = lines[1].split(/\s{2,}/);
    const cells = (line: string): Record<string, string> => Object.fromEntries(line.split(/\s{2,}/).map((cell, i) => [header[i], cell]));
    expect(cells(lines[2])).toMatchObject({ model: 'GRU', 'cover 0.8': '29.4%', 'cover 0.95': '-' });
    expect(cells(lines[3])).toMatchObject({ model: 'NAIVE', 'cover 0.8': '81.0%', 'cover 0.95': '95.5%' });
    expect(lines.slice(4)).toEqual([`cover 0.95 of GRU run-a: not calibrated (${reason})`]);
    expect(lines.join('\n')).not.toContain('100.0%');
  });

  it('shows a missing or non-finite metric, score or improvement as "-", never Infinity or NaN', () => {
    const missing = { ...row(1, 'run-a', 'GRU', {}), rmse: Number.NaN, mae: Number.NaN, score: Number.POSITIVE_INFINITY, r2: Number.NaN, rmse_original: Number.NaN, improvement_over_naive_pct: Number.NEGATIVE_INFINITY, improvement_over_baseline_pct: Number.NEGATIVE_INFINITY, baseline_model_type: 'NAIVE' };
    const board: Scoreboard = { config_hash: 'c'.repeat(64), rows: [missing], naive_run_id: null, gate_min_improvement_pct: null };
    const lines = renderScoreboard(board);
    const header = lines[1].split(/\s{2,}/);
    const cells = Object.fromEntries(lines[2].split(/\s{2,}/).map((cell, i) => [header[i], cell]));
    expect(cells).toMatchObject({ rmse: '-', mae: '-', r2: '-', score: '-', 'rmse(down)': '-', 'vs NAIVE': '-', 'vs best baseline': '- (NAIVE)' });
    expect(lines.join('\n')).not.toMatch(/Infinity|NaN/);
  });

  it('draws one table per target set under a line naming it, and says which one promotion chooses from', () => {
    const of = (targets: string[], base: ScoreboardRow): ScoreboardRow => ({ ...base, targets, target: targets[0] });
    const board: Scoreboard = {
      config_hash: 'c'.repeat(64),
      rows: [of(['down'], row(1, 'run-a', 'GRU', {})), of(['down'], row(2, 'run-b', 'NAIVE', {})), of(['up', 'down'], row(1, 'run-c', 'LSTM', {}))],
      naive_run_id: 'run-b',
      gate_min_improvement_pct: null,
      targets: ['down'],
      target_sets: [
        { targets: ['down'], runs: 2, naive_run_id: 'run-b', baseline_run_id: 'run-b' },
        { targets: ['down', 'up'], runs: 7, naive_run_id: null, baseline_run_id: null },
      ],
    };
    const lines = renderScoreboard(board);
    expect(lines[0]).toContain('2 target sets, one board each');
    expect(lines[2]).toBe('targets down: 2 run(s), ranked among themselves against their own baselines; the configured targets: promote --best and automatic promotion choose from these');
    expect(lines[3].split(/\s{2,}/).slice(0, 3)).toEqual(['#', 'model', 'run_id']);
    expect(lines.slice(4, 6).map((line) => line.split(/\s{2,}/)[2])).toEqual(['run-a', 'run-b']);
    expect(lines[7]).toBe('targets down,up: 7 run(s), ranked among themselves against their own baselines');
    expect(lines[9].split(/\s{2,}/).slice(0, 3)).toEqual(['1', 'LSTM', 'run-c']);
    expect(lines).toHaveLength(10);
    // One target set: one table, as before, with its targets in the first line.
    expect(renderScoreboard({ ...board, rows: board.rows.slice(0, 2), target_sets: board.target_sets!.slice(0, 1) })[0]).toMatch(/; targets down\)$/);
    // A board ranked as one (which lists no target sets) stays one table.
    const asOne = renderScoreboard({ ...board, target_sets: undefined }, 'backtest');
    expect(asOne).toHaveLength(5);
    expect(asOne[0]).not.toContain('targets');
  });

  it('draws the boards of several target sets as the MLflow board does: one set of column widths, so they line up', () => {
    const of = (targets: string[], base: ScoreboardRow): ScoreboardRow => ({ ...base, targets, target: targets[0] });
    const board: Scoreboard = {
      config_hash: 'c'.repeat(64),
      rows: [of(['down'], row(1, 'run-a', 'GRU', {})), of(['up'], row(1, 'a-much-longer-run-id', 'PROPHET', {}))],
      naive_run_id: null,
      gate_min_improvement_pct: null,
      targets: ['down'],
      target_sets: [
        { targets: ['down'], runs: 1, naive_run_id: null, baseline_run_id: null },
        { targets: ['up'], runs: 1, naive_run_id: null, baseline_run_id: null },
      ],
    };
    const lines = renderScoreboard(board);
    const columnsAt = (line: string): number[] => [...line.matchAll(/(?<=\s{2})\S/g)].map((m) => m.index);
    const [firstHeader, secondHeader] = lines.filter((line) => line.startsWith('#'));
    expect(columnsAt(firstHeader)).toEqual(columnsAt(secondHeader));
    // Each table still names its own target in the rmse column.
    expect([firstHeader, secondHeader].map((line) => /rmse\((\w+)\)/.exec(line)?.[1])).toEqual(['down', 'up']);
    expect(lines.find((line) => line.startsWith('targets down'))).toBe('targets down: 1 run(s), ranked among themselves against their own baselines; the configured targets: promote --best and automatic promotion choose from these');
  });
});

