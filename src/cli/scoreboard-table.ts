import type { Scoreboard, ScoreboardRow } from '../core/eval/scoreboard.js';
import { renderTargetSetTables } from './target-set-tables.js';

/** A missing metric is stored as null and scores +Infinity, a diverged one is NaN: either way there is no figure to show. */
function num(value: number | null, digits = 5): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  return Math.abs(value) >= 1e5 ? value.toExponential(3) : value.toFixed(digits);
}

function coverageCell(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : `${(value * 100).toFixed(1)}%`;
}

const pct = (value: number | null | undefined): string => (value === null || value === undefined || !Number.isFinite(value) ? '-' : `${value >= 0 ? '+' : ''}${value.toFixed(1)}%`);

/**
 * The scoreboard as aligned text lines, then why a level's coverage is missing where a band was not calibrated.
 * `rankedBy`: where the figures come from, named in the first line, since both boards have the same columns. Runs of
 * several target sets get one table each, under a line naming the set and, for the configured one, that promotion
 * chooses from it: their rankings and baselines are separate, and so are their tables.
 */
export function renderScoreboard(board: Scoreboard, rankedBy: 'test' | 'backtest' = 'test'): string[] {
  const gated = board.gate_min_improvement_pct !== null;
  const notes = board.rows.flatMap((r) => Object.entries(r.uncalibrated ?? {}).map(([level, reason]) => `cover ${level} of ${r.model_type} ${r.run_id}: not calibrated (${reason})`));
  const source = rankedBy === 'backtest' ? 'mean fold metrics of the stored `flts backtest`' : 'metrics on the held-out test file';
  const levels = [...new Set(board.rows.flatMap((r) => Object.keys(r.coverage ?? {})))].sort((a, b) => Number(a) - Number(b));
  const header = (rows: readonly ScoreboardRow[]): string[] => ['#', 'model', 'run_id', 'rmse', 'mae', 'mse', 'r2', 'score', `rmse(${rows[0]?.target ?? ''})`, 'nrmse', 'vs NAIVE', 'vs best baseline', ...levels.map((level) => `cover ${level}`), 'gate'];
  const cells = (r: ScoreboardRow): string[] => [
    String(r.rank),
    r.model_type,
    r.run_id,
    num(r.rmse),
    num(r.mae),
    num(r.mse),
    num(r.r2, 4),
    num(r.score),
    num(r.rmse_original),
    num(r.nrmse_original ?? null, 4),
    pct(r.improvement_over_naive_pct),
    r.baseline_model_type ? `${pct(r.improvement_over_baseline_pct)} (${r.baseline_model_type})` : '-',
    ...levels.map((level) => coverageCell(r.coverage?.[level])),
    gated ? (r.gate.passed ? 'pass' : 'FAIL') : '-',
  ];
  const tables = renderTargetSetTables({
    title: `config_hash ${board.config_hash} (${source}; rmse/mae/mse/r2 scaled`,
    header,
    rows: board.rows,
    cells,
    // Rows of an flts before target sets carry none: they are one board, as they were ranked.
    targetsOf: (row) => row.targets ?? [],
    sets: board.target_sets,
    configured: board.targets,
    rankedAgainst: 'against their own baselines',
  });
  return [...tables, ...notes];
}
