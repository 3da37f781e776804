import type { Settings } from '../config/settings.js';
import { isFltsError, type ErrorCode } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { toRecord, type MlflowKeyValue, type MlflowLoggedModel, type MlflowMetric, type MlflowRun } from '../tracking/mlflow-types.js';
import { filterLiteral, MIRROR_TAGS } from '../tracking/tracking-deps.js';
import { exportRun, ONNX_EXPORT_TYPES, type RunExport } from './export-run.js';
import type { RunRecord } from './run-record.js';
import { MLFLOW_MODEL_ARTIFACT_PATH, MLFLOW_MODEL_TAGS, mlflowModelDirectory } from './mlflow-model.js';
import { readRunRecord } from './run-store.js';

/**
 * What a mirror holds of its run's model for MLflow users: an MLflow model (`onnx`), with the id of its MLflow 3 logged
 * model when the server has them, or `none` and why.
 */
export type MirroredModel = { kind: 'onnx'; artifactPath: string; files: string[]; modelId?: string } | { kind: 'none'; reason: string };

/**
 * The mirror's tag naming its MLflow 3 logged model, set with its `onnx` tag: a sync looks for ONNX mirrors without it,
 * the ones an flts before logged models wrote, to give them theirs (backfill-logged-models.ts).
 */
export const LOGGED_MODEL_TAG = 'flts.logged_model_id';

/** MLflow's run tag listing the models logged in a run, read by its UI. */
const LOGGED_MODELS_TAG = 'mlflow.log-model.history';

/**
 * Errors that say the run has no exportable network, for good: recorded as `none` with the error. Any other (the
 * store unreachable, its credentials refused) fails the mirror, which the next sync retries.
 */
const NO_EXPORT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['FLTS_EXPORT_UNSUPPORTED', 'FLTS_EXPORT_FAILED', 'FLTS_MODEL_ARTIFACT_MISSING', 'FLTS_RUN_CORRUPT', 'FLTS_STORE_NOT_FOUND']);

/** The model a mirror's tags say it holds, if they say. */
export function mirroredModelOf(run: MlflowRun): MirroredModel | undefined {
  const tags = toRecord(run.data.tags);
  if (tags[MLFLOW_MODEL_TAGS.model] === 'onnx') return { kind: 'onnx', artifactPath: MLFLOW_MODEL_ARTIFACT_PATH, files: [] };
  if (tags[MLFLOW_MODEL_TAGS.model] === 'none') return { kind: 'none', reason: tags[MLFLOW_MODEL_TAGS.reason] ?? '' };
  return undefined;
}

/** The run's `mlflow.log-model.history` with `entry` in place of any earlier entry at the same artifact path. */
function loggedModels(run: MlflowRun, entry: Record<string, unknown>): string {
  let earlier: unknown[] = [];
  try {
    const parsed: unknown = JSON.parse(toRecord(run.data.tags)[LOGGED_MODELS_TAG] ?? '[]');
    if (Array.isArray(parsed)) earlier = parsed;
  } catch {
    // A tag that is not JSON is replaced: MLflow's UI could not read it either.
  }
  const others = earlier.filter((model) => !(model && typeof model === 'object' && (model as Record<string, unknown>).artifact_path === entry.artifact_path));
  return JSON.stringify([...others, entry]);
}

/** What a SUCCESS run's mirror gets: its ONNX export as an MLflow model, or none and why. */
export type MirroredModelPlan = { kind: 'onnx'; record: RunRecord; exported: RunExport } | { kind: 'none'; reason: string };

/**
 * The MLflow model of SUCCESS run `runId`: for an LSTM/GRU run its ONNX export; for a model with no ONNX export (NAIVE,
 * SNAIVE, MSTL, PROPHET) nothing is made up, only the reason.
 */
export async function planMirroredModel(store: ObjectStore, settings: Settings, runId: string): Promise<MirroredModelPlan> {
  const record = await readRunRecord(store, settings, runId);
  if (!ONNX_EXPORT_TYPES.has(record.model_type)) {
    return { kind: 'none', reason: `${record.model_type} models have no ONNX export (LSTM and GRU do), so the run has no MLflow model flavour; flts serves it (flts serve), and its own files are under ${record.model_type}/.` };
  }
  try {
    return { kind: 'onnx', record, exported: await exportRun(store, settings, runId) };
  } catch (error) {
    if (!isFltsError(error) || !NO_EXPORT.has(error.code)) throw error;
    return { kind: 'none', reason: `The run's network did not export to ONNX (${error.code}: ${error.message}), so the run has no MLflow model flavour.` };
  }
}

