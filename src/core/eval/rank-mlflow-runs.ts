import { redactSecrets } from '../redact.js';
import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { compareScored, referenceScore } from './scoreboard.js';
import { listMlflowRunsByConfigHash, type MlflowRunSummary } from '../tracking/list-mlflow-runs.js';
import type { TrackingDeps } from '../tracking/tracking-deps.js';
import { mirroredLineage } from '../registry/mirror-source.js';
import { currentDataOf, trainedOnLineage } from '../registry/trained-data.js';
import type { ObjectStore } from '../storage/object-store.js';

export interface RankedMlflowRun extends MlflowRunSummary {
  rank: number;
  score: number;
}

/** The local scoreboard's score: 0.5 rmse + 0.3 mae + 0.2 mse, missing = +inf, NaN stays NaN. */
export function mlflowRunScore(run: Pick<MlflowRunSummary, 'testRmse' | 'testMae' | 'testMse'>): number {
  return referenceScore({ rmse: run.testRmse, mae: run.testMae, mse: run.testMse });
}

/** The local scoreboard's order: score ascending, NaN last, ties to the newest run. */
export function rankMlflowRuns(runs: readonly MlflowRunSummary[]): RankedMlflowRun[] {
  const key = (run: MlflowRunSummary & { score: number }) => ({ score: run.score, started_at: new Date(Number.isFinite(run.startTime) ? run.startTime : 0).toISOString(), run_id: run.mlflowRunId });
  return runs
    .map((run) => ({ ...run, score: mlflowRunScore(run), rank: 0 }))
    .sort((a, b) => compareScored(key(a), key(b)))
    .map((run, index) => ({ ...run, rank: index + 1 }));
}

export interface MlflowScoreboard {
  source: 'mlflow';
  uri: string;
  configHash: string;
  rows: RankedMlflowRun[];
  /** Runs with the hash left out because they did not finish (RUNNING, FAILED, KILLED). */
  excluded: Array<{ mlflowRunId: string; modelType: string; status: string }>;
  /** Finished runs of the config_hash left off the board: mirrors of runs trained on rows that new data under its file names replaced (absent when none). */
  runs_of_replaced_rows?: number;
}

/**
 * What `flts eval --source mlflow` shows: the finished MLflow runs of the config_hash, flts-mirrored or logged by a
 * reference trainer, ranked with the reference's score. Mirrors of flts runs still running or failed are listed as
 * excluded rather than ranked. Given the store, mirrors of runs trained on rows the config_hash no longer holds are
 * left out as `flts eval` leaves those runs out (by the data their tags record; a run whose tags record none, such as
 * a reference trainer's, counts), so both boards rank the runs `flts promote --best` chooses among.
 */
export async function rankMlflowRunsByConfigHash(settings: Settings, configHash: string, deps: TrackingDeps & { store?: ObjectStore } = {}): Promise<MlflowScoreboard> {
  const runs = await listMlflowRunsByConfigHash(settings, configHash, deps);
  const sidecar = deps.store ? await currentDataOf(deps.store, settings, configHash) : undefined;
  const finished = runs.filter((run) => run.status === 'FINISHED');
  const current = finished.filter((run) => trainedOnLineage(mirroredLineage(run.configHash, run.tags), sidecar));
  const replaced = finished.length - current.length;
  const uri = redactSecrets(settings.tracking.uri);
  if (current.length === 0) {
    const why =
      replaced > 0
        ? ` on the rows it holds now at ${uri}: its ${replaced} finished run(s) are of rows that new data under the same file names replaced (\`flts train\` trains the new rows)`
        : ` at ${uri} (${runs.length} run(s) in other states)`;
    throw new FltsError('FLTS_EVAL_NO_RUNS', `No finished MLflow runs with params.config_hash = ${configHash}${why}.`, {
      details: { configHash, uri, runs: runs.map((run) => ({ mlflowRunId: run.mlflowRunId, status: run.status })), ...(replaced > 0 ? { runsOfReplacedRows: replaced } : {}) },
    });
  }
  return {
    source: 'mlflow',
    uri,
    configHash,
    rows: rankMlflowRuns(current),
    excluded: runs.filter((run) => run.status !== 'FINISHED').map((run) => ({ mlflowRunId: run.mlflowRunId, modelType: run.modelType, status: run.status })),
    ...(replaced > 0 ? { runs_of_replaced_rows: replaced } : {}),
  };
}
