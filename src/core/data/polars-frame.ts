import { clip, listNames } from '../clip-text.js';
import type pl from 'nodejs-polars';
import { ANY_COLUMN, builtOnce, polars } from './polars-module.js';
import { FltsError } from '../errors.js';
import { ACCEPTED_TIMES, epochMsInRange, formatTimestamp, parseTimeColumn } from './timestamps.js';
import type { TimeFrame } from './time-frame.js';
import { describeTimeSteps, type TimeSteps } from './time-steps.js';

export const TIME_COLUMN = 'time';

export interface FromPolarsResult {
  frame: TimeFrame;
  /** Columns that are not numeric (some non-empty cell is not a number); they never reach the pipeline. */
  droppedColumns: string[];
  /** Rows folded into an earlier row with the same timestamp (rows read minus rows kept). */
  mergedRows: number;
  /** Cells that read as an infinity (`inf`, `1e400`) and were kept as missing instead. */
  infiniteCells: number;
  /** Rows whose time is earlier than the row before them, as read (the frame is sorted). */
  unorderedRows: number;
  /** The steps of the times kept (absent below two rows). */
  timeSteps?: TimeSteps;
}

/**
 * An infinite cell says nothing a model can use, and past the scaler it would turn every loss and metric
 * into NaN: it is read as missing, as an empty cell is, and counted.
 */
function infinitiesToMissing(values: Float64Array): { values: Float64Array; count: number } {
  let count = 0;
  for (const value of values) if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) count++;
  if (count === 0) return { values, count };
  return { values: values.map((value) => (Number.isFinite(value) ? value : Number.NaN)), count };
}

/** Text pandas reads as missing by default; polars leaves some of it null already. */
export const MISSING_TOKENS: ReadonlySet<string> = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

/**
 * Text cells as numbers, read the same way whichever reader produced the text (a comma CSV's column that did
 * not read as numbers, a semicolon or tab CSV, a Parquet string column): surrounding whitespace ignored ("5 "
 * is 5, as " 5" already was) and a missing-value token missing. A cell that is text before the cast and null
 * after it is not a number: the column is not numeric.
 */
function textToFloat64(series: pl.Series): pl.Series | undefined {
  const [kept, numeric] = series.alias(ANY_COLUMN).toFrame().select(...textToFloat64Expressions()).getColumns();
  return numeric.nullCount() === kept.nullCount() ? numeric.alias(series.name) : undefined;
}

/** The text kept (missing-value tokens as null) and its cast, read from any column (built once: `ANY_COLUMN`). */
const textToFloat64Expressions = builtOnce(() => {
  const text = polars().col(ANY_COLUMN).str.strip();
  const present = polars().when(text.isIn([...MISSING_TOKENS])).then(polars().lit(null)).otherwise(text);
  return [present.alias('text'), present.cast(polars().Float64, false).alias('number')];
});

const missingAsNaN = builtOnce(() => polars().col(ANY_COLUMN).fillNull(polars().lit(Number.NaN)));

const TEMPORAL: ReadonlySet<string> = new Set(['Datetime', 'Date', 'Time', 'Duration']);

function seriesToFloat64(series: pl.Series): Float64Array | undefined {
  let numeric = series;
  // A dictionary-encoded text column (Parquet written by pandas or pyarrow) is text too, read as text is.
  const categorical = series.dtype.variant === 'Categorical' || series.dtype.variant === 'Enum';
  if (series.dtype.equals(polars().Utf8) || series.dtype.equals(polars().String) || categorical) {
    const parsed = textToFloat64(categorical ? series.cast(polars().Utf8) : series);
    if (!parsed) return undefined;
    numeric = parsed;
  } else if (series.dtype.equals(polars().Bool) || TEMPORAL.has(series.dtype.variant)) {
    // A second date or time column is text in a CSV, dropped there; cast, a Parquet one would have become a
    // feature counted in microseconds or days since 1970.
    return undefined;
  } else if (!series.dtype.equals(polars().Float64)) {
    try {
      numeric = series.cast(polars().Float64, true);
    } catch {
      return undefined;
    }
  }
  if (numeric.nullCount() === 0) return numeric.toTypedArray() as Float64Array;
  // Missing cells become NaN inside polars: far cheaper than converting the column to a JS array.
  return numeric.alias(ANY_COLUMN).toFrame().select(missingAsNaN()).getColumns()[0].toTypedArray() as Float64Array;
}

