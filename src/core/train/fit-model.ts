import { FltsError } from '../errors.js';
import type { Settings } from '../config/settings.js';
import type { TrainableModelType } from '../config/specs/training.js';
import { ignoreEvents, type EventSink } from '../events.js';
import type { TimeFrame } from '../data/time-frame.js';
import type { ScalerParams } from '../data/scaler.js';
import type { Logger } from '../logger.js';
import type { ForecastModel, WindowSpec } from '../models/forecast-model.js';
import { mstlWindow } from '../models/mstl-window.js';
import { targetFloorsOf, withTargetFloors } from '../models/target-floors.js';
import { createNaiveModel } from '../models/naive-model.js';
import { createSeasonalNaiveModel, dailyPeriod, seasonalNaiveWindow } from '../models/seasonal-naive-model.js';
import type { IntervalCalibration } from '../models/prediction-intervals.js';
import type { ProcessedData } from '../preprocess/processed-data.js';
import type { RunWindow } from '../registry/run-record.js';
import { MODEL_ARTIFACT_FILES, saveModelJson } from '../registry/run-artifacts.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { EpochRecord } from './fit-network.js';
import type { PreparedWindows } from './prepare-windows.js';
import { calibrateModelIntervals, calibrateOnTrainingWindows, fitProphetWithIntervals, type PostFitProgress } from './run-intervals.js';

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
    // TensorFlow.js (~140 modules) loads with the first network fit, not with every process that may fit one.
    const { fitRecurrentModel } = await import('./fit-recurrent.js');
    return fitRecurrentModel(modelType, series, windows, window, settings, options, progress);
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
    // augurs' MSTL and ETS WebAssembly load with the first MSTL fit, not with every process that may fit one.
    const { fitMstlModel } = await import('../models/mstl-model.js');
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
