import { redactSecrets } from '../redact.js';
import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { compareScored, referenceScore } from './scoreboard.js';
import { listMlflowRunsByConfigHash, type MlflowRunSummary } from '../tracking/list-mlflow-runs.js';
import type { TrackingDeps } from '../tracking/tracking-deps.js';

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
}

/**
 * What `flts eval --source mlflow` shows: every finished MLflow run of the config_hash, flts-mirrored or
 * logged by a reference trainer, ranked with the reference's score. Mirrors of flts runs still running
 * or failed are listed as excluded rather than ranked.
 */
export async function rankMlflowRunsByConfigHash(settings: Settings, configHash: string, deps: TrackingDeps = {}): Promise<MlflowScoreboard> {
  const runs = await listMlflowRunsByConfigHash(settings, configHash, deps);
  const finished = runs.filter((run) => run.status === 'FINISHED');
  const uri = redactSecrets(settings.tracking.uri);
  if (finished.length === 0) {
    throw new FltsError('FLTS_EVAL_NO_RUNS', `No finished MLflow runs with params.config_hash = ${configHash} at ${uri} (${runs.length} run(s) in other states).`, {
      details: { configHash, uri, runs: runs.map((run) => ({ mlflowRunId: run.mlflowRunId, status: run.status })) },
    });
  }
  return {
    source: 'mlflow',
    uri,
    configHash,
    rows: rankMlflowRuns(finished),
    excluded: runs.filter((run) => run.status !== 'FINISHED').map((run) => ({ mlflowRunId: run.mlflowRunId, modelType: run.modelType, status: run.status })),
  };
}
