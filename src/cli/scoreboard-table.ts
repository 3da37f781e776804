import type { Scoreboard, ScoreboardRow } from '../core/eval/scoreboard.js';

/** A missing metric is stored as null and scores +Infinity, a diverged one is NaN: either way there is no figure to show. */
function num(value: number | null, digits = 5): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  return Math.abs(value) >= 1e5 ? value.toExponential(3) : value.toFixed(digits);
}

function coverageCell(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : `${(value * 100).toFixed(1)}%`;
}

/** The rows of each target set, in board order (rows of one set follow each other). */
function boardsOf(board: Scoreboard): { targets: string[]; rows: ScoreboardRow[] }[] {
  const boards: { key: string; targets: string[]; rows: ScoreboardRow[] }[] = [];
  for (const row of board.rows) {
    // Rows of an flts before target sets carry none: they are one board, as they were ranked.
    const targets = row.targets ?? [];
    const key = [...targets].sort().join(',');
    const last = boards.at(-1);
    if (last?.key === key) last.rows.push(row);
    else boards.push({ key, targets: [...targets].sort(), rows: [row] });
  }
  return boards;
}

function table(rows: readonly ScoreboardRow[], gated: boolean): string[] {
  const levels = [...new Set(rows.flatMap((r) => Object.keys(r.coverage ?? {})))].sort((a, b) => Number(a) - Number(b));
  const pct = (value: number | null | undefined): string => (value === null || value === undefined || !Number.isFinite(value) ? '-' : `${value >= 0 ? '+' : ''}${value.toFixed(1)}%`);
  const header = ['#', 'model', 'run_id', 'rmse', 'mae', 'mse', 'r2', 'score', `rmse(${rows[0]?.target ?? ''})`, 'nrmse', 'vs NAIVE', 'vs best baseline', ...levels.map((level) => `cover ${level}`), 'gate'];
  const cells = rows.map((r) => [
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
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]): string => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), ...cells.map(line)];
}

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
  // A board that lists no target sets (one an older flts wrote as JSON) ranked its rows as one: one table, as it ranked them.
  const boards = board.target_sets ? boardsOf(board) : [];
  const configured = board.targets ? board.targets.join(',') : undefined;
  if (boards.length <= 1) {
    const targets = boards[0]?.targets.length ? `; targets ${boards[0].targets.join(',')}` : '';
    return [`config_hash ${board.config_hash} (${source}; rmse/mae/mse/r2 scaled${targets})`, ...table(board.rows, gated), ...notes];
  }
  const runsOf = new Map((board.target_sets ?? []).map((set) => [set.targets.join(','), set.runs]));
  const sections = boards.flatMap(({ targets, rows }) => {
    const name = targets.join(',');
    const runs = runsOf.get(name) ?? rows.length;
    const chosen = name === configured ? '; the configured targets: promote --best and automatic promotion choose from these' : '';
    return ['', `targets ${name}: ${runs} run(s), ranked among themselves against their own baselines${chosen}`, ...table(rows, gated)];
  });
  return [`config_hash ${board.config_hash} (${source}; rmse/mae/mse/r2 scaled; ${boards.length} target sets, one board each)`, ...sections, ...notes];
}
