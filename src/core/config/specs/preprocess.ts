import type { SettingSpec } from './setting-spec.js';

export const SCALER_METHODS = ['MinMaxScaler', 'StandardScaler', 'RobustScaler', 'MaxAbsScaler', ''] as const;

/** The reference system's preprocessing settings; every one of them enters config_hash. */
export const PREPROCESS_SPECS: readonly SettingSpec[] = [
  { path: 'preprocess.handleNans.enabled', type: 'boolean', default: true, env: ['HANDLE_NANS'], description: 'Impute missing values.' },
  { path: 'preprocess.handleNans.threshold', type: 'number', default: 0.33, min: 0, max: 1, env: ['NANS_THRESHOLD'], description: 'With dropRows: drop rows with more than this share of missing values.' },
  { path: 'preprocess.handleNans.knnNeighbors', type: 'integer', default: 2, min: 1, max: 1000, env: ['NANS_KNN'], description: 'Neighbours of the reference KNN imputer (recorded; with one feature it fills the column mean).' },
  { path: 'preprocess.handleNans.dropRows', type: 'boolean', default: false, env: ['NANS_DROP_ROWS'], description: 'Drop rows with too many missing values before imputing.' },
  { path: 'preprocess.outliers.enabled', type: 'boolean', default: false, env: ['CLIP_ENABLE'], description: 'Clip outliers per column.' },
  { path: 'preprocess.outliers.method', type: 'string', default: 'iqr', choices: ['iqr', 'percentile'], envCase: 'lower', env: ['CLIP_METHOD'], description: 'iqr = [Q1 - f*IQR, Q3 + f*IQR]; percentile = [q(f), q(1-f)].' },
  { path: 'preprocess.outliers.factor', type: 'number', default: 1.5, min: 0, env: ['CLIP_FACTOR'], description: 'IQR multiplier, or the quantile for the percentile method.' },
  { path: 'preprocess.timeFeatures.enabled', type: 'boolean', default: true, env: ['TIME_FEATURES_ENABLE'], description: 'Add sin/cos of minute of day, day of week and day of year.' },
  { path: 'preprocess.lags.enabled', type: 'boolean', default: false, env: ['LAGS_ENABLE'], description: 'Add lagged copies of every column.' },
  { path: 'preprocess.lags.nLags', type: 'integer', default: 0, min: 0, max: 256, env: ['LAGS_N'], description: 'Number of lags.' },
  { path: 'preprocess.lags.step', type: 'integer', default: 1, min: 1, max: 1_000_000, env: ['LAGS_STEP'], description: 'Distance between lags, in rows.' },
  { path: 'preprocess.scaling.method', type: 'string', default: 'MinMaxScaler', choices: SCALER_METHODS, envCase: 'trim', env: ['SCALER'], description: 'Scaler fitted on the training data ("" = none).' },
  { path: 'preprocess.scaling.addConstant', type: 'string', default: null, nullable: true, env: ['ADD_VAL'], description: 'Constant added to every value before scaling (a number, kept as text for config_hash).' },
  { path: 'preprocess.hashSalt', type: 'string', default: '', env: ['EXTRA_HASH_SALT'], description: 'Free text mixed into config_hash to force a new lineage.' },
];

export type ScalerMethod = (typeof SCALER_METHODS)[number];

export interface PreprocessSettings {
  handleNans: { enabled: boolean; threshold: number; knnNeighbors: number; dropRows: boolean };
  outliers: { enabled: boolean; method: 'iqr' | 'percentile'; factor: number };
  timeFeatures: { enabled: boolean };
  lags: { enabled: boolean; nLags: number; step: number };
  scaling: { method: ScalerMethod; addConstant: string | null };
  hashSalt: string;
}
