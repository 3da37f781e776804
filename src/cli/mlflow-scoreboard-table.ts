import type { MlflowScoreboard, RankedMlflowRun } from '../core/eval/rank-mlflow-runs.js';
import { renderTargetSetTables } from './target-set-tables.js';

/** A metric the run did not log scores +Infinity: no figure to show, like one that is not a number. */
const num = (value: number | undefined, digits = 5): string => (value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : '-');

/**
 * The MLflow scoreboard (`flts eval --source mlflow`) as aligned text lines, its target sets drawn as `flts eval`
 * draws its own (renderTargetSetTables): one table per set the runs logged, each ranked among themselves; runs that
 * logged none are one board.
 */
export function renderMlflowScoreboard(board: MlflowScoreboard): string[] {
  const header = ['#', 'model', 'experiment', 'mlflow run', 'flts run', 'rmse', 'mae', 'mse', 'score', 'started'];
  const cells = (r: RankedMlflowRun): string[] => [
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
  ];
  const excluded = board.excluded.length > 0 ? [`not ranked (unfinished): ${board.excluded.map((e) => `${e.modelType} ${e.mlflowRunId} ${e.status}`).join(', ')}`] : [];
  const tables = renderTargetSetTables({
    title: `config_hash ${board.configHash} — MLflow runs at ${board.uri} (test metrics as logged`,
    header: () => header,
    rows: board.rows,
    cells,
    targetsOf: (row) => row.targets,
    sets: board.target_sets,
    configured: board.targets,
  });
  return [...tables, ...excluded];
}
