import pl from 'nodejs-polars';
import { FltsError } from '../errors.js';
import { parseNaiveTimestamp } from './timestamps.js';
import type { TimeFrame } from './time-frame.js';

export const TIME_COLUMN = 'time';

export interface FromPolarsResult {
  frame: TimeFrame;
  /** Columns that are not numeric (some non-empty cell is not a number); they never reach the pipeline. */
  droppedColumns: string[];
}

function seriesToFloat64(series: pl.Series): Float64Array | undefined {
  let numeric = series;
  if (series.dtype.equals(pl.Utf8) || series.dtype.equals(pl.String)) {
    numeric = series.cast(pl.Float64, false);
    // A cell that was text before the cast and null after it is not a number: the column is not numeric.
    if (numeric.nullCount() !== series.nullCount()) return undefined;
  } else if (series.dtype.equals(pl.Bool)) {
    return undefined;
  } else if (!series.dtype.equals(pl.Float64)) {
    try {
      numeric = series.cast(pl.Float64, true);
    } catch {
      return undefined;
    }
  }
  if (numeric.nullCount() === 0) return numeric.toTypedArray() as Float64Array;
  // Missing cells become NaN inside polars: far cheaper than converting the column to a JS array.
  return numeric.toFrame().select(pl.col(numeric.name).fillNull(pl.lit(Number.NaN))).getColumns()[0].toTypedArray() as Float64Array;
}

function timeToEpochMs(series: pl.Series, source: string): Float64Array {
  const raw = series.toArray() as unknown[];
  const out = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const value = raw[i];
    const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? parseNaiveTimestamp(value) : Number.NaN;
    if (!Number.isFinite(ms)) {
      throw new FltsError('FLTS_DATA_INVALID_TIMESTAMPS', `${source}: row ${i + 1} has time ${JSON.stringify(value)}, expected "YYYY-MM-DD HH:MM:SS".`, {
        details: { source, row: i + 1, value: String(value) },
      });
    }
    out[i] = ms;
  }
  return out;
}

/** Sorts rows by time when needed and rejects duplicate timestamps, which no forecast can place. */
function orderByTime(frame: TimeFrame, source: string): TimeFrame {
  const { time } = frame;
  let sorted = true;
  for (let i = 1; i < time.length && sorted; i++) sorted = time[i] > time[i - 1];
  const order = sorted ? undefined : Array.from(time.keys()).sort((a, b) => time[a] - time[b]);
  const sortedTime = order ? Float64Array.from(order, (i) => time[i]) : time;
  for (let i = 1; i < sortedTime.length; i++) {
    if (sortedTime[i] === sortedTime[i - 1]) {
      const stamp = new Date(sortedTime[i]).toISOString().slice(0, 19).replace('T', ' ');
      throw new FltsError('FLTS_DATA_INVALID_TIMESTAMPS', `${source}: timestamp ${stamp} appears more than once; timestamps must be unique.`, {
        details: { source, timestamp: stamp },
      });
    }
  }
  if (!order) return frame;
  const values: Record<string, Float64Array> = {};
  for (const column of frame.columns) values[column] = Float64Array.from(order, (i) => frame.values[column][i]);
  return { time: sortedTime, columns: frame.columns, values };
}

/** A polars table with a `time` column -> TimeFrame (numeric columns as float64, empty cells as NaN). */
export function timeFrameFromPolars(df: pl.DataFrame, source: string): FromPolarsResult {
  if (!df.columns.includes(TIME_COLUMN)) {
    throw new FltsError('FLTS_DATA_MISSING_TIME_COLUMN', `${source}: no column labeled '${TIME_COLUMN}' (columns: ${df.columns.join(', ')}).`, {
      details: { source, columns: df.columns },
    });
  }
  // getColumns() once: every polars Series handle is a costly object to build.
  const series = df.getColumns();
  const time = timeToEpochMs(series[df.columns.indexOf(TIME_COLUMN)], source);
  const columns: string[] = [];
  const droppedColumns: string[] = [];
  const values: Record<string, Float64Array> = {};
  for (const item of series) {
    const name = item.name;
    if (name === TIME_COLUMN) continue;
    const column = seriesToFloat64(item);
    if (column) {
      columns.push(name);
      values[name] = column;
    } else {
      droppedColumns.push(name);
    }
  }
  if (columns.length === 0) {
    throw new FltsError('FLTS_DATA_NO_NUMERIC_COLUMNS', `${source}: no numeric column besides '${TIME_COLUMN}'.`, { details: { source, droppedColumns } });
  }
  return { frame: orderByTime({ time, columns, values }, source), droppedColumns };
}

/** TimeFrame -> polars table: `time` first as Datetime(ms), then the float64 columns in order. */
export function timeFrameToPolars(frame: TimeFrame): pl.DataFrame {
  const time = pl.Series(TIME_COLUMN, frame.time, pl.Float64).cast(pl.Int64).cast(pl.Datetime('ms'));
  return pl.DataFrame([time, ...frame.columns.map((column) => pl.Series(column, frame.values[column], pl.Float64))]);
}
