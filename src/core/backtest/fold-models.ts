import type { Settings } from '../config/settings.js';
import { selectRows, type TimeFrame } from '../data/time-frame.js';
import type { ForecastModel, ModelType, WindowSpec } from '../models/forecast-model.js';
import { fitForecastModel } from '../train/fit-model.js';
import { fitAndValidationWindows } from '../train/prepare-windows.js';
import type { ScalerParams } from '../data/scaler.js';
import { createIntervalSource, type IntervalSource } from '../forecast/forecast-intervals.js';
import { parseIntervalLevels, type IntervalCalibration } from '../models/prediction-intervals.js';
import { fittedCalibration } from '../train/run-intervals.js';
import { FltsError } from '../errors.js';

/** The model a fold forecasts with, and the last row its fitting saw (null: nothing was fitted on the series). */
export interface FoldModel {
  model: ForecastModel;
  /** Exclusive end row of the data the model was fitted on. */
  fittedRows: number | null;
  /** The model's prediction intervals at the configured levels; absent for a run trained before intervals existed. */
  intervals?: IntervalSource;
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
  run?: { runId: string; model: ForecastModel; intervals?: IntervalCalibration };
  /** The processed data's scaler: calibration errors are in original units. */
  scaler: ScalerParams;
  /** Rows of training data (fits without a run use these only). */
  trainRows: number;
  refitEvery: number;
  settings: Settings;
  signal?: AbortSignal;
}

/** A model fitted for a fold, with its interval calibration. */
interface FoldFit {
  model: ForecastModel;
  intervals: IntervalCalibration;
}

/**
 * Fits on rows [0, endRow) only: the caller passes the fold origin as endRow, so what comes after the
 * origin cannot reach the model. The fit is training's, on the same split of those rows, and the intervals
 * calibrate as in training on its validation tail (MSTL and the networks are fitted before it, Prophet by a second fit),
 * bounded below where those rows never go negative.
 */
async function fitOn(modelType: ModelType, series: TimeFrame, endRow: number, window: WindowSpec, settings: Settings, scaler: ScalerParams, signal?: AbortSignal): Promise<FoldFit> {
  const prefix = selectRows(series, 0, endRow);
  const windows = fitAndValidationWindows(prefix, window, settings.training.validationSplit);
  const fitted = await fitForecastModel(modelType, prefix, windows, window, settings, { runId: `backtest-${modelType.toLowerCase()}`, epochs: settings.backtest.refitEpochs, scaler, signal }).catch(
    (error: unknown) => {
      throw asBacktestFitFailure(error, modelType, endRow);
    },
  );
  try {
    return { model: fitted.model, intervals: await fittedCalibration(fitted, prefix, windows.validation, window, scaler, settings.eval.intervalSteps) };
  } catch (error) {
    fitted.model.dispose();
    throw asBacktestFitFailure(error, modelType, endRow);
  }
}

/**
 * A fit that failed for the backtest, said as one: FLTS_TRAIN_FAILED's hint sends the reader to the run's
 * run.json, which a backtest's fits never write, and Prophet's optimiser failure to MODEL_TYPE where the backtest
 * takes --models (the message still names the settings that would let it fit). A diverged fit keeps its own hint.
 */
function asBacktestFitFailure(error: unknown, modelType: ModelType, endRow: number): unknown {
  if (!(error instanceof FltsError) || (error.code !== 'FLTS_TRAIN_FAILED' && error.code !== 'FLTS_TRAIN_OPTIMIZER_FAILED')) return error;
  return new FltsError(error.code, `${modelType} could not be fitted for the backtest on the first ${endRow} rows (it has no run to use, or --refit-every is set): ${error.message}`, {
    cause: error,
    details: { ...error.details, modelType, rows: endRow },
    hint: 'The backtest records no run of its own fits: leave this model type out (--models), or backtest the run a `flts train` of it leaves, without --refit-every.',
  });
}

/**
 * NAIVE needs no fitting. Without refitting, a trained run's model serves every fold (it was fitted on the
 * training data, before every origin); without a run, one model is fitted on the training rows. With
 * `refitEvery` k, the model is refitted at folds 0, k, 2k, ... on every row before that fold's origin.
 */
export function createFoldModelProvider(options: FoldModelOptions): FoldModelProvider {
  const { modelType, window, run, trainRows, refitEvery, settings, signal } = options;
  const levels = parseIntervalLevels(settings.eval.intervalLevels);
  let current: FoldModel | undefined;
  const owned: ForecastModel[] = [];
  const keep = (model: ForecastModel, fittedRows: number | null, intervals: IntervalSource | undefined): FoldModel => {
    if (model !== run?.model) owned.push(model);
    current = { model, fittedRows, ...(intervals ? { intervals } : {}) };
    return current;
  };
  const fitted = async (series: TimeFrame, endRow: number): Promise<FoldModel> => {
    const fit = await fitOn(modelType, series, endRow, window, settings, options.scaler, signal);
    return keep(fit.model, endRow, await createIntervalSource(fit.intervals, levels));
  };
  const origin = modelType === 'NAIVE' ? 'baseline' : run && refitEvery === 0 ? 'run' : 'fitted';
  return {
    modelType,
    runId: run?.runId ?? null,
    origin,
    async modelFor(fold, originRow, series) {
      if (modelType === 'NAIVE') {
        if (current) return current;
        // Persistence fits nothing: made and calibrated on the training rows as training does.
        const trainFrame = selectRows(series, 0, trainRows);
        const fit = await fitForecastModel('NAIVE', trainFrame, undefined, window, settings, { runId: 'backtest-naive', scaler: options.scaler, signal });
        return keep(fit.model, null, await createIntervalSource(await fittedCalibration(fit, trainFrame, undefined, window, options.scaler), levels));
      }
      if (refitEvery > 0 && fold % refitEvery === 0) {
        owned.splice(0).forEach((model) => model.dispose());
        return fitted(series, originRow);
      }
      if (current) return current;
      if (run) return keep(run.model, trainRows, run.intervals ? await createIntervalSource(run.intervals, levels) : undefined);
      return fitted(series, trainRows);
    },
    dispose() {
      owned.splice(0).forEach((model) => model.dispose());
    },
  };
}