/** The tags of a mirror whose run has no MLflow model. */
export function noModelTags(reason: string): Record<string, string> {
  return { [MLFLOW_MODEL_TAGS.model]: 'none', [MLFLOW_MODEL_TAGS.reason]: reason.slice(0, 5000) };
}

/** What the logged model of a run is given beside its files: the run's params, and the metric points to link to it. */
export interface LoggedModelExtras {
  readonly params?: readonly MlflowKeyValue[];
  /** Points the run has (or gets in the same sync), logged again with the model's id: MLflow drops the repeat on the run. */
  readonly metrics?: readonly MlflowMetric[];
}

const READY = 'LOGGED_MODEL_READY';

/** The filter of the logged models flts made for flts run `runId` from the mirror `run`. */
const loggedModelFilter = (run: MlflowRun, runId: string): string => `source_run_id = ${filterLiteral(run.info.run_id)} AND tags.\`${MIRROR_TAGS.runId}\` = ${filterLiteral(runId)}`;

/** The one of `models` every writer keeps: the oldest, then the smallest id (the search is oldest first). */
function keeperOf(models: readonly MlflowLoggedModel[]): MlflowLoggedModel | undefined {
  const created = (model: MlflowLoggedModel): number => Number(model.info.creation_timestamp_ms ?? 0) || 0;
  return [...models].sort((a, b) => created(a) - created(b) || a.info.model_id.localeCompare(b.info.model_id))[0];
}

/**
 * The READY logged model flts made from the mirror `run` (`modelId`, absent when there is none yet: a PENDING one, a
 * mirror cut short before its files were all up, is no model yet); undefined when the server has no logged models.
 */
export async function readyLoggedModelOf(client: MlflowClient, run: MlflowRun): Promise<{ modelId?: string } | undefined> {
  const runId = toRecord(run.data.tags)[MIRROR_TAGS.runId];
  if (runId === undefined) return {};
  const found = await client.searchLoggedModels({ experimentIds: [run.info.experiment_id], filter: loggedModelFilter(run, runId) });
  if (found === undefined) return undefined;
  const keeper = keeperOf(found);
  return keeper?.info.status === READY ? { modelId: keeper.info.model_id } : {};
}

/**
 * The MLflow 3 logged model of the ONNX export `plan`, made from the mirror `run`: found by the run and its `flts.run_id`
 * tag before one is created, so a sync written again (or cut short and taken up) keeps one; two writers that create one
 * each settle on the oldest, and the other's is deleted, as mirrors are (mirror-run.ts). Its files (the MLflow model
 * directory, naming the model) go to its own artifact location, then it is READY, listed as an output of the run, and
 * the run's metric points are linked to it. Undefined on a server without logged models (before MLflow 3): the run's
 * `model/` directory is the model there, as before.
 */
