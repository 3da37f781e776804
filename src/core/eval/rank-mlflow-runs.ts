import { redactSecrets } from '../redact.js';
import type { Settings } from '../config/settings.js';
import { FltsError, orUnlessUnavailable } from '../errors.js';
import { compareScored, compareTargetSets, referenceScore, sameTargetSet, targetSetOf } from './scoreboard.js';
import { listFinishedMlflowRunsOfOtherConfigHashes, listMlflowRunsByConfigHash, type MlflowRunSummary } from '../tracking/list-mlflow-runs.js';
import { hashesWithRunsSaid, newestConfigHashes, type ConfigHashWithRuns } from './evaluate-runs.js';
import type { TrackingDeps } from '../tracking/tracking-deps.js';
import { mirroredLineage } from '../registry/mirror-source.js';
import { listMirrorMarkers } from '../registry/mirror-markers.js';
import { currentDataOf, trainedOnLineage } from '../registry/trained-data.js';
import type { ObjectStore } from '../storage/object-store.js';

export interface RankedMlflowRun extends MlflowRunSummary {
  /** Place on the board of its target set. */
  rank: number;
  score: number;
  /** Its target set (sorted), from the `targets` param an flts mirror logs; null when the run logged none (a reference trainer's). */
  targets: string[] | null;
}

/** One target set's board; `targets` null for the runs that logged none, ranked together as one board. */
export interface MlflowTargetSetBoard {
  targets: string[] | null;
  runs: number;
}

