import type { Settings } from '../config/settings.js';
import { selectRows, type TimeFrame } from '../data/time-frame.js';
import type { ForecastModel, ModelType, WindowSpec } from '../models/forecast-model.js';
import { createNaiveModel } from '../models/naive-model.js';
import { fitForecastModel } from '../train/fit-model.js';
import { fitAndValidationWindows } from '../train/prepare-windows.js';

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
  const recurrent = modelType === 'LSTM' || modelType === 'GRU';
  // Only networks fit on windows; the other models read the rows themselves.
  const windows = recurrent ? fitAndValidationWindows(prefix, window, settings.training.validationSplit) : undefined;
  const fitted = await fitForecastModel(modelType, prefix, windows, window, settings, { runId: `backtest-${modelType.toLowerCase()}`, epochs: settings.backtest.refitEpochs, seasonRows: endRow, signal });
  return fitted.model;
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
