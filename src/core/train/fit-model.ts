import os from 'node:os';
import type * as tf from '@tensorflow/tfjs';
import { FltsError } from '../errors.js';
import type { Settings } from '../config/settings.js';
import type { TrainableModelType } from '../config/specs/training.js';
import { ignoreEvents, type EventSink } from '../events.js';
import type { TimeFrame } from '../data/time-frame.js';
import type { ScalerParams } from '../data/scaler.js';
import type { Logger } from '../logger.js';
import { toTargetForm, withTargetForm } from '../forecast/target-form.js';
import type { ForecastModel, WindowSpec } from '../models/forecast-model.js';
import { fitMstlModel, mstlWindow } from '../models/mstl-model.js';
import { targetFloorsOf, withTargetFloors } from '../models/target-floors.js';
import { createNaiveModel } from '../models/naive-model.js';
import { createSeasonalNaiveModel, dailyPeriod, seasonalNaiveWindow } from '../models/seasonal-naive-model.js';
import type { IntervalCalibration } from '../models/prediction-intervals.js';
import { buildRecurrentNetwork, createRecurrentForecastModel } from '../models/recurrent-model.js';
import type { ProcessedData } from '../preprocess/processed-data.js';
import type { RunWindow } from '../registry/run-record.js';
import { MODEL_ARTIFACT_FILES, saveModelJson, saveNetwork } from '../registry/run-artifacts.js';
import type { ObjectStore } from '../storage/object-store.js';
import { selectBackend } from '../tf/backend.js';
import { fitNetwork, type EpochRecord, type TrainingEngineUsed } from './fit-network.js';
import type { PreparedWindows } from './prepare-windows.js';
import { calibrateModelIntervals, calibrateOnTrainingWindows, fitProphetWithIntervals, type PostFitProgress } from './run-intervals.js';
import { concatWindows, type WindowSet } from '../forecast/windows.js';
import { assertTrainingFits } from './training-memory.js';
import { fitInputStandardisation, foldInputAffine, standardiseInputs, withInputAffine, type InputAffine } from './input-scaling.js';

/** Learning-rate factor of each drop after early stopping (`training.lrDrops`). */
const LR_DROP_FACTOR = 0.1;

export interface FitModelDeps {
  store: ObjectStore;
  runId: string;
  signal?: AbortSignal;
  onEvent: EventSink;
  logger: Logger;
  /** Networks run their training engine on a worker thread (models training side by side). */
  offThread?: boolean;
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
  /** Intervals the fit calibrated itself (a model fitted on every training row); otherwise the model's own errors on the validation tail calibrate them. */
  intervals?: IntervalCalibration;
}

/**
 * The window a model type reads and writes under these settings (saved with its run): the configured one,
 * except for the baselines that read the targets only, over a day (SNAIVE) or the rows MSTL smooths.
 */
export function modelWindow(modelType: TrainableModelType, data: Pick<ProcessedData, 'columns' | 'train' | 'scaler'>, settings: Settings): RunWindow {
  const floors = targetFloorsOf(data.train, settings.training.targets, data.scaler);
  const window = unflooredWindow(modelType, data, settings);
  return Object.keys(floors).length > 0 ? { ...window, targetFloors: floors } : window;
}

