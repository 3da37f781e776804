import type * as tf from '@tensorflow/tfjs';
import type { Settings } from '../config/settings.js';
import { TRAINING_SPECS } from '../config/specs/training.js';
import { FltsError } from '../errors.js';
import type { ForecastModel, WindowSpec } from '../models/forecast-model.js';
import { withTargetForm } from '../forecast/target-form.js';
import { withTargetFloors } from '../models/target-floors.js';
import type { MstlArtifact } from '../models/mstl-model.js';
import { mstlArtifactProblem } from '../models/mstl-window.js';
import { createNaiveModel } from '../models/naive-model.js';
import { createSeasonalNaiveModel, type SeasonalNaiveArtifact } from '../models/seasonal-naive-model.js';
import { prophetArtifactProblem } from '../models/prophet-artifact.js';
import type { ProphetArtifact } from '../models/prophet-model.js';
import { createInlineServingModel, type LoadRunModelOptions } from '../models/inference-thread/serving-forward.js';
import { createThreadedRecurrentModel } from '../models/inference-thread/threaded-recurrent-model.js';
import { recurrentWeightsFromSaved, weightsManifestProblem, type RecurrentNetworkWeights, type SavedLayersModel } from '../models/recurrent-weights.js';
import { putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { artifactFormatProblem } from './artifact-format.js';
import { RUN_FILES, type RunRecord } from './run-record.js';
import { corruptRun, findRunJson, runJsonError, runKey, runsBucket } from './run-store.js';

/** training.inputSeqLen's maximum: the longest window a run of a configured window (Prophet's) is trained with. */
const MAX_INPUT_SEQ_LEN = TRAINING_SPECS.find((spec) => spec.path === 'training.inputSeqLen')?.max ?? 10_000;

/** Object keys (relative to the run) of each model type's saved form. */
export const MODEL_ARTIFACT_FILES = {
  LSTM: `${RUN_FILES.modelDir}/model.json`,
  GRU: `${RUN_FILES.modelDir}/model.json`,
  PROPHET: `${RUN_FILES.modelDir}/prophet.json`,
  NAIVE: `${RUN_FILES.modelDir}/naive.json`,
  SNAIVE: `${RUN_FILES.modelDir}/seasonal-naive.json`,
  MSTL: `${RUN_FILES.modelDir}/mstl.json`,
} as const;

/**
 * The `format` each model type's saved form carries: tfjs's layers format for networks (also what Keras models
 * converted with tensorflowjs write), flts's own for the others. A file without one is read as before (runs saved by
 * other writers); one naming another format is not this model's, and reading it as one would forecast garbage.
 */
export const MODEL_ARTIFACT_FORMATS = {
  LSTM: 'layers-model',
  GRU: 'layers-model',
  PROPHET: 'flts-prophet-v1',
  NAIVE: 'flts-naive-v1',
  SNAIVE: 'flts-seasonal-naive-v1',
  MSTL: 'flts-mstl-v1',
} as const satisfies Record<keyof typeof MODEL_ARTIFACT_FILES, string>;

export interface NaiveArtifact {
  format: 'flts-naive-v1';
  window: WindowSpec;
}

export async function saveNetwork(store: ObjectStore, settings: Settings, runId: string, network: tf.LayersModel): Promise<void> {
  const { objectStoreIOHandler } = await import('./store-io-handler.js');
  await network.save(objectStoreIOHandler(store, runsBucket(settings), runKey(runId, RUN_FILES.modelDir)));
}

export async function saveModelJson(store: ObjectStore, settings: Settings, runId: string, file: string, artifact: ProphetArtifact | NaiveArtifact | SeasonalNaiveArtifact | MstlArtifact): Promise<void> {
  await putJson(store, runsBucket(settings), runKey(runId, file), artifact);
}

function missing(record: RunRecord, key: string): FltsError {
  return new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `Run ${record.run_id} (${record.model_type}) has no model at ${key}.`, { details: { runId: record.run_id, key } });
}

const isJsonObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

const sameNames = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((name, i) => name === b[i]);

