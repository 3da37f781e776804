import os from 'node:os';
import type { Settings } from '../config/settings.js';
import type { TrainableModelType } from '../config/specs/training.js';
import type { EventSink } from '../events.js';
import type { Logger } from '../logger.js';
import { forecastFromChanges, toChangeTargets } from '../forecast/change-target.js';
import type { ForecastModel, WindowSpec } from '../models/forecast-model.js';
import { fitMstlModel, mstlWindow } from '../models/mstl-model.js';
import { createNaiveModel } from '../models/naive-model.js';
import { createSeasonalNaiveModel, dailyPeriod, seasonalNaiveWindow } from '../models/seasonal-naive-model.js';
import { fitProphetModel } from '../models/prophet-model.js';
import { buildRecurrentNetwork, createRecurrentForecastModel } from '../models/recurrent-model.js';
import type { ProcessedData } from '../preprocess/processed-data.js';
import type { RunWindow } from '../registry/run-record.js';
import { MODEL_ARTIFACT_FILES, saveModelJson, saveNetwork } from '../registry/run-artifacts.js';
import type { ObjectStore } from '../storage/object-store.js';
import { selectBackend } from '../tf/backend.js';
import { fitNetwork, type EpochRecord } from './fit-network.js';
import type { PreparedWindows } from './prepare-windows.js';

export interface FitModelDeps {
  store: ObjectStore;
  runId: string;
  signal?: AbortSignal;
  onEvent: EventSink;
  logger: Logger;
}

export interface FittedModel {
  model: ForecastModel;
  /** Key of the saved model, relative to the run. */
  artifact: string;
  fitMs: number;
  backend?: string;
  history?: EpochRecord[];
  bestEpoch?: number;
  bestValLoss?: number;
  samplesPerSec?: number;
  /** Models fitted on every training row (the validation tail too) calibrate their intervals in-sample. */
  calibration?: 'validation-tail' | 'in-sample';
}

/**
 * The window a model type reads and writes under these settings (saved with its run): the configured one,
 * except for the baselines that read the targets only, over a day (SNAIVE) or the rows MSTL smooths.
 */
export function modelWindow(modelType: TrainableModelType, data: Pick<ProcessedData, 'columns' | 'train'>, settings: Settings): RunWindow {
  const t = settings.training;
  if (modelType === 'SNAIVE') return seasonalNaiveWindow(t.targets, t.outputSeqLen, dailyPeriod(data.train.time)) as RunWindow;
  if (modelType === 'MSTL') return mstlWindow(t.targets, t.outputSeqLen) as RunWindow;
  const recurrent = modelType === 'LSTM' || modelType === 'GRU';
  const features = recurrent && t.calendarFeatures === 'learnable' ? learnableFeatures(data.columns, data.train.time) : [...data.columns];
  const window: RunWindow = { features, targets: [...t.targets], inputSeqLen: t.inputSeqLen, outputSeqLen: t.outputSeqLen };
  return recurrent && t.targetForm === 'change' ? { ...window, targetForm: 'change' } : window;
}

const DAY_MS = 86_400_000;
/** Calendar features and the length of their cycle. */
const CALENDAR_CYCLES_MS: Readonly<Record<string, number>> = {
  day_of_week_sin: 7 * DAY_MS,
  day_of_week_cos: 7 * DAY_MS,
  day_of_year_sin: 365.25 * DAY_MS,
  day_of_year_cos: 365.25 * DAY_MS,
};

/**
 * The columns a network can learn from: a calendar feature whose cycle the training data does not cover
 * twice (day of year on a few weeks of data) only tells the network the date, and forecasts for later dates
 * would extrapolate it, so it is left out.
 */
export function learnableFeatures(columns: readonly string[], trainTime: Float64Array): string[] {
  const span = trainTime.length > 1 ? trainTime[trainTime.length - 1] - trainTime[0] : 0;
  return columns.filter((column) => !(column in CALENDAR_CYCLES_MS) || span >= 2 * CALENDAR_CYCLES_MS[column]);
}

