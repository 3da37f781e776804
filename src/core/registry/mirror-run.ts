import type { Settings } from '../config/settings.js';
import type { TrackingSettings } from '../config/specs/tracking.js';
import { isFltsError, type FltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { encodeMetricValue, toRecord, type MlflowExperiment, type MlflowKeyValue, type MlflowMetric, type MlflowRun, type MlflowRunStatus } from '../tracking/mlflow-types.js';
import { loadMirrorSource, type MirrorSource } from './mirror-source.js';
import { writeMirrorMarker } from './mirror-markers.js';
import { noModelTags, planMirroredModel, writeMirroredModel, type MirroredModel } from './mirror-model.js';
import { filterLiteral, MIRROR_TAGS, trackingClientFor, type TrackingDeps } from '../tracking/tracking-deps.js';

/** MLflow keeps at most this many characters of a param value. */
const MAX_PARAM_LENGTH = 6000;
const NEURAL_TYPES = new Set(['LSTM', 'GRU']);

export interface MirrorRunResult {
  runId: string;
  mlflowRunId: string;
  experimentId: string;
  /** A new MLflow run was created (false: an existing mirror was found and completed or left as it was). */
  created: boolean;
  /** The existing mirror was already complete, so nothing was sent. */
  upToDate: boolean;
  artifacts: string[];
  /** The MLflow model logged for a SUCCESS run written now (mirror-model.ts); absent when nothing was written. */
  model?: MirroredModel;
}

/** Experiments follow the reference trainers: neural networks in one, statistical models in another. */
export function experimentNameFor(modelType: string, tracking: TrackingSettings): string {
  return NEURAL_TYPES.has(modelType.toUpperCase()) ? tracking.experiments.neural : tracking.experiments.statistical;
}

/**
 * Active MLflow runs tagged as the mirror of `runId`, across experiments (the setting may have changed),
 * the one to keep first: a complete mirror before incomplete ones, then the smallest run id. Every writer
 * applies the same order, so concurrent mirrors of one run (say the daemon and a CLI sync) settle on one.
 * `listed`: the active experiments, listed by the caller; listed now when omitted.
 */
async function mirrorsOf(client: MlflowClient, runId: string, listed?: readonly MlflowExperiment[]): Promise<{ runs: MlflowRun[]; experiments: readonly MlflowExperiment[] }> {
  const experiments = listed ?? (await client.searchExperiments());
  if (experiments.length === 0) return { runs: [], experiments };
  const runs = await client.searchRuns({ experimentIds: experiments.map((e) => e.experiment_id), filter: `tags.\`${MIRROR_TAGS.runId}\` = ${filterLiteral(runId)}`, maxResults: 50 });
  const complete = (run: MlflowRun): number => (toRecord(run.data.tags)[MIRROR_TAGS.complete] === 'true' ? 0 : 1);
  return { runs: runs.sort((a, b) => complete(a) - complete(b) || a.info.run_id.localeCompare(b.info.run_id)), experiments };
}

/** The MLflow run mirroring flts run `runId`, if any. */
export async function findMirroredRun(client: MlflowClient, runId: string): Promise<MlflowRun | undefined> {
  return (await mirrorsOf(client, runId)).runs[0];
}

/**
 * Deletes `mine` when another mirror of the same run is the one to keep, and returns the keeper. The experiments are
 * listed again rather than taken from the lookup's listing: a concurrent writer whose settings name another experiment
 * may have created it, and its mirror there, since then, and of two writers the one that checks last must see both
 * mirrors for them to settle on one.
 */
async function settleDuplicates(client: MlflowClient, runId: string, mine: MlflowRun): Promise<MlflowRun> {
  const keeper = (await mirrorsOf(client, runId)).runs[0];
  if (!keeper || keeper.info.run_id === mine.info.run_id) return mine;
  await client.deleteRun(mine.info.run_id);
  return keeper;
}

/**
 * A new MLflow run for `source`, in its experiment: taken from `experiments` (the active ones, just listed) when there,
 * else looked up or created. Concurrent writers that each create one are settled once the mirror is written, before
 * either is marked complete (see mirrorRun).
 */
async function createMirror(client: MlflowClient, source: MirrorSource, settings: Settings, experiments: readonly MlflowExperiment[], tags: Record<string, string>, deleted?: Map<string, FltsError>): Promise<MlflowRun> {
  const name = experimentNameFor(source.modelType, settings.tracking);
  const refused = deleted?.get(name);
  if (refused) throw refused;
  const experiment =
    experiments.find((candidate) => candidate.name === name && candidate.lifecycle_stage !== 'deleted') ??
    (await client.getOrCreateExperiment(name).catch((error: unknown) => {
      if (isFltsError(error) && error.details.reason === 'experiment_deleted') deleted?.set(name, error);
      throw error;
    }));
  // Only on the run's creation: a sync that completes a mirror another process began keeps that one's user. Who
  // trained the run, as its record says, rather than who syncs it; a run recorded before the record kept it falls
  // back to this process's user.
  const trainedBy = source.user ?? settings.tracking.user;
  const user: Record<string, string> = trainedBy ? { 'mlflow.user': trainedBy } : {};
  return client.createRun({ experimentId: experiment.experiment_id, runName: source.modelType, startTime: source.startTime, tags: pairs({ ...tags, ...user }) });
}

function mlflowStatus(status: MirrorSource['status']): MlflowRunStatus {
  if (status === 'SUCCESS') return 'FINISHED';
  if (status === 'FAILED' || status === 'KILLED') return status;
  return 'RUNNING';
}

const sanitiseKey = (key: string): string => key.replace(/[^\w\-. /]/g, '_');
const pairs = (record: Record<string, string>): MlflowKeyValue[] => Object.entries(record).map(([key, value]) => ({ key: sanitiseKey(key), value: value.slice(0, MAX_PARAM_LENGTH) }));

/** The run's final metrics, at the last epoch's step, at the run's end: fixed values, so re-sending them is a no-op. */
function finalMetricPoints(source: MirrorSource): MlflowMetric[] {
  const finalStep = source.history.at(-1)?.step ?? 0;
  const finalTime = source.endTime ?? source.startTime;
  return Object.entries(source.metrics).map(([key, value]) => ({ key: sanitiseKey(key), value: encodeMetricValue(value), timestamp: finalTime, step: finalStep }));
}

function metricPoints(source: MirrorSource): MlflowMetric[] {
  const points: MlflowMetric[] = [];
  for (const row of source.history) {
    for (const [key, value] of Object.entries(row.values)) points.push({ key, value: encodeMetricValue(value), timestamp: row.timestamp, step: row.step });
  }
  for (const point of finalMetricPoints(source)) points.push(point);
  return points;
}

/**
 * Logs the params the run does not have yet (MLflow forbids changing a param), in the same batch as `rest` (tags and
 * metric points, which repeat harmlessly). A concurrent writer may insert the same params between our read and our
 * write, which MLflow refuses; one re-read settles it.
 */
async function logMissingParams(client: MlflowClient, run: MlflowRun, params: MlflowKeyValue[], rest: { tags: MlflowKeyValue[]; metrics: MlflowMetric[] }, logger: Logger): Promise<void> {
  const missing = (logged: Record<string, string>): MlflowKeyValue[] =>
    params.filter((param) => {
      if (logged[param.key] === undefined) return true;
      if (logged[param.key] !== param.value) logger.warn({ param: param.key, logged: logged[param.key], now: param.value }, 'mlflow_param_differs');
      return false;
    });
  const first = missing(toRecord(run.data.params));
  try {
    await client.logBatch(run.info.run_id, { params: first, ...rest });
  } catch (error) {
    if (first.length === 0 || !isFltsError(error) || error.code !== 'FLTS_TRACKING_REJECTED') throw error;
    const again = missing(toRecord((await client.getRun(run.info.run_id))?.data.params));
    await client.logBatch(run.info.run_id, { params: again, ...rest });
  }
}

/**
 * Records in the store that `run` is the complete mirror of `runId`, once MLflow says so. A store that refuses the
 * write costs the next sync one question to MLflow about this run, which is no reason to report the mirror failed.
 */
async function markMirrored(store: ObjectStore, settings: Settings, runId: string, run: MlflowRun, logger: Logger): Promise<void> {
  try {
    await writeMirrorMarker(store, settings, runId, run.info.experiment_id, run.info.run_id);
  } catch (error) {
    logger.warn({ mlflow_run_id: run.info.run_id, err: error instanceof Error ? error.message : String(error) }, 'mlflow_mirror_complete_marker_failed');
  }
}

/** What a caller mirroring many runs already knows of MLflow. */
export interface MirrorRunKnown {
  /**
   * The active experiments, listed by the caller since it started: the lookup of an existing mirror searches them
   * (a mirror older than that listing is in one of them; a newer one is a concurrent writer's, which the last check
   * for duplicates finds). Listed by the lookup when omitted.
   */
  readonly experiments?: readonly MlflowExperiment[];
  /**
   * The experiments an operator deleted that the caller's mirrors found so far, by name with MLflow's refusal: a run of
   * one is refused at once rather than by one more question to MLflow per run. Filled by the mirrors that find one.
   */
  readonly deletedExperiments?: Map<string, FltsError>;
}

/**
 * Creates or completes the MLflow run that mirrors flts run `runId`, idempotently: an existing mirror is
 * found by its `flts.run_id` tag, params it already has are not re-sent (MLflow forbids changing them),
 * metric points carry fixed timestamps so MLflow drops repeats, and `flts.mirror_complete` is set last, so
 * an interrupted mirror is finished by the next call instead of duplicated. A complete mirror is then marked in the
 * store (mirror-markers.ts), which spares later syncs the question.
 */
export async function mirrorRun(store: ObjectStore, settings: Settings, runId: string, deps: TrackingDeps = {}, known: MirrorRunKnown = {}): Promise<MirrorRunResult> {
  const logger = (deps.logger ?? silentLogger).child({ component: 'tracking', run_id: runId });
  const source = await loadMirrorSource(store, settings, runId);
  const client = trackingClientFor(settings, deps);
  const status = mlflowStatus(source.status);
  const { runs: mirrors, experiments } = await mirrorsOf(client, runId, known.experiments);
  const existing = mirrors[0];
  const existingTags = toRecord(existing?.data.tags);
  if (existing && existingTags[MIRROR_TAGS.complete] === 'true' && existing.info.status === status) {
    await markMirrored(store, settings, runId, existing, logger);
    return { runId, mlflowRunId: existing.info.run_id, experimentId: existing.info.experiment_id, created: false, upToDate: true, artifacts: [] };
  }

  // A run without an MLflow model says so in the first batch of tags; an ONNX export is written once the run's files are.
  const plan = source.status === 'SUCCESS' ? await planMirroredModel(store, settings, runId) : undefined;
  const tags = { ...source.tags, [MIRROR_TAGS.status]: source.status, 'mlflow.source.name': 'flts', 'mlflow.source.type': 'LOCAL', ...(plan?.kind === 'none' ? noModelTags(plan.reason) : {}) };
  const run = existing ?? (await createMirror(client, source, settings, experiments, tags, known.deletedExperiments));
  const mlflowRunId = run.info.run_id;

  await logMissingParams(client, run, pairs(source.params), { tags: pairs(tags), metrics: metricPoints(source) }, logger);

  const uploaded: string[] = [];
  for (const artifact of source.artifacts) {
    await client.uploadArtifact(run.info.artifact_uri, artifact.artifactPath, await store.get(settings.store.buckets.runs, artifact.key));
    uploaded.push(artifact.artifactPath);
  }
  // Before the mirror is marked complete, so that an interrupted one logs its model on the next call.
  // The logged model gets the run's params and its final metrics, as MLflow's log_model links a run's metrics of its step.
  const model = plan?.kind === 'onnx' ? await writeMirroredModel(client, run, plan, { params: pairs(source.params), metrics: finalMetricPoints(source) }, logger) : plan;
  if (model?.kind === 'onnx') uploaded.push(...model.files);

  // A concurrent writer may have created another mirror meanwhile: only the keeper is marked complete.
  const kept = await settleDuplicates(client, runId, run);
  if (kept.info.run_id !== mlflowRunId) {
    // The logged model made from the mirror just deleted would be listed beside the keeper's: it goes with its run.
    if (model?.kind === 'onnx' && model.modelId) await client.deleteLoggedModel(model.modelId);
    // A keeper already complete (another writer's, or a mirror an operator restored in MLflow) is marked as found.
    if (toRecord(kept.data.tags)[MIRROR_TAGS.complete] === 'true' && kept.info.status === status) await markMirrored(store, settings, runId, kept, logger);
    return { runId, mlflowRunId: kept.info.run_id, experimentId: kept.info.experiment_id, created: false, upToDate: false, artifacts: uploaded };
  }
  if (status !== 'RUNNING') {
    await client.updateRun(mlflowRunId, { status, endTime: source.endTime ?? source.startTime });
    await client.setTag(mlflowRunId, MIRROR_TAGS.complete, 'true');
    await markMirrored(store, settings, runId, run, logger);
  }
  logger.info({ mlflow_run_id: mlflowRunId, created: !existing, artifacts: uploaded.length }, 'mlflow_run_mirrored');
  deps.onEvent?.({ type: 'tracking.mirrored', runId, mlflowRunId, created: !existing });
  return { runId, mlflowRunId, experimentId: run.info.experiment_id, created: !existing, upToDate: false, artifacts: uploaded, ...(model ? { model } : {}) };
}