/**
 * The window a baseline's artifact saved, which is all the model is. It must have the shape of the run's own
 * (checked) window, which serving builds the inputs from: an artifact that disagrees was edited or belongs to
 * another run, and its numbers would otherwise size the forecasts.
 */
function savedWindow(record: RunRecord, key: string, artifact: { window?: unknown }): WindowSpec {
  if (artifact === null || typeof artifact !== 'object' || Array.isArray(artifact)) throw corruptRun(record.run_id, key, 'is not a JSON object');
  const window = artifact.window as Partial<WindowSpec> | undefined;
  if (!window || typeof window !== 'object' || !Array.isArray(window.features) || !Array.isArray(window.targets)) {
    throw corruptRun(record.run_id, key, 'has no window');
  }
  const expected = record.window;
  if (window.inputSeqLen !== expected.inputSeqLen || window.outputSeqLen !== expected.outputSeqLen || !sameNames(window.features, expected.features) || !sameNames(window.targets, expected.targets)) {
    throw corruptRun(record.run_id, key, "has a window that is not its run's");
  }
  return window as WindowSpec;
}

/** A model rebuilt from a JSON artifact; an artifact that does not rebuild was cut short or edited, which is no bug of flts. */
async function buildFromArtifact<T>(record: RunRecord, key: string, build: () => T | Promise<T>): Promise<T> {
  try {
    return await build();
  } catch (error) {
    if (error instanceof FltsError) throw error;
    throw corruptRun(record.run_id, key, `does not rebuild the model (${error instanceof Error ? error.message : String(error)})`, error);
  }
}

export type { LoadRunModelOptions } from '../models/inference-thread/serving-forward.js';

/**
 * Where a network does not read and write its run's window, or undefined: serving sizes the inputs from the
 * record and the outputs from the network, so a record or a model.json edited apart would misread either.
 */
function networkWindowProblem(window: WindowSpec, inputs: { steps?: number | null; features: number | null | undefined }, outputs: number | null | undefined): string | undefined {
  const expected = window.outputSeqLen * window.targets.length;
  if ((inputs.steps != null && inputs.steps !== window.inputSeqLen) || inputs.features !== window.features.length || outputs !== expected) {
    return `reads ${inputs.steps ?? '?'} x ${inputs.features} values and writes ${outputs} where its run's window reads ${window.inputSeqLen} x ${window.features.length} and writes ${expected}`;
  }
  return undefined;
}

/**
 * The fitted tfjs network of an LSTM/GRU run, read from its artifacts on the configured backend. tfjs is
 * loaded here, on first use, and not by importing this module: serving on ONNX Runtime never needs it.
 */
export async function loadRunNetwork(store: ObjectStore, settings: Settings, record: RunRecord): Promise<tf.LayersModel> {
  const bucket = runsBucket(settings);
  const [tfjs, { selectBackend }, { objectStoreIOHandler }] = await Promise.all([import('@tensorflow/tfjs'), import('../tf/backend.js'), import('./store-io-handler.js')]);
  await selectBackend(settings.training.backend);
  const key = runKey(record.run_id, MODEL_ARTIFACT_FILES[record.model_type]);
  if (!(await store.exists(bucket, key))) throw missing(record, key);
  let network: tf.LayersModel;
  try {
    network = await tfjs.loadLayersModel(objectStoreIOHandler(store, bucket, runKey(record.run_id, RUN_FILES.modelDir)));
  } catch (error) {
    if (error instanceof FltsError) throw runJsonError(record.run_id, `${bucket}/${key}`, error);
    // tfjs refuses a topology or weights that do not fit each other: the files were cut short or edited.
    throw corruptRun(record.run_id, `${bucket}/${key}`, `does not load with its weights (${error instanceof Error ? error.message : String(error)})`, error);
  }
  const [input, output] = [network.inputs[0]?.shape, network.outputs[0]?.shape];
  const problem = networkWindowProblem(record.window, { steps: input?.[1], features: input?.[2] }, output?.length === 2 ? output[1] : undefined);
  if (problem) {
    network.dispose();
    throw corruptRun(record.run_id, `${bucket}/${key}`, problem);
  }
  return network;
}