/**
 * Times come as text (ISO, or an epoch number), as Parquet numbers (epoch times: text and requests follow the
 * same rule) or as Parquet dates and datetimes; any other type is refused whole, unconverted.
 */
function timeValues(series: pl.Series, source: string): unknown[] {
  const variant = series.dtype.variant;
  if (variant === 'Categorical' || variant === 'Enum') return series.cast(polars().Utf8).toArray();
  if (series.dtype.equals(polars().Utf8) || series.dtype.equals(polars().String)) return series.toArray();
  if (/^(U?Int\d+|Float\d+|Decimal)$/.test(variant)) {
    try {
      // Float64 holds any epoch time to well under a millisecond; an int64 would come back as a BigInt.
      return series.cast(polars().Float64, true).toArray();
    } catch {
      // a uint64 or decimal the cast cannot convert, refused below
    }
  }
  throw new FltsError('FLTS_DATA_INVALID_TIMESTAMPS', `${source}: column '${TIME_COLUMN}' holds values of type ${variant}, not dates and times; write times as ${ACCEPTED_TIMES}, or as a Parquet datetime.`, {
    details: { source, column: TIME_COLUMN, type: variant },
  });
}

const isMissing = (value: unknown): boolean => value === null || value === undefined;

/** A Parquet datetime is held to the years text can write (0000-9999), as a CSV's or a request's time is. */
function datetimesToEpochMs(raw: unknown[], source: string): Float64Array {
  const out = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const value = raw[i];
    if (!(value instanceof Date)) {
      throw new FltsError('FLTS_DATA_INVALID_TIMESTAMPS', `${source}: row ${i + 1} has no time (an empty cell).`, { details: { source, row: i + 1, value: null } });
    }
    out[i] = epochMsInRange(value.getTime());
    if (Number.isNaN(out[i])) {
      throw new FltsError('FLTS_DATA_INVALID_TIMESTAMPS', `${source}: row ${i + 1} has time ${formatTimestamp(value.getTime())}, outside years 0000-9999.`, {
        details: { source, row: i + 1, value: formatTimestamp(value.getTime()) },
      });
    }
  }
  return out;
}

function timeToEpochMs(series: pl.Series, source: string): Float64Array {
  const variant = series.dtype.variant;
  if (variant === 'Datetime' || variant === 'Date') return datetimesToEpochMs(series.toArray(), source);
  const { time, problem } = parseTimeColumn(timeValues(series, source));
  if (time) return time;
  const row = problem.index + 1;
  if (isMissing(problem.value)) throw new FltsError('FLTS_DATA_INVALID_TIMESTAMPS', `${source}: row ${row} has no time (an empty cell).`, { details: { source, row, value: null } });
  const value = String(problem.value);
  throw new FltsError('FLTS_DATA_INVALID_TIMESTAMPS', `${source}: row ${row} has time ${JSON.stringify(clip(value, 40))}: ${problem.reason}.`, { details: { source, row, value: clip(value, 40) } });
}

/**
 * Sorts rows by time when needed and merges rows that share a timestamp into one row, each cell the mean of
 * their values (blank cells left out): a series has one value per time, and a file exported twice over the
 * same minutes, or a repeated wall-clock hour, should train rather than be refused.
 */
