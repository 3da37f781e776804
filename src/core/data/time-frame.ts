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

/** Builds a frame from plain arrays (copied to Float64Array), e.g. rows of a request or a test fixture. */
export function timeFrameFromColumns(values: Readonly<Record<string, ArrayLike<number>>>, time: ArrayLike<number>): TimeFrame {
  const columns = Object.keys(values);
  return { time: Float64Array.from(time), columns, values: Object.fromEntries(columns.map((column) => [column, Float64Array.from(values[column])])) };
}

/** `count` timestamps from `startMs`, `stepMs` apart. */
export function regularTimes(count: number, startMs: number, stepMs: number): Float64Array {
  return Float64Array.from({ length: count }, (_, i) => startMs + i * stepMs);
}