/** Fits one model type and saves its artifact into the run; the caller evaluates and disposes it. */
export async function fitModel(modelType: TrainableModelType, data: ProcessedData, windows: PreparedWindows, settings: Settings, deps: FitModelDeps): Promise<FittedModel> {
  const t = settings.training;
  const window = modelWindow(modelType, data, settings);
  const changes = window.targetForm === 'change';
  const start = performance.now();
  if (modelType === 'LSTM' || modelType === 'GRU') {
    const backend = await selectBackend(t.backend, { logger: deps.logger });
    deps.onEvent({ type: 'train.start', runId: deps.runId, modelType, backend: backend.name, epochs: t.epochs, batchesPerEpoch: Math.ceil(windows.fit.size / t.batchSize) });
    const network = buildRecurrentNetwork(modelType, window, { hiddenSize: t.hiddenSize, numLayers: t.numLayers }, t.seed);
    try {
      const fit = changes ? toChangeTargets(windows.fit, window) : windows.fit;
      const validation = changes ? toChangeTargets(windows.validation, window) : windows.validation;
      const result = await fitNetwork(network, fit, validation, window, {
        runId: deps.runId,
        epochs: t.epochs,
        batchSize: t.batchSize,
        learningRate: t.learningRate,
        earlyStopping: t.earlyStopping,
        patience: t.patience,
        seed: t.seed,
        signal: deps.signal,
        onEvent: deps.onEvent,
        engine: t.engine,
        workers: t.workers,
        backend: backend.name,
        // Native TensorFlow already spreads each op over the cores.
        cores: backend.name === 'node' ? 1 : os.availableParallelism(),
      });
      await saveNetwork(deps.store, settings, deps.runId, network);
      return {
        model: changes ? forecastFromChanges(createRecurrentForecastModel(modelType, window, network)) : createRecurrentForecastModel(modelType, window, network),
        artifact: MODEL_ARTIFACT_FILES[modelType],
        fitMs: result.fitMs,
        backend: result.engine === 'layers' ? (backend.matMulFix ? `${backend.name}+matmul-fix` : backend.name) : `${result.engine === 'onnx' ? 'onnxruntime' : `${backend.name}+fused`}${result.threads > 1 ? `x${result.threads}` : ''}`,
        history: result.history,
        bestEpoch: result.bestEpoch,
        bestValLoss: result.bestValLoss,
        samplesPerSec: result.samplesPerSec,
      };
    } catch (error) {
      network.dispose();
      throw error;
    }
  }
  deps.onEvent({ type: 'train.start', runId: deps.runId, modelType, backend: 'js', epochs: 0, batchesPerEpoch: 0 });
  if (modelType === 'PROPHET') {
    const { model, artifact } = fitProphetModel(data.train, window, t.prophet, t.seed);
    await saveModelJson(deps.store, settings, deps.runId, MODEL_ARTIFACT_FILES.PROPHET, artifact);
    return { model, artifact: MODEL_ARTIFACT_FILES.PROPHET, fitMs: performance.now() - start, backend: 'augurs-wasm', calibration: 'in-sample' };
  }
  if (modelType === 'SNAIVE') {
    await saveModelJson(deps.store, settings, deps.runId, MODEL_ARTIFACT_FILES.SNAIVE, { format: 'flts-seasonal-naive-v1', period: window.inputSeqLen, window });
    return { model: createSeasonalNaiveModel(window), artifact: MODEL_ARTIFACT_FILES.SNAIVE, fitMs: performance.now() - start };
  }
  if (modelType === 'MSTL') {
    // The season is fitted before the validation tail, so the intervals calibrate on rows it never saw.
    const rows = data.train.time.length - windows.validation.size - window.outputSeqLen + 1;
    const { model, artifact } = fitMstlModel(data.train, rows, window);
    await saveModelJson(deps.store, settings, deps.runId, MODEL_ARTIFACT_FILES.MSTL, artifact);
    return { model, artifact: MODEL_ARTIFACT_FILES.MSTL, fitMs: performance.now() - start, backend: 'augurs-wasm' };
  }
  await saveModelJson(deps.store, settings, deps.runId, MODEL_ARTIFACT_FILES.NAIVE, { format: 'flts-naive-v1', window });
  return { model: createNaiveModel(window), artifact: MODEL_ARTIFACT_FILES.NAIVE, fitMs: performance.now() - start };
}