/**
 * An LSTM/GRU run's weights read straight from its saved model.json and weights, without tfjs; undefined
 * when the network is not stacked float32 LSTM/GRU layers and one Dense layer (it then loads through tfjs).
 */
export async function readRunNetworkWeights(store: ObjectStore, settings: Settings, record: RunRecord): Promise<RecurrentNetworkWeights | undefined> {
  const bucket = runsBucket(settings);
  const modelKey = runKey(record.run_id, MODEL_ARTIFACT_FILES[record.model_type]);
  const saved = await findRunJson<SavedLayersModel>(store, settings, record.run_id, MODEL_ARTIFACT_FILES[record.model_type]);
  if (!saved) throw missing(record, modelKey);
  const manifestProblem = artifactFormatProblem(saved, MODEL_ARTIFACT_FORMATS[record.model_type]) ?? weightsManifestProblem((saved as Partial<SavedLayersModel> | null)?.weightsManifest);
  if (manifestProblem) throw corruptRun(record.run_id, `${bucket}/${modelKey}`, manifestProblem);
  const paths = (saved.weightsManifest ?? []).flatMap((group) => group.paths);
  if (paths.length !== 1 || typeof paths[0] !== 'string') return undefined;
  const weightsKey = runKey(record.run_id, `${RUN_FILES.modelDir}/${paths[0].replace(/^\.\//, '')}`);
  if (!(await store.exists(bucket, weightsKey))) {
    throw new FltsError('FLTS_MODEL_ARTIFACT_MISSING', `Model weights ${bucket}/${weightsKey} are missing.`, { details: { bucket, key: weightsKey } });
  }
  const bytes = await store.get(bucket, weightsKey);
  const expected = float32WeightBytes(saved);
  if (expected !== undefined && bytes.byteLength < expected) {
    throw corruptRun(record.run_id, `${bucket}/${weightsKey}`, `has ${bytes.byteLength} bytes where model.json lists ${expected}`);
  }
  const weights = recurrentWeightsFromSaved(saved, bytes);
  const problem = weights && networkWindowProblem(record.window, { steps: savedInputSteps(saved), features: weights.layers[0]?.inputs }, weights.outputs);
  if (problem) throw corruptRun(record.run_id, `${bucket}/${modelKey}`, problem);
  return weights;
}

/** The time steps a saved Sequential network's first layer reads (its batch_input_shape), where the topology says. */
function savedInputSteps(saved: SavedLayersModel): number | undefined {
  const layers = (saved.modelTopology as { config?: { layers?: Array<{ config?: { batch_input_shape?: unknown } }> } } | undefined)?.config?.layers;
  const shape = Array.isArray(layers) ? layers[0]?.config?.batch_input_shape : undefined;
  return Array.isArray(shape) && typeof shape[1] === 'number' ? shape[1] : undefined;
}

/** The size of the weights file a manifest of float32 weights describes; undefined for any other kind of weights. */
function float32WeightBytes(saved: SavedLayersModel): number | undefined {
  let total = 0;
  for (const spec of (saved.weightsManifest ?? []).flatMap((group) => group.weights)) {
    if ((spec?.dtype ?? 'float32') !== 'float32' || spec.quantization || !Array.isArray(spec.shape)) return undefined;
    total += 4 * spec.shape.reduce((product, size) => product * size, 1);
  }
  return total;
}

async function selectRunBackend(settings: Settings): Promise<void> {
  const { selectBackend } = await import('../tf/backend.js');
  await selectBackend(settings.training.backend);
}

/** Rebuilds the fitted model of a run from its artifacts only, its forecasts raised to the floors its window carries. */
export async function loadRunModel(store: ObjectStore, settings: Settings, record: RunRecord, options: LoadRunModelOptions = {}): Promise<ForecastModel> {
  return withTargetFloors(await loadFittedModel(store, settings, record, options));
}

/**
 * The JSON artifact of a run whose model is one file (`key`: bucket and key, for messages): FLTS_MODEL_ARTIFACT_MISSING
 * without it, FLTS_RUN_CORRUPT when it is not JSON or names another format.
 */
