import * as tf from '@tensorflow/tfjs';
import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import type { ForecastModel, WindowSpec } from '../models/forecast-model.js';
import { withTargetForm } from '../forecast/change-target.js';
import { createMstlModel, type MstlArtifact } from '../models/mstl-model.js';
import { createNaiveModel } from '../models/naive-model.js';
import { createSeasonalNaiveModel, type SeasonalNaiveArtifact } from '../models/seasonal-naive-model.js';
import { loadProphetModel, type ProphetArtifact } from '../models/prophet-model.js';
import { createInlineServingModel, type ServeEngineChoice, type ServingForwardOptions } from '../models/inference-thread/serving-forward.js';
import { createThreadedRecurrentModel } from '../models/inference-thread/threaded-recurrent-model.js';
import { createRecurrentInferenceModel } from '../models/recurrent-inference.js';
import { extractRecurrentWeights } from '../models/recurrent-weights.js';
import { selectBackend } from '../tf/backend.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { RUN_FILES, type RunRecord } from './run-record.js';
import { runKey, runsBucket } from './run-store.js';
import { objectStoreIOHandler } from './store-io-handler.js';

/** Object keys (relative to the run) of each model type's saved form. */
export const MODEL_ARTIFACT_FILES = {
  LSTM: `${RUN_FILES.modelDir}/model.json`,
  GRU: `${RUN_FILES.modelDir}/model.json`,
  PROPHET: `${RUN_FILES.modelDir}/prophet.json`,
  NAIVE: `${RUN_FILES.modelDir}/naive.json`,
  SNAIVE: `${RUN_FILES.modelDir}/seasonal-naive.json`,
  MSTL: `${RUN_FILES.modelDir}/mstl.json`,
} as const;

export interface NaiveArtifact {
  format: 'flts-naive-v1';
  window: WindowSpec;
}

export async function saveNetwork(store: ObjectStore, settings: Settings, runId: string, network: tf.LayersModel): Promise<void> {
  await network.save(objectStoreIOHandler(store, runsBucket(settings), runKey(runId, RUN_FILES.modelDir)));
}

export async function saveModelJson(store: ObjectStore, settings: Settings, runId: string, file: string, artifact: ProphetArtifact | NaiveArtifact | SeasonalNaiveArtifact | MstlArtifact): Promise<void> {
  await putJson(store, runsBucket(settings), runKey(runId, file), artifact);
}

function missing(record: RunRecord, key: string): FltsError {
  return new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `Run ${record.run_id} (${record.model_type}) has no model at ${key}.`, { details: { runId: record.run_id, key } });
}

export interface LoadRunModelOptions {
  /** LSTM/GRU forward passes on a worker thread of their own (serving), instead of the calling thread. */
  inferenceThread?: boolean;
  /** The LSTM/GRU forward pass's engine (default wasm: flts's own loop on the tfjs backend). */
  engine?: ServeEngineChoice;
  engineOptions?: ServingForwardOptions;
}

/** The fitted tfjs network of an LSTM/GRU run, read from its artifacts on the configured backend. */
export async function loadRunNetwork(store: ObjectStore, settings: Settings, record: RunRecord): Promise<tf.LayersModel> {
  const bucket = runsBucket(settings);
  await selectBackend(settings.training.backend);
  const key = runKey(record.run_id, MODEL_ARTIFACT_FILES[record.model_type]);
  if (!(await store.exists(bucket, key))) throw missing(record, key);
  return tf.loadLayersModel(objectStoreIOHandler(store, bucket, runKey(record.run_id, RUN_FILES.modelDir)));
}

/** Rebuilds the fitted model of a run from its artifacts only. */
export async function loadRunModel(store: ObjectStore, settings: Settings, record: RunRecord, options: LoadRunModelOptions = {}): Promise<ForecastModel> {
  const bucket = runsBucket(settings);
  const window: WindowSpec = record.window;
  switch (record.model_type) {
    case 'LSTM':
    case 'GRU': {
      const network = await loadRunNetwork(store, settings, record);
      const engine = options.engine ?? 'wasm';
      const weights = options.inferenceThread || engine !== 'wasm' ? extractRecurrentWeights(network) : undefined;
      if (!weights) return withTargetForm(createRecurrentInferenceModel(record.model_type, window, network));
      network.dispose();
      if (!options.inferenceThread) return withTargetForm(await createInlineServingModel(record.model_type, window, weights, engine, options.engineOptions));
      return withTargetForm(await createThreadedRecurrentModel(record.model_type, window, weights, settings.training.backend, { engine, engineOptions: options.engineOptions }));
    }
    case 'PROPHET': {
      const key = runKey(record.run_id, MODEL_ARTIFACT_FILES.PROPHET);
      const artifact = await getJsonIfExists<ProphetArtifact>(store, bucket, key);
      if (!artifact) throw missing(record, key);
      return loadProphetModel(artifact, window);
    }
    case 'NAIVE': {
      const key = runKey(record.run_id, MODEL_ARTIFACT_FILES.NAIVE);
      const artifact = await getJsonIfExists<NaiveArtifact>(store, bucket, key);
      if (!artifact) throw missing(record, key);
      return createNaiveModel(artifact.window);
    }
    case 'SNAIVE': {
      const key = runKey(record.run_id, MODEL_ARTIFACT_FILES.SNAIVE);
      const artifact = await getJsonIfExists<SeasonalNaiveArtifact>(store, bucket, key);
      if (!artifact) throw missing(record, key);
      return createSeasonalNaiveModel(artifact.window);
    }
    case 'MSTL': {
      const key = runKey(record.run_id, MODEL_ARTIFACT_FILES.MSTL);
      const artifact = await getJsonIfExists<MstlArtifact>(store, bucket, key);
      if (!artifact) throw missing(record, key);
      return createMstlModel(artifact);
    }
    default:
      throw new FltsError('FLTS_MODEL_UNKNOWN_TYPE', `Run ${record.run_id} has unknown model type ${JSON.stringify(record.model_type)}.`);
  }
}
