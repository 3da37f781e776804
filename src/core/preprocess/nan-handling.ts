import type { TimeFrame } from '../data/time-frame.js';

/** Column means of the training data; the same values fill gaps in train and test. */
export interface NanImputer {
  readonly columns: readonly string[];
  readonly fill: readonly number[];
  /** Columns with no value at all in the training data: nothing to learn from, dropped from both sets. */
  readonly droppedColumns: readonly string[];
}

function finiteCount(values: Float64Array): number {
  let count = 0;
  for (const v of values) if (!Number.isNaN(v)) count++;
  return count;
}

/**
 * Keeps rows with at least ceil(ncols * (1 - threshold)) values, the reference's `drop_rows` rule (same
 * floating-point arithmetic as Python, so the same rows go).
 */
export function dropSparseRows(frame: TimeFrame, threshold: number): TimeFrame {
  const required = Math.ceil(frame.columns.length * (1 - threshold));
  const keep: number[] = [];
  for (let row = 0; row < frame.time.length; row++) {
    let present = 0;
    for (const column of frame.columns) if (!Number.isNaN(frame.values[column][row])) present++;
    if (present >= required) keep.push(row);
  }
  if (keep.length === frame.time.length) return frame;
  const values: Record<string, Float64Array> = {};
  for (const column of frame.columns) values[column] = Float64Array.from(keep, (row) => frame.values[column][row]);
  return { time: Float64Array.from(keep, (row) => frame.time[row]), columns: frame.columns, values };
}

/**
 * With one feature the reference's KNNImputer fills the column mean; the mean here comes from the
 * training data only, so test gaps are filled with what the model saw, not with test statistics.
 */
export function fitNanImputer(train: TimeFrame): NanImputer {
  const columns: string[] = [];
  const fill: number[] = [];
  const droppedColumns: string[] = [];
  for (const column of train.columns) {
    const values = train.values[column];
    const present = finiteCount(values);
    if (present === 0) {
      droppedColumns.push(column);
      continue;
    }
    let sum = 0;
    for (const v of values) if (!Number.isNaN(v)) sum += v;
    columns.push(column);
    fill.push(sum / present);
  }
  return { columns, fill, droppedColumns };
}

export function applyNanImputer(frame: TimeFrame, imputer: NanImputer): { frame: TimeFrame; imputedCells: number } {
  let imputedCells = 0;
  const values: Record<string, Float64Array> = {};
  imputer.columns.forEach((column, i) => {
    const source = frame.values[column];
    const gaps = source.length - finiteCount(source);
    if (gaps === 0) {
      values[column] = source;
      return;
    }
    imputedCells += gaps;
    values[column] = Float64Array.from(source, (v) => (Number.isNaN(v) ? imputer.fill[i] : v));
  });
  return { frame: { time: frame.time, columns: [...imputer.columns], values }, imputedCells };
}