async function readModelArtifact<T>(store: ObjectStore, settings: Settings, record: RunRecord, type: 'PROPHET' | 'NAIVE' | 'SNAIVE' | 'MSTL'): Promise<{ key: string; artifact: T }> {
  const objectKey = runKey(record.run_id, MODEL_ARTIFACT_FILES[type]);
  const artifact = await findRunJson<T>(store, settings, record.run_id, MODEL_ARTIFACT_FILES[type]);
  if (artifact === undefined) throw missing(record, objectKey);
  const key = `${runsBucket(settings)}/${objectKey}`;
  const formatProblem = artifactFormatProblem(artifact, MODEL_ARTIFACT_FORMATS[type]);
  if (formatProblem) throw corruptRun(record.run_id, key, formatProblem);
  return { key, artifact };
}

async function loadFittedModel(store: ObjectStore, settings: Settings, record: RunRecord, options: LoadRunModelOptions): Promise<ForecastModel> {
  const window: WindowSpec = record.window;
  switch (record.model_type) {
    case 'LSTM':
    case 'GRU': {
      const engine = options.engine ?? 'wasm';
      // Serving forms take the weights from the saved files alone; tfjs is loaded only for the wasm loop.
      const weights = options.inferenceThread || engine !== 'wasm' ? await readRunNetworkWeights(store, settings, record) : undefined;
      if (weights && options.inferenceThread) {
        return withTargetForm(await createThreadedRecurrentModel(record.model_type, window, weights, settings.training.backend, { engine, engineOptions: options.engineOptions }));
      }
      if (weights) return withTargetForm(await createInlineServingModel(record.model_type, window, weights, engine, options.engineOptions, () => selectRunBackend(settings)));
      const network = await loadRunNetwork(store, settings, record);
      const { createRecurrentInferenceModel } = await import('../models/recurrent-inference.js');
      return withTargetForm(createRecurrentInferenceModel(record.model_type, window, network));
    }
    case 'PROPHET': {
      // Prophet's artifact holds no window to check the record's against, and serving sizes its inputs by it.
      if (record.window.inputSeqLen > MAX_INPUT_SEQ_LEN) {
        throw corruptRun(record.run_id, `${runsBucket(settings)}/${runKey(record.run_id, RUN_FILES.record)}`, `has window.inputSeqLen over ${MAX_INPUT_SEQ_LEN}, the longest window Prophet is trained with`);
      }
      const { key, artifact } = await readModelArtifact<ProphetArtifact>(store, settings, record, 'PROPHET');
      const problem = isJsonObject(artifact) ? prophetArtifactProblem(artifact, window, record.params) : 'is not a JSON object';
      if (problem) throw corruptRun(record.run_id, key, problem);
      const { loadProphetModel } = await import('../models/prophet-model.js');
      return buildFromArtifact(record, key, () => loadProphetModel(artifact, window));
    }
    case 'NAIVE': {
      const { key, artifact } = await readModelArtifact<NaiveArtifact>(store, settings, record, 'NAIVE');
      return buildFromArtifact(record, key, () => createNaiveModel(savedWindow(record, key, artifact)));
    }
    case 'SNAIVE': {
      const { key, artifact } = await readModelArtifact<SeasonalNaiveArtifact>(store, settings, record, 'SNAIVE');
      return buildFromArtifact(record, key, () => createSeasonalNaiveModel(savedWindow(record, key, artifact)));
    }
    case 'MSTL': {
      const { key, artifact } = await readModelArtifact<MstlArtifact>(store, settings, record, 'MSTL');
      const { createMstlModel } = await import('../models/mstl-model.js');
      const window = savedWindow(record, key, artifact);
      const problem = mstlArtifactProblem(artifact, window);
      if (problem) throw corruptRun(record.run_id, key, problem);
      return buildFromArtifact(record, key, () => createMstlModel(artifact));
    }
    default:
      throw new FltsError('FLTS_MODEL_UNKNOWN_TYPE', `Run ${record.run_id} has unknown model type ${JSON.stringify(record.model_type)}.`);
  }
}