function orderByTime(frame: TimeFrame): { frame: TimeFrame; mergedRows: number; unorderedRows: number } {
  const { time } = frame;
  let ordered = true;
  for (let i = 1; i < time.length && ordered; i++) ordered = time[i] > time[i - 1];
  if (ordered) return { frame, mergedRows: 0, unorderedRows: 0 };
  let unorderedRows = 0;
  for (let i = 1; i < time.length; i++) if (time[i] < time[i - 1]) unorderedRows++;
  // A stable sort keeps the file's order within one timestamp.
  const order = Array.from(time.keys()).sort((a, b) => time[a] - time[b] || a - b);
  const groupStarts: number[] = [];
  for (let i = 0; i < order.length; i++) if (i === 0 || time[order[i]] !== time[order[i - 1]]) groupStarts.push(i);
  groupStarts.push(order.length);
  const groups = groupStarts.length - 1;
  const mergedTime = Float64Array.from({ length: groups }, (_, g) => time[order[groupStarts[g]]]);
  const values: Record<string, Float64Array> = {};
  for (const column of frame.columns) {
    const source = frame.values[column];
    const merged = new Float64Array(groups);
    for (let g = 0; g < groups; g++) {
      let sum = 0;
      let count = 0;
      for (let i = groupStarts[g]; i < groupStarts[g + 1]; i++) {
        const value = source[order[i]];
        if (!Number.isNaN(value)) {
          sum += value;
          count += 1;
        }
      }
      merged[g] = count > 0 ? sum / count : Number.NaN;
    }
    values[column] = merged;
  }
  return { frame: { time: mergedTime, columns: frame.columns, values }, mergedRows: order.length - groups, unorderedRows };
}

/**
 * Some cell of the row is not empty, whichever columns the table has: built once, where one `col(name)` per column
 * cost more than the filter itself (and a name such as `^v$` was read by polars as a pattern, not as the name).
 */
const anyCellPresent = builtOnce(() => polars().anyHorizontal(polars().all().isNotNull()));

/** Rows with every cell empty (blank lines, a spreadsheet's trailing rows) carry nothing and are left out. */
function withoutBlankRows(df: pl.DataFrame): pl.DataFrame {
  if (df.getColumn(TIME_COLUMN).nullCount() === 0) return df;
  return df.filter(anyCellPresent());
}

/**
 * The value columns of a table wider than it is tall whose every column besides time is float64, read by row: a
 * Series handle per column costs about 2 ms and 100 kB to build, so 60 rows of 10 000 columns took most of a minute
 * to read, where one transposition of the float64 block (a copy of its values, the same to the bit) gives one handle
 * per row. Undefined for any other table, read column by column.
 */
function wideFloatColumns(df: pl.DataFrame): Float64Array[] | undefined {
  const rows = df.height;
  const count = df.width - 1;
  if (rows === 0 || count <= rows) return undefined;
  const types = df.dtypes;
  if (!df.columns.every((name, i) => name === TIME_COLUMN || types[i].equals(polars().Float64))) return undefined;
  // Nulls made NaN after the transposition: an expression over 10 000 columns took seconds, over the rows none.
  const byRow = df.drop(TIME_COLUMN).transpose().select(missingAsAnyNaN()).getColumns();
  const columns = Array.from({ length: count }, () => new Float64Array(rows));
  byRow.forEach((row, r) => {
    const cells = row.toTypedArray() as Float64Array;
    for (let c = 0; c < count; c++) columns[c][r] = cells[c];
  });
  return columns;
}

/** Every column's nulls as NaN, as missingAsNaN does for one column. */
const missingAsAnyNaN = builtOnce(() => polars().all().fillNull(polars().lit(Number.NaN)));

