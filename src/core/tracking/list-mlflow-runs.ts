import type { Settings } from '../config/settings.js';
import { mlflowNumber, toRecord, type MlflowExperiment, type MlflowRun, type MlflowRunStatus } from './mlflow-types.js';
import { filterLiteral, MIRROR_TAGS, trackingClientFor, type TrackingDeps } from './tracking-deps.js';

/** The experiments the reference trainers logged to; searched even when the listing misses them. */
const REFERENCE_EXPERIMENTS = ['Default', 'NonML'];

/** One MLflow run with a config_hash, logged by flts or by a reference trainer, normalised for ranking. */
export interface MlflowRunSummary {
  mlflowRunId: string;
  /** Set when the run mirrors a flts run. */
  fltsRunId?: string;
  experimentId: string;
  experimentName: string;
  runName: string;
  /** params.model_type, else the run name (the reference names runs after the model type). */
  modelType: string;
  configHash: string;
  status: MlflowRunStatus;
  startTime: number;
  endTime?: number;
  /** undefined = not logged (scores +inf); NaN stays NaN (scores NaN), as in the reference eval. */
  testRmse?: number;
  testMae?: number;
  testMse?: number;
  /** `runs:/<run_id>/<model_type>`, what the reference promotion record carries. */
  modelUri: string;
  artifactUri?: string;
  params: Record<string, string>;
  tags: Record<string, string>;
}

function latestMetric(run: MlflowRun, key: string): number | undefined {
  const metric = run.data.metrics?.find((m) => m.key === key);
  return metric === undefined ? undefined : mlflowNumber(metric.value);
}

export function summariseMlflowRun(run: MlflowRun, experimentNames: ReadonlyMap<string, string>): MlflowRunSummary {
  const params = toRecord(run.data.params);
  const tags = toRecord(run.data.tags);
  const runName = run.info.run_name ?? tags['mlflow.runName'] ?? '';
  const modelType = (params.model_type ?? runName).toUpperCase();
  const endTime = run.info.end_time === undefined ? undefined : mlflowNumber(run.info.end_time);
  return {
    mlflowRunId: run.info.run_id,
    fltsRunId: tags[MIRROR_TAGS.runId],
    experimentId: run.info.experiment_id,
    experimentName: experimentNames.get(run.info.experiment_id) ?? '',
    runName,
    modelType,
    configHash: params.config_hash ?? '',
    status: run.info.status,
    startTime: mlflowNumber(run.info.start_time ?? 0),
    endTime,
    testRmse: latestMetric(run, 'test_rmse'),
    testMae: latestMetric(run, 'test_mae'),
    testMse: latestMetric(run, 'test_mse'),
    modelUri: `runs:/${run.info.run_id}/${modelType}`,
    artifactUri: run.info.artifact_uri,
    params,
    tags,
  };
}

/** The experiments searched for runs: every active one, and the reference trainers' even when the listing misses them. */
async function searchedExperiments(client: ReturnType<typeof trackingClientFor>): Promise<Map<string, string>> {
  const experiments: MlflowExperiment[] = await client.searchExperiments();
  for (const name of REFERENCE_EXPERIMENTS) {
    if (experiments.some((e) => e.name === name)) continue;
    const found = await client.getExperimentByName(name);
    if (found && found.lifecycle_stage !== 'deleted') experiments.push(found);
  }
  return new Map(experiments.map((e) => [e.experiment_id, e.name]));
}

/**
 * Every active MLflow run whose `params.config_hash` matches, across all experiments (searching only the
 * default one is how the reference missed Prophet runs, F16), newest first.
 */
export async function listMlflowRunsByConfigHash(settings: Settings, configHash: string, deps: TrackingDeps = {}, options: { maxResults?: number } = {}): Promise<MlflowRunSummary[]> {
  return searchSummaries(settings, deps, `params.config_hash = ${filterLiteral(configHash)}`, options.maxResults);
}

/** The runs of the searched experiments that `filter` selects, newest first, summarised. */
async function searchSummaries(settings: Settings, deps: TrackingDeps, filter: string, maxResults = 1000): Promise<MlflowRunSummary[]> {
  const client = trackingClientFor(settings, deps);
  const names = await searchedExperiments(client);
  if (names.size === 0) return [];
  const runs = await client.searchRuns({ experimentIds: [...names.keys()], filter, orderBy: ['attributes.start_time DESC'], maxResults });
  return runs.map((run) => summariseMlflowRun(run, names));
}

/**
 * The newest finished MLflow runs (at most `maxResults`) of any config_hash but `configHash`, across the same
 * experiments: what a board of `configHash` that has none names instead.
 */
export async function listFinishedMlflowRunsOfOtherConfigHashes(settings: Settings, configHash: string, deps: TrackingDeps = {}, options: { maxResults?: number } = {}): Promise<MlflowRunSummary[]> {
  const runs = await searchSummaries(settings, deps, `params.config_hash != ${filterLiteral(configHash)} AND attributes.status = 'FINISHED'`, options.maxResults);
  return runs.filter((run) => run.status === 'FINISHED' && run.configHash !== '' && run.configHash !== configHash);
}
