import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';
import { assertStrictlyIncreasing, detectCadence, parseTimestamp } from '../data/timestamps.js';

const TIMESTAMP_CANDIDATES = ['ts', 'timestamp', 'time', 'date'];

export interface RequestSeries {
  /** The raw columns the model needs, in original units, time-ordered. */
  readonly frame: TimeFrame;
  readonly cadenceMs: number;
  readonly timestampColumn: string;
}

const EMPTY_DATA = "Request payload must include a non-empty 'data' object (column name -> array of values).";

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
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw invalid(EMPTY_DATA);
  const columns = data as Record<string, unknown>;
  const names = Object.keys(columns);
  if (names.length === 0) throw invalid(EMPTY_DATA);
  let rows = -1;
  let sameLength = true;
  const notArrays: string[] = [];
  for (const name of names) {
    const values = columns[name];
    if (!Array.isArray(values)) notArrays.push(name);
    else if (rows < 0) rows = values.length;
    else if (values.length !== rows) sameLength = false;
  }
  if (notArrays.length > 0) throw invalid(`Columns must be arrays of values: ${notArrays.join(', ')}.`, { columns: notArrays });
  if (!sameLength) {
    const shown = names.map((name) => `${name}=${(columns[name] as unknown[]).length}`);
    throw invalid(`Columns have different lengths: ${shown.join(', ')}.`);
  }
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
  const values: Record<string, Float64Array> = {};
  const nonNumeric: string[] = [];
  let notFinite: { column: string; row: number } | undefined;
  for (const name of requiredColumns) {
    const source = columns[name] as unknown[];
    const out = new Float64Array(rows);
    for (let row = 0; row < rows; row++) {
      const value = source[row];
      if (typeof value === 'number' && Number.isFinite(value)) out[row] = value;
      else if (value !== null && typeof value !== 'number') {
        nonNumeric.push(name);
        break;
      } else notFinite ??= { column: name, row };
    }
    values[name] = out;
  }
  if (nonNumeric.length > 0) throw invalid(`Columns contain non-numeric values: ${nonNumeric.join(', ')}.`, { columns: nonNumeric });
  if (notFinite) throw invalid(`Column '${notFinite.column}' has a null, NaN or infinite value at row ${notFinite.row}; every feature value must be a finite number.`, notFinite);

  const needed = Math.max(minRows, 2);
  if (rows < needed) throw invalid(`Too few rows: ${rows} given, the model needs at least ${needed} (its input window of ${minRows}, and two timestamps to know the step).`, { rows, needed });
  assertStrictlyIncreasing(time, timestampColumn);
  return { frame: { time, columns: [...requiredColumns], values }, cadenceMs: detectCadence(time), timestampColumn };
}
