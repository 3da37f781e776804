import type { Scoreboard } from '../core/eval/scoreboard.js';

function num(value: number | null, digits = 5): string {
  if (value === null || value === undefined) return '-';
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1e5 ? value.toExponential(3) : value.toFixed(digits);
}

/** The scoreboard as aligned text lines. */
export function renderScoreboard(board: Scoreboard): string[] {
  const header = ['#', 'model', 'run_id', 'rmse', 'mae', 'mse', 'r2', 'score', `rmse(${board.rows[0]?.target ?? ''})`, 'vs NAIVE', 'gate'];
  const rows = board.rows.map((r) => [
    String(r.rank),
    r.model_type,
    r.run_id,
    num(r.rmse),
    num(r.mae),
    num(r.mse),
    num(r.r2, 4),
    num(r.score),
    num(r.rmse_original),
    r.improvement_over_naive_pct === null ? '-' : `${r.improvement_over_naive_pct >= 0 ? '+' : ''}${r.improvement_over_naive_pct.toFixed(1)}%`,
    board.gate_min_improvement_pct === null ? '-' : r.gate.passed ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [`config_hash ${board.config_hash} (metrics on the held-out test file; rmse/mae/mse/r2 scaled)`, line(header), ...rows.map(line)];
}
