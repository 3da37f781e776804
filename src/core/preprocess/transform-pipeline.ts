import type { PreprocessSettings } from '../config/specs/preprocess.js';
import { applyScaler, assertScaledInRange, fitScaler, identityScaler, scaledIndistinct, type IndistinctColumn, type ScalerParams } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';
import { addConstant, parseAddConstant } from './add-constant.js';
import { addLags } from './lags.js';
import { applyNanImputer, dropSparseRows, fitNanImputer } from './nan-handling.js';
import { applyClipBounds, assertClipFactor, fitClipBounds } from './outlier-clipping.js';
import { addTimeFeatures } from './time-features.js';

export interface TransformReport {
  droppedRows: { train: number; test: number };
  /** Columns with no value at all in the training data. */
  droppedColumns: string[];
  imputedCells: { train: number; test: number };
}

export interface TransformResult {
  train: TimeFrame;
  test: TimeFrame;
  scaler: ScalerParams;
  report: TransformReport;
  /** Training columns more than half of whose distinct values, scaled, are one float32 value: processed all the same, warned about. */
  indistinct: IndistinctColumn[];
}

/** Rejects settings the pipeline cannot honour before any data is read. */
export function assertTransformSettings(settings: PreprocessSettings): void {
  if (settings.outliers.enabled) assertClipFactor(settings.outliers.method, settings.outliers.factor);
  parseAddConstant(settings.scaling.addConstant);
}

/** `remedy` names the settings that emptied the set, so the message says what to change. */
function assertNotEmpty(frame: TimeFrame, name: string, step: string, remedy: string): void {
  if (frame.time.length === 0) throw new FltsError('FLTS_DATA_EMPTY', `No ${name} rows left after ${step}: ${remedy}.`, { details: { set: name, step } });
}

/**
 * The reference's steps in its order (NaN handling, clipping, add constant, time features, lags, scaling),
 * except that everything learnt from data (imputation means, clip bounds, scaler) is learnt from the
 * training set only and applied unchanged to the test set.
 */
export function runTransformPipeline(rawTrain: TimeFrame, rawTest: TimeFrame, settings: PreprocessSettings): TransformResult {
  assertTransformSettings(settings);
  let train = rawTrain;
  let test = rawTest;
  const report: TransformReport = { droppedRows: { train: 0, test: 0 }, droppedColumns: [], imputedCells: { train: 0, test: 0 } };
  if (settings.handleNans.enabled) {
    if (settings.handleNans.dropRows) {
      train = dropSparseRows(train, settings.handleNans.threshold);
      test = dropSparseRows(test, settings.handleNans.threshold);
      report.droppedRows = { train: rawTrain.time.length - train.time.length, test: rawTest.time.length - test.time.length };
      const remedy = `every row has more than NANS_THRESHOLD = ${settings.handleNans.threshold} of its values missing; raise it, or keep the rows (NANS_DROP_ROWS=false) and impute them`;
      assertNotEmpty(train, 'training', 'dropping sparse rows', remedy);
      assertNotEmpty(test, 'test', 'dropping sparse rows', remedy);
    }
    const imputer = fitNanImputer(train);
    if (imputer.columns.length === 0) throw new FltsError('FLTS_DATA_NO_NUMERIC_COLUMNS', 'Every training column is empty.');
    const imputedTrain = applyNanImputer(train, imputer);
    const imputedTest = applyNanImputer(test, imputer);
    train = imputedTrain.frame;
    test = imputedTest.frame;
    report.droppedColumns = [...imputer.droppedColumns];
    report.imputedCells = { train: imputedTrain.imputedCells, test: imputedTest.imputedCells };
  }
  if (settings.outliers.enabled) {
    const bounds = fitClipBounds(train, settings.outliers.method, settings.outliers.factor);
    train = applyClipBounds(train, bounds);
    test = applyClipBounds(test, bounds);
  }
  const constant = parseAddConstant(settings.scaling.addConstant);
  if (constant !== undefined) {
    train = addConstant(train, constant);
    test = addConstant(test, constant);
  }
  if (settings.timeFeatures.enabled) {
    train = addTimeFeatures(train);
    test = addTimeFeatures(test);
  }
  if (settings.lags.enabled && settings.lags.nLags > 0) {
    const rows = { train: train.time.length, test: test.time.length };
    train = addLags(train, settings.lags.nLags, settings.lags.step);
    test = addLags(test, settings.lags.nLags, settings.lags.step);
    // Each set loses the rows whose farthest lag (LAGS_N x LAGS_STEP rows back) falls before its own first row.
    const reach = settings.lags.nLags * settings.lags.step;
    const remedy = (set: 'train' | 'test') => `its farthest lag reaches LAGS_N x LAGS_STEP = ${settings.lags.nLags} x ${settings.lags.step} = ${reach} rows back, and the set has ${rows[set]}; lower LAGS_N or LAGS_STEP, or sample more rows (${set === 'train' ? 'SAMPLE_TRAIN_ROWS' : 'SAMPLE_TEST_ROWS'}; 0 keeps all)`;
    assertNotEmpty(train, 'training', 'adding lags', remedy('train'));
    assertNotEmpty(test, 'test', 'adding lags', remedy('test'));
  }
  const scaler = settings.scaling.method === '' ? identityScaler(train.columns) : fitScaler(settings.scaling.method, train);
  assertScaledInRange(scaler, train, 'training');
  assertScaledInRange(scaler, test, 'test');
  // The training set only: the models learn from it, and a test set is scored on whatever it holds (a quiet period
  // far below a training burst, scaled, may be one float32 value and still be the period to score). A warning, not a
  // refusal: one glitch row in a site's counter would otherwise stop its whole preprocess and training.
  const indistinct = scaledIndistinct(scaler, train);
  return { train: applyScaler(scaler, train), test: applyScaler(scaler, test), scaler, report, indistinct };
}
