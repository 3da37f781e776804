import type { MlflowScoreboard } from '../core/eval/rank-mlflow-runs.js';

/** A metric the run did not log scores +Infinity: no figure to show, like one that is not a number. */
const num = (value: number | undefined, digits = 5): string => (value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : '-');

/** The MLflow scoreboard (`flts eval --source mlflow`) as aligned text lines. */
export function renderMlflowScoreboard(board: MlflowScoreboard): string[] {
  const header = ['#', 'model', 'experiment', 'mlflow run', 'flts run', 'rmse', 'mae', 'mse', 'score', 'started'];
  const rows = board.rows.map((r) => [
    String(r.rank),
    r.modelType,
    r.experimentName,
    r.mlflowRunId,
    r.fltsRunId ?? '-',
    num(r.testRmse),
    num(r.testMae),
    num(r.testMse),
    num(r.score),
    Number.isFinite(r.startTime) ? new Date(r.startTime).toISOString().slice(0, 19) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  const excluded = board.excluded.length > 0 ? [`not ranked (unfinished): ${board.excluded.map((e) => `${e.modelType} ${e.mlflowRunId} ${e.status}`).join(', ')}`] : [];
  return [`config_hash ${board.configHash} — MLflow runs at ${board.uri} (test metrics as logged)`, line(header), ...rows.map(line), ...excluded];
}
