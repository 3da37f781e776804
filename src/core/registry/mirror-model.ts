import type { Settings } from '../config/settings.js';
import { isFltsError, type ErrorCode } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { toRecord, type MlflowRun } from '../tracking/mlflow-types.js';
import { exportRun, ONNX_EXPORT_TYPES, type RunExport } from './export-run.js';
import type { RunRecord } from './run-record.js';
import { MLFLOW_MODEL_ARTIFACT_PATH, MLFLOW_MODEL_TAGS, mlflowModelDirectory } from './mlflow-model.js';
import { readRunRecord } from './run-store.js';

/** What a mirror holds of its run's model for MLflow users: an MLflow model (`onnx`), or `none` and why. */
export type MirroredModel = { kind: 'onnx'; artifactPath: string; files: string[] } | { kind: 'none'; reason: string };

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

/**
 * Writes `plan` into the mirror `run`: an ONNX export as an MLflow model directory at MLFLOW_MODEL_ARTIFACT_PATH (so
 * `mlflow.pyfunc.load_model('runs:/<id>/model')` and the registered versions that point there load it), recorded in
 * the run's `mlflow.log-model.history` as MLflow's own log_model records it, then tagged `onnx`; or the `none` tags.
 * Written again, it uploads the same bytes.
 */
export async function writeMirroredModel(client: MlflowClient, run: MlflowRun, plan: MirroredModelPlan): Promise<MirroredModel> {
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
  await client.logBatch(run.info.run_id, { tags: [{ key: LOGGED_MODELS_TAG, value: loggedModels(run, directory.historyEntry) }, { key: MLFLOW_MODEL_TAGS.model, value: 'onnx' }] });
  return { kind: 'onnx', artifactPath: MLFLOW_MODEL_ARTIFACT_PATH, files };
}
