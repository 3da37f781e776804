import type { SettingSpec } from './setting-spec.js';
import { TRAINABLE_MODEL_TYPES } from './training.js';

/** `flts predict` / inference claims (batch inference) and `flts backtest` (rolling-origin evaluation). */
export const BATCH_SPECS: readonly SettingSpec[] = [
  { path: 'batch.chunkSize', type: 'integer', default: 256, min: 1, max: 8192, env: ['FLTS_BATCH_CHUNK_SIZE'], description: 'Windows per forward pass in batch inference.' },
  { path: 'batch.format', type: 'string', default: 'parquet', choices: ['parquet', 'csv'], envCase: 'lower', env: ['FLTS_BATCH_FORMAT'], description: 'Format of the forecast table batch inference stores with the run.' },
  { path: 'batch.maxErrorSteps', type: 'integer', default: 200, min: 0, max: 10_000, env: ['PREDICT_MAX_ERROR_STEPS'], description: 'Entries of `step_mae` in an inference result record at most.' },
  { path: 'batch.logFeatureLimit', type: 'integer', default: 3, min: 1, max: 1000, env: ['PREDICT_LOG_FEATURE_LIMIT'], description: 'Forecast columns shown in the `samples` of an inference result record.' },
  { path: 'backtest.models', type: 'list', default: [], distinct: true, choices: TRAINABLE_MODEL_TYPES, envCase: 'upper', env: ['FLTS_BACKTEST_MODELS'], description: 'Model types to backtest, each named once (empty = NAIVE plus every type with a SUCCESS run of the config_hash and the configured targets (`training.targets`, as a set) trained on the rows it holds now; a type is backtested with its newest such run, else fitted as without one).' },
  { path: 'backtest.horizon', type: 'integer', default: 0, min: 0, max: 10_000, env: ['FLTS_BACKTEST_HORIZON'], description: 'Steps forecast from each fold origin (0 = the model horizon); longer horizons are forecast recursively (MSTL: from one fit of the window).' },
  { path: 'backtest.stride', type: 'integer', default: 0, min: 0, env: ['FLTS_BACKTEST_STRIDE'], description: 'Rows between consecutive fold origins (0 = the horizon, so folds do not overlap).' },
  { path: 'backtest.folds', type: 'integer', default: 0, min: 0, env: ['FLTS_BACKTEST_FOLDS'], description: 'Fold origins, the last one ending at the end of the test data (0 = as many as fit in the test period).' },
  { path: 'backtest.refitEvery', type: 'integer', default: 0, min: 0, env: ['FLTS_BACKTEST_REFIT_EVERY'], description: 'Refit every k folds on the data before the fold origin (0 = never: use the trained runs\' models).' },
  { path: 'backtest.refitEpochs', type: 'integer', default: 1, min: 1, max: 10_000, env: ['FLTS_BACKTEST_REFIT_EPOCHS'], description: 'Epochs of an LSTM/GRU refit during a backtest.' },
];

export interface BatchSettings {
  chunkSize: number;
  format: 'parquet' | 'csv';
  maxErrorSteps: number;
  logFeatureLimit: number;
}

export interface BacktestSettings {
  models: string[];
  horizon: number;
  stride: number;
  folds: number;
  refitEvery: number;
  refitEpochs: number;
}