/** The target set a run logged: flts mirrors log the run's window targets as the `targets` param, comma-separated. */
export function mlflowRunTargets(run: Pick<MlflowRunSummary, 'params'>): string[] | null {
  const names = (run.params.targets ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  return names.length > 0 ? targetSetOf(names) : null;
}

/** The local scoreboard's score: 0.5 rmse + 0.3 mae + 0.2 mse, missing = +inf, NaN stays NaN. */
export function mlflowRunScore(run: Pick<MlflowRunSummary, 'testRmse' | 'testMae' | 'testMse'>): number {
  return referenceScore({ rmse: run.testRmse, mae: run.testMae, mse: run.testMse });
}

/** The local scoreboard's order: score ascending, NaN last, ties to the newest run. */
export function rankMlflowRuns(runs: readonly MlflowRunSummary[]): RankedMlflowRun[] {
  const key = (run: MlflowRunSummary & { score: number }) => ({ score: run.score, started_at: new Date(Number.isFinite(run.startTime) ? run.startTime : 0).toISOString(), run_id: run.mlflowRunId });
  return runs
    .map((run) => ({ ...run, score: mlflowRunScore(run), rank: 0, targets: mlflowRunTargets(run) }))
    .sort((a, b) => compareScored(key(a), key(b)))
    .map((run, index) => ({ ...run, rank: index + 1 }));
}

/**
 * The runs ranked as the local scoreboard ranks them, each target set on its own board (runs forecasting other
 * columns pool other errors): the board of `targets` (the configured ones) first, the others by target names, and the
 * runs that logged no targets last, together, as every run was ranked before mirrors were grouped.
 */
export function rankMlflowRunsByTargetSet(runs: readonly MlflowRunSummary[], targets?: readonly string[]): { rows: RankedMlflowRun[]; target_sets: MlflowTargetSetBoard[] } {
  const groups: { targets: string[] | null; runs: MlflowRunSummary[] }[] = [];
  for (const run of runs) {
    const set = mlflowRunTargets(run);
    const group = groups.find((known) => (known.targets === null || set === null ? known.targets === set : sameTargetSet(known.targets, set)));
    if (group) group.runs.push(run);
    else groups.push({ targets: set, runs: [run] });
  }
  const order = compareTargetSets(targets);
  groups.sort((a, b) => (a.targets === null ? 1 : b.targets === null ? -1 : order(a.targets, b.targets)));
  return { rows: groups.flatMap((group) => rankMlflowRuns(group.runs)), target_sets: groups.map((group) => ({ targets: group.targets, runs: group.runs.length })) };
}

/**
 * `runs` with one mirror per flts run: a run can have two complete mirrors, when an operator restores in MLflow a
 * mirror deleted after the sync wrote another. They are the same run, ranked once: as the mirror the store's marker
 * names (`marked`, flts run id -> MLflow run id) when it is among them, else the first as MLflow listed them.
 */
function oneMirrorPerRun(runs: readonly MlflowRunSummary[], marked: ReadonlyMap<string, string>): MlflowRunSummary[] {
  const kept = new Map<string, MlflowRunSummary>();
  for (const run of runs) {
    if (run.fltsRunId === undefined) continue;
    const other = kept.get(run.fltsRunId);
    if (!other || (marked.get(run.fltsRunId) === run.mlflowRunId && marked.get(run.fltsRunId) !== other.mlflowRunId)) kept.set(run.fltsRunId, run);
  }
  return runs.filter((run) => run.fltsRunId === undefined || kept.get(run.fltsRunId) === run);
}

export interface MlflowScoreboard {
  source: 'mlflow';
  uri: string;
  configHash: string;
  /** Every target set's rows, board after board, each ranked from 1 (see rankMlflowRunsByTargetSet). */
  rows: RankedMlflowRun[];
  /** The configured targets (`training.targets`), whose board comes first. */
  targets?: string[] | null;
  /** One entry per board, in the order of `rows`. */
  target_sets?: MlflowTargetSetBoard[];
  /** Runs with the hash left out because they did not finish (RUNNING, FAILED, KILLED). */
  excluded: Array<{ mlflowRunId: string; modelType: string; status: string }>;
  /** Finished runs of the config_hash left off the board: mirrors of runs trained on rows that new data under its file names replaced (absent when none). */
  runs_of_replaced_rows?: number;
}

/**
 * The config_hashes but `configHash` with finished MLflow runs, newest run first, as `flts eval`'s refusal names those
 * with SUCCESS runs in the registry: MLflow's own, since a reference trainer's runs are in no registry. Counted over
 * the newest thousand such runs, one search, on a refusal only.
 */
async function mlflowHashesWithRuns(settings: Settings, configHash: string, deps: TrackingDeps): Promise<ConfigHashWithRuns[]> {
  // A server that refuses this search (an older MLflow's filter grammar) leaves the refusal as it was, naming none.
  const runs = await listFinishedMlflowRunsOfOtherConfigHashes(settings, configHash, deps).catch(orUnlessUnavailable([]));
  return newestConfigHashes(runs.map((run) => ({ config_hash: run.configHash, started_at: new Date(Number.isFinite(run.startTime) ? run.startTime : 0).toISOString() })));
}

/**
 * What `flts eval --source mlflow` shows: the finished MLflow runs of the config_hash, flts-mirrored or logged by a
 * reference trainer, ranked with the reference's score. Mirrors of flts runs still running or failed are listed as
 * excluded rather than ranked. Given the store, mirrors of runs trained on rows the config_hash no longer holds are
 * left out as `flts eval` leaves those runs out (by the data their tags record; a run whose tags record none, such as
 * a reference trainer's, counts), so both boards rank the runs `flts promote --best` chooses among. Like the local
 * scoreboard, each target set (the `targets` param of a mirror) is ranked on its own board, the configured one first.
 */
export async function rankMlflowRunsByConfigHash(settings: Settings, configHash: string, deps: TrackingDeps & { store?: ObjectStore } = {}): Promise<MlflowScoreboard> {
  const runs = await listMlflowRunsByConfigHash(settings, configHash, deps);
  const sidecar = deps.store ? await currentDataOf(deps.store, settings, configHash) : undefined;
  const marked = deps.store ? new Map((await listMirrorMarkers(deps.store, settings)).map((marker) => [marker.runId, marker.mlflowRunId])) : new Map<string, string>();
  const finished = oneMirrorPerRun(
    runs.filter((run) => run.status === 'FINISHED'),
    marked,
  );
  const current = finished.filter((run) => trainedOnLineage(mirroredLineage(run.configHash, run.tags), sidecar));
  const replaced = finished.length - current.length;
  const uri = redactSecrets(settings.tracking.uri);
  if (current.length === 0) {
    const why =
      replaced > 0
        ? ` on the rows it holds now at ${uri}: its ${replaced} finished run(s) are of rows that new data under the same file names replaced (\`flts train\` trains the new rows)`
        : ` at ${uri} (${runs.length} run(s) in other states)`;
    const others = await mlflowHashesWithRuns(settings, configHash, deps);
    throw new FltsError('FLTS_EVAL_NO_RUNS', `No finished MLflow runs with params.config_hash = ${configHash}${why}${hashesWithRunsSaid(others, 'flts eval --source mlflow --config-hash <hash>', 'finished MLflow runs')}.`, {
      details: { configHash, uri, runs: runs.map((run) => ({ mlflowRunId: run.mlflowRunId, status: run.status })), ...(replaced > 0 ? { runsOfReplacedRows: replaced } : {}), ...(others.length > 0 ? { configHashesWithRuns: others } : {}) },
    });
  }
  return {
    source: 'mlflow',
    uri,
    configHash,
    ...rankMlflowRunsByTargetSet(current, settings.training.targets),
    targets: targetSetOf(settings.training.targets),
    excluded: runs.filter((run) => run.status !== 'FINISHED').map((run) => ({ mlflowRunId: run.mlflowRunId, modelType: run.modelType, status: run.status })),
    ...(replaced > 0 ? { runs_of_replaced_rows: replaced } : {}),
  };
}
