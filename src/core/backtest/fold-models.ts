import type { Settings } from '../config/settings.js';
import { selectRows, type TimeFrame } from '../data/time-frame.js';
import type { ForecastModel, ModelType, WindowSpec } from '../models/forecast-model.js';
import { forecastFromChanges, toChangeTargets } from '../forecast/change-target.js';
import { fitMstlModel } from '../models/mstl-model.js';
import { createNaiveModel } from '../models/naive-model.js';
import { createSeasonalNaiveModel } from '../models/seasonal-naive-model.js';
import { fitProphetModel } from '../models/prophet-model.js';
import { buildRecurrentNetwork, createRecurrentForecastModel } from '../models/recurrent-model.js';
import { buildWindows, sliceWindows } from '../forecast/windows.js';
import { selectBackend } from '../tf/backend.js';
import { fitNetwork } from '../train/fit-network.js';

/** The model a fold forecasts with, and the last row its fitting saw (null: nothing was fitted on the series). */
export interface FoldModel {
  model: ForecastModel;
  /** Exclusive end row of the data the model was fitted on. */
  fittedRows: number | null;
}

export interface FoldModelProvider {
  readonly modelType: ModelType;
  readonly runId: string | null;
  /** How the model came to be: a trained run's, fitted for the backtest, or the persistence baseline. */
  readonly origin: 'run' | 'fitted' | 'baseline';
  modelFor(fold: number, originRow: number, series: TimeFrame): Promise<FoldModel>;
  dispose(): void;
}

export interface FoldModelOptions {
  modelType: ModelType;
  window: WindowSpec;
  /** The trained run's model (LSTM/GRU/PROPHET), used as is unless refitting. */
  run?: { runId: string; model: ForecastModel };
  /** Rows of training data (fits without a run use these only). */
  trainRows: number;
  refitEvery: number;
  settings: Settings;
  signal?: AbortSignal;
}

/**
 * Fits on rows [0, endRow) only: the caller passes the fold origin as endRow, so what comes after the
 * origin cannot reach the model.
 */
async function fitOn(modelType: ModelType, series: TimeFrame, endRow: number, window: WindowSpec, settings: Settings, signal?: AbortSignal): Promise<ForecastModel> {
  const prefix = selectRows(series, 0, endRow);
  const t = settings.training;
  if (modelType === 'PROPHET') return fitProphetModel(prefix, window, t.prophet, t.seed).model;
  if (modelType === 'NAIVE') return createNaiveModel(window);
  if (modelType === 'SNAIVE') return createSeasonalNaiveModel(window);
  if (modelType === 'MSTL') return fitMstlModel(prefix, endRow, window).model;
  await selectBackend(t.backend);
  const built = buildWindows(prefix, window);
  const all = window.targetForm === 'change' ? toChangeTargets(built, window) : built;
  const validation = Math.max(1, Math.floor(all.size * t.validationSplit));
  const network = buildRecurrentNetwork(modelType, window, { hiddenSize: t.hiddenSize, numLayers: t.numLayers }, t.seed);
  try {
    await fitNetwork(network, sliceWindows(all, 0, all.size - validation, window), sliceWindows(all, all.size - validation, all.size, window), window, {
      runId: `backtest-${modelType.toLowerCase()}`,
      epochs: settings.backtest.refitEpochs,
      batchSize: t.batchSize,
      learningRate: t.learningRate,
      earlyStopping: t.earlyStopping,
      patience: t.patience,
      seed: t.seed,
      signal,
    });
  } catch (error) {
    network.dispose();
    throw error;
  }
  const model = createRecurrentForecastModel(modelType, window, network);
  return window.targetForm === 'change' ? forecastFromChanges(model) : model;
}

/**
 * NAIVE needs no fitting. Without refitting, a trained run's model serves every fold (it was fitted on the
 * training data, before every origin); without a run, one model is fitted on the training rows. With
 * `refitEvery` k, the model is refitted at folds 0, k, 2k, ... on every row before that fold's origin.
 */
export function createFoldModelProvider(options: FoldModelOptions): FoldModelProvider {
  const { modelType, window, run, trainRows, refitEvery, settings, signal } = options;
  let current: FoldModel | undefined;
  const owned: ForecastModel[] = [];
  const keep = (model: ForecastModel, fittedRows: number | null): FoldModel => {
    if (model !== run?.model) owned.push(model);
    current = { model, fittedRows };
    return current;
  };
  const origin = modelType === 'NAIVE' ? 'baseline' : run && refitEvery === 0 ? 'run' : 'fitted';
  return {
    modelType,
    runId: run?.runId ?? null,
    origin,
    async modelFor(fold, originRow, series) {
      if (modelType === 'NAIVE') return current ?? keep(createNaiveModel(window), null);
      if (refitEvery > 0 && fold % refitEvery === 0) {
        owned.splice(0).forEach((model) => model.dispose());
        return keep(await fitOn(modelType, series, originRow, window, settings, signal), originRow);
      }
      if (current) return current;
      if (run) return keep(run.model, trainRows);
      return keep(await fitOn(modelType, series, trainRows, window, settings, signal), trainRows);
    },
    dispose() {
      owned.splice(0).forEach((model) => model.dispose());
    },
  };
}
