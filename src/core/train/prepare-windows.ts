import { listNames } from '../clip-text.js';
import { FltsError } from '../errors.js';
import type { WindowSpec } from '../models/forecast-model.js';
import { buildWindows, prependHistory, sliceWindows, type WindowSet } from '../forecast/windows.js';
import type { ProcessedData } from '../preprocess/processed-data.js';
import type { TimeFrame } from '../data/time-frame.js';

export interface PreparedWindows {
  /** Training windows minus the validation tail. */
  fit: WindowSet;
  /** The chronologically last `validationSplit` share of the training windows (early stopping). */
  validation: WindowSet;
  /** One window per test row: the last inputSeqLen training rows are prepended as history. */
  test: WindowSet;
}

/**
 * A real chronological hold-out: fit on the start of the training data, stop early on its tail, and report
 * on the processed test file, which no model ever sees while fitting.
 */
export function prepareWindows(data: ProcessedData, spec: WindowSpec, validationSplit: number): PreparedWindows {
  const missing = missingTargets(data, spec.targets);
  if (missing) throw missing;
  return { ...fitAndValidationWindows(data.train, spec, validationSplit), test: testWindows(data, spec) };
}

/** The error of forecast targets that are not processed columns, or undefined when every one is. */
export function missingTargets(data: Pick<ProcessedData, 'columns'>, targets: readonly string[]): FltsError | undefined {
  const missing = targets.filter((target) => !data.columns.includes(target));
  if (missing.length === 0) return undefined;
  return new FltsError('FLTS_MODEL_TARGET_MISSING', `Target(s) ${listNames(missing)} not among the processed columns (${listNames(data.columns)}).`, {
    details: { missing, columns: data.columns },
  });
}

/** The windows of a series, split chronologically: the fitted head and the `validationSplit` tail that stops fitting early. */
export function fitAndValidationWindows(series: TimeFrame, spec: WindowSpec, validationSplit: number): Pick<PreparedWindows, 'fit' | 'validation'> {
  const all = buildWindows(series, spec);
  const validationSize = Math.max(1, Math.floor(all.size * validationSplit));
  if (all.size - validationSize < 1) {
    throw new FltsError('FLTS_MODEL_TOO_FEW_ROWS', `${series.time.length} training rows leave no windows to fit after the validation split.`, {
      details: { rows: series.time.length, windows: all.size, validationSize },
    });
  }
  return { fit: sliceWindows(all, 0, all.size - validationSize, spec), validation: sliceWindows(all, all.size - validationSize, all.size, spec) };
}

/** One window per processed test row, the last inputSeqLen training rows prepended as its history. */
export function testWindows(data: ProcessedData, spec: WindowSpec): WindowSet {
  const history = Math.min(spec.inputSeqLen, data.train.time.length);
  return buildWindows(prependHistory(data.train, data.test, history), spec, history);
}