export async function writeLoggedModel(client: MlflowClient, run: MlflowRun, plan: Extract<MirroredModelPlan, { kind: 'onnx' }>, extras: LoggedModelExtras = {}): Promise<string | undefined> {
  const experimentIds = [run.info.experiment_id];
  const filter = loggedModelFilter(run, plan.record.run_id);
  const found = await client.searchLoggedModels({ experimentIds, filter });
  if (found === undefined) return undefined;
  let model = keeperOf(found);
  if (!model) {
    const tags = toRecord(run.data.tags);
    const created = await client.createLoggedModel({
      experimentId: run.info.experiment_id,
      name: MLFLOW_MODEL_ARTIFACT_PATH,
      modelType: plan.record.model_type,
      sourceRunId: run.info.run_id,
      params: extras.params ?? run.data.params ?? [],
      tags: Object.entries({
        [MIRROR_TAGS.runId]: plan.record.run_id,
        [MLFLOW_MODEL_TAGS.model]: 'onnx',
        'mlflow.source.name': 'flts',
        'mlflow.source.type': 'LOCAL',
        ...(tags['mlflow.user'] ? { 'mlflow.user': tags['mlflow.user'] } : {}),
      }).map(([key, value]) => ({ key, value })),
    });
    if (!created) return undefined;
    model = keeperOf((await client.searchLoggedModels({ experimentIds, filter })) ?? []) ?? created;
    if (model.info.model_id !== created.info.model_id) await client.deleteLoggedModel(created.info.model_id);
  }
  const modelId = model.info.model_id;
  if (model.info.status !== READY) {
    const artifactUri = model.info.artifact_uri ?? '';
    const directory = mlflowModelDirectory(plan.record, plan.exported, run.info.run_id, { modelId, artifactUri });
    for (const file of directory.files) await client.uploadArtifact(artifactUri, file.path, file.body);
    await client.finalizeLoggedModel(modelId, READY);
  }
  const outputs = run.outputs?.model_outputs ?? [];
  if (!outputs.some((output) => output.model_id === modelId)) {
    try {
      await client.logOutputs(run.info.run_id, [{ modelId, step: 0 }]);
    } catch (error) {
      // MLflow refuses an output the run already has: another writer linked it since the run was read.
      const again = await client.getRun(run.info.run_id);
      if (!again?.outputs?.model_outputs?.some((output) => output.model_id === modelId)) throw error;
    }
  }
  const metrics = (extras.metrics ?? run.data.metrics ?? []).map((point) => ({ ...point, model_id: modelId }));
  if (metrics.length > 0) await client.logBatch(run.info.run_id, { metrics });
  return modelId;
}

/**
 * writeLoggedModel, or undefined when the server refuses it (a permission on the newer endpoints alone, a field its
 * version reads otherwise): the run's own `model/` serves MLflow users as before, and the mirror is not failed for the
 * extra. An unreachable server fails the mirror, which the next sync takes up, finding the model begun.
 */
async function loggedModelOrNone(client: MlflowClient, run: MlflowRun, plan: Extract<MirroredModelPlan, { kind: 'onnx' }>, extras: LoggedModelExtras, logger: Logger): Promise<string | undefined> {
  try {
    return await writeLoggedModel(client, run, plan, extras);
  } catch (error) {
    if (!isFltsError(error) || error.code !== 'FLTS_TRACKING_REJECTED') throw error;
    logger.warn({ mlflow_run_id: run.info.run_id, code: error.code, err: error.message }, 'mlflow_logged_model_refused');
    return undefined;
  }
}

/**
 * Writes `plan` into the mirror `run`: an ONNX export as an MLflow model directory at MLFLOW_MODEL_ARTIFACT_PATH (so
 * `mlflow.pyfunc.load_model('runs:/<id>/model')` and the registered versions that point there load it), recorded in
 * the run's `mlflow.log-model.history` as MLflow's own log_model records it, then, on MLflow 3, as a logged model of
 * its own (writeLoggedModel, `models:/<model_id>`), then tagged `onnx`; or the `none` tags. Written again, it uploads
 * the same bytes and keeps the one logged model.
 */
export async function writeMirroredModel(client: MlflowClient, run: MlflowRun, plan: MirroredModelPlan, extras: LoggedModelExtras = {}, logger: Logger = silentLogger): Promise<MirroredModel> {
  if (plan.kind === 'none') {
    await client.logBatch(run.info.run_id, { tags: Object.entries(noModelTags(plan.reason)).map(([key, value]) => ({ key, value })) });
    return plan;
  }
  const directory = mlflowModelDirectory(plan.record, plan.exported, run.info.run_id);
  const files: string[] = [];
  for (const file of directory.files) {
    const artifactPath = `${MLFLOW_MODEL_ARTIFACT_PATH}/${file.path}`;
    await client.uploadArtifact(run.info.artifact_uri, artifactPath, file.body);
    files.push(artifactPath);
  }
  const modelId = await loggedModelOrNone(client, run, plan, extras, logger);
  const named = modelId ? [{ key: LOGGED_MODEL_TAG, value: modelId }] : [];
  await client.logBatch(run.info.run_id, { tags: [{ key: LOGGED_MODELS_TAG, value: loggedModels(run, directory.historyEntry) }, ...named, { key: MLFLOW_MODEL_TAGS.model, value: 'onnx' }] });
  return { kind: 'onnx', artifactPath: MLFLOW_MODEL_ARTIFACT_PATH, files, ...(modelId ? { modelId } : {}) };
}
