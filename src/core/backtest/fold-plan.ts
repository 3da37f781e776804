import { FltsError } from '../errors.js';

export interface FoldPlanInput {
  /** Index of the first row of the test period in the combined (train + test) series. */
  firstTestRow: number;
  totalRows: number;
  horizon: number;
  stride: number;
  /** 0 = as many as fit. */
  folds: number;
}

/**
 * Fold origins (row index of each fold's first forecast row), oldest first. As in neuralforecast's
 * cross_validation, the last fold ends at the last row and earlier folds step back by `stride`; every origin
 * lies in the test period, so the input window before it may reach back into the training data but every
 * forecast row is held out.
 */
export function planFoldOrigins(input: FoldPlanInput): number[] {
  const { firstTestRow, totalRows, horizon, stride, folds } = input;
  const lastOrigin = totalRows - horizon;
  const testRows = totalRows - firstTestRow;
  if (lastOrigin < firstTestRow) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `backtest.horizon ${horizon} is longer than the test period (${testRows} rows).`, {
      details: { setting: 'backtest.horizon', horizon, testRows },
    });
  }
  const fitting = Math.floor((lastOrigin - firstTestRow) / stride) + 1;
  if (folds > fitting) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `backtest.folds ${folds} do not fit in the test period: ${testRows} rows hold at most ${fitting} folds of horizon ${horizon} with stride ${stride}.`, {
      details: { setting: 'backtest.folds', folds, fitting, testRows, horizon, stride },
    });
  }
  const count = folds > 0 ? folds : fitting;
  return Array.from({ length: count }, (_, k) => lastOrigin - (count - 1 - k) * stride);
}
