import type { MlflowScoreboard } from '../core/eval/rank-mlflow-runs.js';

/** A metric the run did not log scores +Infinity: no figure to show, like one that is not a number. */
const num = (value: number | undefined, digits = 5): string => (value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : '-');

/**
 * The MLflow scoreboard (`flts eval --source mlflow`) as aligned text lines: one table per target set when the runs
 * logged several (each ranked among themselves), under a line naming the set; runs that logged none are one board.
 */
export function renderMlflowScoreboard(board: MlflowScoreboard): string[] {
  const header = ['#', 'model', 'experiment', 'mlflow run', 'flts run', 'rmse', 'mae', 'mse', 'score', 'started'];
  const cells = (rows: MlflowScoreboard['rows']): string[][] =>
    rows.map((r) => [
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
  const all = cells(board.rows);
  // One width for every table, so the boards of several target sets line up.
  const widths = header.map((h, i) => Math.max(h.length, ...all.map((row) => row[i].length)));
  const line = (row: string[]): string => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  const excluded = board.excluded.length > 0 ? [`not ranked (unfinished): ${board.excluded.map((e) => `${e.modelType} ${e.mlflowRunId} ${e.status}`).join(', ')}`] : [];
  const title = `config_hash ${board.configHash} — MLflow runs at ${board.uri} (test metrics as logged`;
  const sets = board.target_sets ?? [];
  const setName = (targets: string[] | null): string => (targets ? targets.join(',') : 'not logged');
  if (sets.length <= 1) {
    const targets = sets.length === 1 ? `; targets ${setName(sets[0].targets)}` : '';
    return [`${title}${targets})`, line(header), ...all.map(line), ...excluded];
  }
  const configured = board.targets?.join(',');
  let next = 0;
  const sections = sets.flatMap((set) => {
    const rows = all.slice(next, next + set.runs);
    next += set.runs;
    const name = setName(set.targets);
    const chosen = set.targets && name === configured ? '; the configured targets' : '';
    const what = set.targets ? `targets ${name}: ${set.runs} run(s), ranked among themselves${chosen}` : `targets not logged (reference trainers' runs): ${set.runs} run(s), ranked among themselves`;
    return ['', what, line(header), ...rows.map(line)];
  });
  return [`${title}; ${sets.length} target sets, one board each)`, ...sections, ...excluded];
}