function unflooredWindow(modelType: TrainableModelType, data: Pick<ProcessedData, 'columns' | 'train'>, settings: Settings): RunWindow {
  const t = settings.training;
  if (modelType === 'SNAIVE') return seasonalNaiveWindow(t.targets, t.outputSeqLen, dailyPeriod(data.train.time)) as RunWindow;
  if (modelType === 'MSTL') return mstlWindow(t.targets, t.outputSeqLen) as RunWindow;
  const recurrent = modelType === 'LSTM' || modelType === 'GRU';
  const features = recurrent && t.calendarFeatures === 'learnable' ? learnableFeatures(data.columns, data.train.time) : [...data.columns];
  const window: RunWindow = { features, targets: [...t.targets], inputSeqLen: t.inputSeqLen, outputSeqLen: t.outputSeqLen };
  if (!recurrent || t.targetForm === 'level') return window;
  return t.targetForm === 'change' ? { ...window, targetForm: 'change', changeWeight: t.changeWeight } : { ...window, targetForm: t.targetForm };
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

export interface ModelFitOptions {
  /** Names the fit in progress events and worker threads. */
  runId: string;
  /** Maximum epochs of a network (default: training.epochs). */
  epochs?: number;
  /** The processed data's scaler: a model that calibrates its own intervals (Prophet) does so in original units. */
  scaler: ScalerParams;
  /** Rows MSTL fits its season on (default: the rows before the validation tail, which then calibrates the intervals). */
  seasonRows?: number;
  signal?: AbortSignal;
  onEvent?: EventSink;
  logger?: Logger;
  /** Networks run their training engine on a worker thread, leaving this one free between steps. */
  offThread?: boolean;
}

/** A fitted model not yet saved anywhere: `save` writes its artifact into a run. */
export interface ModelFit extends Omit<FittedModel, 'artifact'> {
  artifact: string;
  save(store: ObjectStore, settings: Settings, runId: string): Promise<void>;
}

/**
 * Builds a model of `modelType` and fits it on `series`, the one way training and backtests fit models; nothing
 * is saved. Networks fit on `windows` (the fit head, stopping early on the validation tail), which they require.
 */
export async function fitForecastModel(modelType: TrainableModelType, series: TimeFrame, windows: Pick<PreparedWindows, 'fit' | 'validation'> | undefined, window: WindowSpec, settings: Settings, options: ModelFitOptions): Promise<ModelFit> {
  const t = settings.training;
  const steps = settings.eval.intervalSteps;
  const emit = options.onEvent ?? ignoreEvents;
  const progress = postFitProgress(options.runId, options.signal, emit);
  const start = performance.now();
  if (modelType === 'LSTM' || modelType === 'GRU') {
    if (!windows) throw new FltsError('FLTS_INTERNAL', `${modelType} fits on windows; none were given.`);
    assertTrainingFits(window, t, windows.fit.size);
    const epochs = options.epochs ?? t.epochs;
    const backend = await selectBackend(t.backend, { logger: options.logger });
    const refits = t.refit !== 'none' && windows.validation.size > 0;
    const label = ({ engine, threads }: TrainingEngineUsed): string =>
      engine === 'layers' ? (backend.matMulFix ? `${backend.name}+matmul-fix` : backend.name) : `${backend.name}+${engine}${threads > 1 ? `x${threads}` : ''}`;
    // Announced once the engine is chosen, as the run records it. The announced epochs are every pass the fit
    // may make: the budget the learning-rate drops share, then the refit's.
    const announce = (used: TrainingEngineUsed): void =>
      emit({ type: 'train.start', runId: options.runId, modelType, backend: label(used), epochs: epochs + (refits ? t.refitEpochs : 0), batchesPerEpoch: Math.ceil(windows.fit.size / t.batchSize) });
    const formFit = toTargetForm(windows.fit, window);
    const formValidation = toTargetForm(windows.validation, window);
    // Standardised inputs are fitted on the windows the network fits on and folded into it once it is trained.
    const inputs = t.inputScaling === 'standard' ? fitInputStandardisation(formFit, window) : undefined;
    const fit = inputs ? standardiseInputs(formFit, window, inputs) : formFit;
    const validation = inputs ? standardiseInputs(formValidation, window, inputs) : formValidation;
    // Each stage counts its epochs from 1; its events continue the count of the stages before it (`epochsBefore`).
    const train = async (network: tf.LayersModel, on: WindowSet, maxEpochs: number, learningRate: number, seed: number, refit: boolean, epochsBefore: number) =>
      fitNetwork(network, on, validation, window, {
        runId: options.runId,
        epochs: maxEpochs,
        batchSize: t.batchSize,
        learningRate,
        weightAverage: refit ? 0 : t.weightAverage,
        earlyStopping: refit ? false : t.earlyStopping,
        restoreBest: !refit,
        patience: t.patience,
        seed,
        signal: options.signal,
        onEvent: epochsBefore === 0 ? emit : (event) => emit(event.type === 'train.batch_end' || event.type === 'train.epoch_end' ? { ...event, epoch: event.epoch + epochsBefore } : event),
        engine: t.engine,
        workers: t.workers,
        offThread: options.offThread,
        backend: backend.name,
        // Native TensorFlow already spreads each op over the cores.
        cores: backend.name === 'node' ? 1 : os.availableParallelism(),
        onEngine: epochsBefore === 0 ? announce : undefined,
      });
    // `inputMap`: the input standardisation a network trained on and has not yet folded in.
    const asModel = (network: tf.LayersModel, inputMap?: InputAffine) => {
      const model = createRecurrentForecastModel(modelType, window, network);
      return withTargetFloors(withTargetForm(inputMap ? withInputAffine(model, inputMap) : model));
    };
    const network = buildRecurrentNetwork(modelType, window, { hiddenSize: t.hiddenSize, numLayers: t.numLayers }, t.seed);
    try {
      const result = await train(network, fit, epochs, t.learningRate, t.seed, false, 0);
      const history = [...result.history];
      let best = { epoch: result.bestEpoch, loss: result.bestValLoss };
      let fitMs = result.fitMs;
      let learningRate = t.learningRate;
      // Each drop restarts from the best weights at a tenth of the rate and is kept only where the tail improves;
      // the drops share the epoch budget, so `epochs` still caps the passes over the training windows.
      for (let drop = 1; drop <= t.lrDrops && windows.validation.size > 0 && history.length < epochs; drop++) {
        const kept = network.getWeights().map((w) => w.clone());
        try {
          const stage = await train(network, fit, epochs - history.length, learningRate * LR_DROP_FACTOR, t.seed + drop, false, history.length);
          fitMs += stage.fitMs;
          const offset = history.length;
          history.push(...stage.history.map((epoch) => ({ ...epoch, epoch: epoch.epoch + offset })));
          if (!(stage.bestValLoss < best.loss)) {
            network.setWeights(kept);
            break;
          }
          best = { epoch: stage.bestEpoch + offset, loss: stage.bestValLoss };
          learningRate *= LR_DROP_FACTOR;
        } finally {
          kept.forEach((w) => w.dispose());
        }
      }
      let intervals: IntervalCalibration | undefined;
      if (refits) {
        // The tail errors of the network that never saw the tail calibrate the intervals; the refit, which
        // trains on it, only replaces the forecasts (its own tail errors would be in-sample).
        intervals = await calibrateModelIntervals(asModel(network, inputs), windows.validation, window, options.scaler, 'validation-tail', { steps, progress });
        const on = t.refit === 'tail' ? validation : concatWindows(fit, validation, window);
        fitMs += (await train(network, on, t.refitEpochs, learningRate, t.seed + t.lrDrops + 1, true, history.length)).fitMs;
      }
      if (inputs) foldInputAffine(network, inputs);
      // Early stopping on the tail keeps the network from fitting its training windows much better than new
      // ones, so the errors over every training window of the last weeks (every hour and weekday, the tail
      // included) describe its next errors better than the tail's day or two alone; without early stopping the
      // tail's errors, which the fit never saw, calibrate it.
      if (!refits && t.earlyStopping && windows.validation.size > 0) intervals = await calibrateOnTrainingWindows(asModel(network), series, window, options.scaler, steps, progress);
      return {
        model: asModel(network),
        artifact: MODEL_ARTIFACT_FILES[modelType],
        save: (store, s, runId) => saveNetwork(store, s, runId, network),
        fitMs,
        backend: label(result),
        history,
        bestEpoch: best.epoch,
        bestValLoss: best.loss,
        samplesPerSec: result.samplesPerSec,
        ...(intervals ? { intervals } : {}),
      };
    } catch (error) {
      network.dispose();
      throw error;
    }
  }
  emit({ type: 'train.start', runId: options.runId, modelType, backend: 'js', epochs: 0, batchesPerEpoch: 0 });
  const saveJson = (file: string, artifact: Parameters<typeof saveModelJson>[4]) => (store: ObjectStore, s: Settings, runId: string) => saveModelJson(store, s, runId, file, artifact);
  if (modelType === 'PROPHET') {
    if (!windows) throw new FltsError('FLTS_INTERNAL', 'PROPHET calibrates its intervals on the validation tail; no windows were given.');
    const { model, artifact, intervals } = await fitProphetWithIntervals(series, windows.validation, window, t.prophet, t.seed, options.scaler, steps, progress);
    return { model, artifact: MODEL_ARTIFACT_FILES.PROPHET, save: saveJson(MODEL_ARTIFACT_FILES.PROPHET, artifact), fitMs: performance.now() - start, backend: 'augurs-wasm', intervals };
  }
  if (modelType === 'SNAIVE') {
    const artifact = { format: 'flts-seasonal-naive-v1' as const, period: window.inputSeqLen, window };
    const model = withTargetFloors(createSeasonalNaiveModel(window));
    const intervals = await calibrateOnTrainingWindows(model, series, window, options.scaler, steps, progress);
    return { model, artifact: MODEL_ARTIFACT_FILES.SNAIVE, save: saveJson(MODEL_ARTIFACT_FILES.SNAIVE, artifact), fitMs: performance.now() - start, intervals };
  }
  if (modelType === 'MSTL') {
    // The season is fitted before the validation tail, so the intervals calibrate on rows it never saw.
    const rows = options.seasonRows ?? series.time.length - (windows?.validation.size ?? 0) - window.outputSeqLen + 1;
    const { model: unfloored, artifact } = fitMstlModel(series, rows, window);
    const model = withTargetFloors(unfloored);
    const { period, cadenceMs, profiles } = artifact;
    const intervals = windows ? await calibrateModelIntervals(model, windows.validation, window, options.scaler, 'validation-tail', { season: { period, cadenceMs, profiles }, steps, progress }) : undefined;
    return { model, artifact: MODEL_ARTIFACT_FILES.MSTL, save: saveJson(MODEL_ARTIFACT_FILES.MSTL, artifact), fitMs: performance.now() - start, backend: 'augurs-wasm', ...(intervals ? { intervals } : {}) };
  }
  const artifact = { format: 'flts-naive-v1' as const, window };
  const model = withTargetFloors(createNaiveModel(window));
  const intervals = await calibrateOnTrainingWindows(model, series, window, options.scaler, steps, progress);
  return { model, artifact: MODEL_ARTIFACT_FILES.NAIVE, save: saveJson(MODEL_ARTIFACT_FILES.NAIVE, artifact), fitMs: performance.now() - start, intervals };
}

/** The forecasts after a fit, stopped by `signal` between chunks and reported as `train.predict` events of run `runId`. */
export function postFitProgress(runId: string, signal: AbortSignal | undefined, emit: EventSink): PostFitProgress {
  return { signal, onChunk: (stage, done, total) => emit({ type: 'train.predict', runId, stage, done, total }) };
}

/** Fits one model type on the training data and saves its artifact into the run; the caller evaluates and disposes it. */
export async function fitModel(modelType: TrainableModelType, data: ProcessedData, windows: PreparedWindows, settings: Settings, deps: FitModelDeps): Promise<FittedModel> {
  const { save, ...fitted } = await fitForecastModel(modelType, data.train, windows, modelWindow(modelType, data, settings), settings, { ...deps, scaler: data.scaler });
  try {
    await save(deps.store, settings, deps.runId);
  } catch (error) {
    fitted.model.dispose();
    throw error;
  }
  return fitted;
}
