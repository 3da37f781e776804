import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';
import { assertStrictlyIncreasing, detectCadence, parseTimestamp } from './timestamps.js';

const TIMESTAMP_CANDIDATES = ['ts', 'timestamp', 'time', 'date'];

export interface RequestSeries {
  /** The raw columns the model needs, in original units, time-ordered. */
  readonly frame: TimeFrame;
  readonly cadenceMs: number;
  readonly timestampColumn: string;
}

function invalid(message: string, details: Record<string, unknown> = {}): FltsError {
  return new FltsError('FLTS_REQUEST_INVALID', message, { details });
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

function findTimestampColumn(data: Record<string, unknown>, indexCol: string | undefined): string {
  if (indexCol !== undefined) {
    if (!(indexCol in data)) throw invalid(`index_col '${indexCol}' is not a column of 'data' (columns: ${Object.keys(data).join(', ')}).`, { index_col: indexCol });
    return indexCol;
  }
  const found = TIMESTAMP_CANDIDATES.find((name) => name in data);
  if (!found) throw invalid("Request must include a timestamp column (index_col or ts/time/timestamp/date).");
  return found;
}

/**
 * Validates the reference's column-oriented `data` object and returns the needed columns as a frame. Every
 * problem is an FLTS_REQUEST_INVALID (HTTP 400) naming the column and row, never a failure deeper in.
 */
export function parseRequestSeries(data: unknown, requiredColumns: readonly string[], minRows: number, indexCol?: string): RequestSeries {
  if (data === null || typeof data !== 'object' || Array.isArray(data) || Object.keys(data).length === 0) {
    throw invalid("Request payload must include a non-empty 'data' object (column name -> array of values).");
  }
  const columns = data as Record<string, unknown>;
  const notArrays = Object.keys(columns).filter((name) => !Array.isArray(columns[name]));
  if (notArrays.length > 0) throw invalid(`Columns must be arrays of values: ${notArrays.join(', ')}.`, { columns: notArrays });
  const lengths = new Set(Object.values(columns).map((values) => (values as unknown[]).length));
  if (lengths.size > 1) {
    const shown = Object.entries(columns).map(([name, values]) => `${name}=${(values as unknown[]).length}`);
    throw invalid(`Columns have different lengths: ${shown.join(', ')}.`);
  }
  const rows = [...lengths][0];
  if (rows === 0) throw invalid('Request data must include at least one row.');

  const timestampColumn = findTimestampColumn(columns, indexCol);
  const rawTimes = columns[timestampColumn] as unknown[];
  const time = new Float64Array(rows);
  for (let row = 0; row < rows; row++) {
    time[row] = parseTimestamp(rawTimes[row]);
    if (Number.isNaN(time[row])) throw invalid(`Column '${timestampColumn}' contains an invalid timestamp at row ${row}: ${describe(rawTimes[row])}.`, { column: timestampColumn, row });
  }

  const missing = requiredColumns.filter((name) => !(name in columns));
  if (missing.length > 0) throw invalid(`Missing required feature columns: ${missing.join(', ')}.`, { missing });
  const nonNumeric = requiredColumns.filter((name) => (columns[name] as unknown[]).some((v) => v !== null && typeof v !== 'number'));
  if (nonNumeric.length > 0) throw invalid(`Columns contain non-numeric values: ${nonNumeric.join(', ')}.`, { columns: nonNumeric });
  const values: Record<string, Float64Array> = {};
  for (const name of requiredColumns) {
    const source = columns[name] as Array<number | null>;
    const row = source.findIndex((v) => v === null || !Number.isFinite(v));
    if (row >= 0) throw invalid(`Column '${name}' has a null, NaN or infinite value at row ${row}; every feature value must be a finite number.`, { column: name, row });
    values[name] = Float64Array.from(source as number[]);
  }

  const needed = Math.max(minRows, 2);
  if (rows < needed) throw invalid(`Too few rows: ${rows} given, the model needs at least ${needed} (its input window of ${minRows}, and two timestamps to know the step).`, { rows, needed });
  assertStrictlyIncreasing(time, timestampColumn);
  return { frame: { time, columns: [...requiredColumns], values }, cadenceMs: detectCadence(time), timestampColumn };
}
