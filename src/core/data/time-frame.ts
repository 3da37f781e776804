/**
 * The in-memory shape of a time series everywhere in flts: one timestamp column (epoch milliseconds,
 * naive wall-clock time read as UTC) and named float columns of the same length.
 */
export interface TimeFrame {
  readonly time: Float64Array;
  readonly columns: readonly string[];
  readonly values: Readonly<Record<string, Float64Array>>;
}

export function frameRowCount(frame: TimeFrame): number {
  return frame.time.length;
}

export function selectRows(frame: TimeFrame, start: number, end = frame.time.length): TimeFrame {
  const values: Record<string, Float64Array> = {};
  for (const column of frame.columns) values[column] = frame.values[column].slice(start, end);
  return { time: frame.time.slice(start, end), columns: frame.columns, values };
}

export function selectColumns(frame: TimeFrame, columns: readonly string[]): TimeFrame {
  const values: Record<string, Float64Array> = {};
  for (const column of columns) values[column] = frame.values[column];
  return { time: frame.time, columns: [...columns], values };
}

/** Row-major copy of the given columns, the layout models consume. */
export function toRowMajor(frame: TimeFrame, columns: readonly string[], start = 0, end = frame.time.length): Float32Array {
  const width = columns.length;
  const out = new Float32Array((end - start) * width);
  columns.forEach((column, c) => {
    const source = frame.values[column];
    for (let row = start; row < end; row++) out[(row - start) * width + c] = source[row];
  });
  return out;
}