/** A polars table with a `time` column -> TimeFrame (numeric columns as float64, empty cells as NaN). */
export function timeFrameFromPolars(df: pl.DataFrame, source: string): FromPolarsResult {
  if (!df.columns.includes(TIME_COLUMN)) {
    // Names are matched exactly, as a request's are: 'Time' is named, not silently taken for 'time'.
    const near = df.columns.find((name) => name.trim().toLowerCase() === TIME_COLUMN);
    throw new FltsError('FLTS_DATA_MISSING_TIME_COLUMN', `${source}: no column labeled '${TIME_COLUMN}'${near === undefined ? '' : ` (names are matched exactly; there is ${JSON.stringify(near)})`} (columns: ${listNames(df.columns)}).`, {
      details: { source, columns: df.columns },
      ...(near === undefined ? {} : { hint: `Rename the column ${JSON.stringify(near)} to '${TIME_COLUMN}'.` }),
    });
  }
  const kept = withoutBlankRows(df);
  const wide = wideFloatColumns(kept);
  // getColumns() once: every polars Series handle is a costly object to build.
  const series = wide ? [kept.getColumn(TIME_COLUMN)] : kept.getColumns();
  const time = timeToEpochMs(wide ? series[0] : series[df.columns.indexOf(TIME_COLUMN)], source);
  const columns: string[] = [];
  const droppedColumns: string[] = [];
  const values: Record<string, Float64Array> = {};
  let infiniteCells = 0;
  const read: Array<{ name: string; column: () => Float64Array | undefined }> = wide
    ? kept.columns.filter((name) => name !== TIME_COLUMN).map((name, c) => ({ name, column: () => wide[c] }))
    : series.map((item) => ({ name: item.name, column: () => seriesToFloat64(item) }));
  for (const { name, column: readColumn } of read) {
    if (name === TIME_COLUMN) continue;
    // A column with no name (a spreadsheet's or pandas' row index) cannot be asked for by name in a request.
    const column = name.trim() === '' ? undefined : readColumn();
    if (column) {
      const finite = infinitiesToMissing(column);
      columns.push(name);
      values[name] = finite.values;
      infiniteCells += finite.count;
    } else {
      droppedColumns.push(name);
    }
  }
  if (columns.length === 0) {
    throw new FltsError('FLTS_DATA_NO_NUMERIC_COLUMNS', `${source}: no numeric column besides '${TIME_COLUMN}'.`, { details: { source, droppedColumns } });
  }
  const { frame, mergedRows, unorderedRows } = orderByTime({ time, columns, values });
  return { frame, droppedColumns, mergedRows, infiniteCells, unorderedRows, ...(frame.time.length >= 2 ? { timeSteps: describeTimeSteps(frame.time) } : {}) };
}

/** TimeFrame -> polars table: `time` first as Datetime(ms), then the float64 columns in order. */
export function timeFrameToPolars(frame: TimeFrame): pl.DataFrame {
  const time = polars().Series(TIME_COLUMN, frame.time, polars().Float64).cast(polars().Int64).cast(polars().Datetime('ms'));
  const rows = frame.time.length;
  if (rows > 0 && frame.columns.length > rows) {
    const wide = valuesByRow(frame);
    wide.insertAtIdx(0, time);
    return wide;
  }
  return polars().DataFrame([time, ...frame.columns.map((column) => polars().Series(column, frame.values[column], polars().Float64))]);
}

/**
 * The value columns of a frame wider than it is tall, built as one series per row and transposed: a series handle
 * costs about half a millisecond and 100 kB to build (5000 columns took 2.6 s and 450 MB), and a transposition of
 * float64 columns is a copy of their values, the same table to the bit.
 */
function valuesByRow(frame: TimeFrame): pl.DataFrame {
  const { columns, values } = frame;
  const byRow = Array.from({ length: frame.time.length }, (_, row) => {
    const cells = new Float64Array(columns.length);
    for (let c = 0; c < columns.length; c++) cells[c] = values[columns[c]][row];
    return polars().Series(`${row}`, cells, polars().Float64);
  });
  return polars().DataFrame(byRow).transpose({ columnNames: [...columns] });
}
