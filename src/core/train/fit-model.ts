import os from 'node:os';
import type { Settings } from '../config/settings.js';
import type { TrainableModelType } from '../config/specs/training.js';
import type { EventSink } from '../events.js';
import type { Logger } from '../logger.js';
import type { ForecastModel, WindowSpec } from '../models/forecast-model.js';
import { createNaiveModel } from '../models/naive-model.js';
import { fitProphetModel } from '../models/prophet-model.js';
import { buildRecurrentNetwork, createRecurrentForecastModel } from '../models/recurrent-model.js';
import type { ProcessedData } from '../preprocess/processed-data.js';
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
}

/** Fits one model type and saves its artifact into the run; the caller evaluates and disposes it. */
export async function fitModel(modelType: TrainableModelType, data: ProcessedData, windows: PreparedWindows, settings: Settings, deps: FitModelDeps): Promise<FittedModel> {
  const t = settings.training;
  const window: WindowSpec = { features: [...data.columns], targets: [...t.targets], inputSeqLen: t.inputSeqLen, outputSeqLen: t.outputSeqLen };
  const start = performance.now();
  if (modelType === 'LSTM' || modelType === 'GRU') {
    const backend = await selectBackend(t.backend, { logger: deps.logger });
    deps.onEvent({ type: 'train.start', runId: deps.runId, modelType, backend: backend.name, epochs: t.epochs, batchesPerEpoch: Math.ceil(windows.fit.size / t.batchSize) });
    const network = buildRecurrentNetwork(modelType, window, { hiddenSize: t.hiddenSize, numLayers: t.numLayers }, t.seed);
    try {
      const result = await fitNetwork(network, windows.fit, windows.validation, window, {
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
        model: createRecurrentForecastModel(modelType, window, network),
        artifact: MODEL_ARTIFACT_FILES[modelType],
        fitMs: result.fitMs,
        backend: result.engine === 'fused' ? `${backend.name}+fused${result.threads > 1 ? `x${result.threads}` : ''}` : backend.matMulFix ? `${backend.name}+matmul-fix` : backend.name,
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
    return { model, artifact: MODEL_ARTIFACT_FILES.PROPHET, fitMs: performance.now() - start, backend: 'augurs-wasm' };
  }
  await saveModelJson(deps.store, settings, deps.runId, MODEL_ARTIFACT_FILES.NAIVE, { format: 'flts-naive-v1', window });
  return { model: createNaiveModel(window), artifact: MODEL_ARTIFACT_FILES.NAIVE, fitMs: performance.now() - start };
}
