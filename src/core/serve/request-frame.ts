import type { TimeFrame } from '../data/time-frame.js';
import { clip, LISTED_NAMES, listNames, quotedText, shownText } from '../clip-text.js';
import { IDENTIFIER_PATTERN, identifierProblem } from '../config/specs/runtime.js';
import { FltsError } from '../errors.js';
import { describeTimeSteps, type TimeSteps } from '../data/time-steps.js';
import { assertStrictlyIncreasing, detectCadence, formatTimestamp, timeColumnReader, type TimeColumnProblem } from '../data/timestamps.js';
import { nextTurn, rowsInTurns, turnSpent } from '../loop-turns.js';

const TIMESTAMP_CANDIDATES = ['ts', 'timestamp', 'time', 'date'];

export interface RequestSeries {
  /** The raw columns the model needs, in original units, time-ordered. */
  readonly frame: TimeFrame;
  readonly cadenceMs: number;
  readonly timestampColumn: string;
  /** Gaps and shorter steps among the rows the model reads (its input window): forecast all the same, with a warning. */
  readonly timeSteps: TimeSteps;
}

const EMPTY_DATA = "Request payload must include a non-empty 'data' object (column name -> array of values).";

function invalid(message: string, details: Record<string, unknown> = {}): FltsError {
  return new FltsError('FLTS_REQUEST_INVALID', message, { details });
}

/** A short, bounded description of a request value: never recurses, so any nesting depth is safe to name. */
function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value !== null && typeof value === 'object') return 'an object';
  const text = typeof value === 'string' ? quotedText(clip(value, 40)) : String(value);
  return text;
}

/**
 * A request's series identifier (a /predict or /actuals body's `identifier`, an inference request's `identifier`
 * parameter), held to the deployment identifier's rule, the one rule for an identifier wherever it arrives from (a
 * claim's is held to it too): it names a series as the deployment's names its scope, and a "/", "..", a line break, a
 * U+202E or a U+200B made a series no deployment could be, or one that shows as another. `where` names it as the
 * message does ("Field 'identifier'"); the value is shown escaped and clipped, then what is wrong with it. `deployment`,
 * the deployment's identifier, is taken as it is.
 */
export function assertRequestIdentifier(value: string | undefined, where: string, details: Record<string, unknown>, deployment?: string): void {
  // The deployment's own identifier, which its setting may have taken with a warning (identifierLookalike), names no new series.
  const problem = value === undefined || value === deployment ? undefined : identifierProblem(value);
  if (value === undefined || problem === undefined) return;
  throw invalid(`${where} must be ${IDENTIFIER_PATTERN.text}; got ${quotedText(clip(value))}: it ${problem}.`, details);
}

/**
 * The series a request's rows belong to: the identifier it names, else the deployment's. "" names none, as leaving the
 * field out does: filed as it was sent, it put a site-a deployment's rows under the global scope's series, which
 * that deployment's answers, its live scoring and its actuals otherwise never name.
 */
export function requestSeries(identifier: string | undefined, deployment: string): string {
  return identifier === undefined || identifier === '' ? deployment : identifier;
}

function findTimestampColumn(data: Record<string, unknown>, indexCol: string | undefined): string {
  if (indexCol !== undefined) {
    if (!Object.hasOwn(data, indexCol)) throw invalid(`index_col '${shownText(clip(indexCol, 60))}' is not a column of 'data' (columns: ${listNames(Object.keys(data))}).`);
    return indexCol;
  }
  const found = TIMESTAMP_CANDIDATES.find((name) => Object.hasOwn(data, name));
  if (!found) throw invalid("Request must include a timestamp column (index_col or ts/time/timestamp/date).");
  return found;
}

interface ColumnTable {
  columns: Record<string, unknown>;
  rows: number;
  time: Float64Array;
  timestampColumn: string;
}

type ColumnShape = Omit<ColumnTable, 'time'>;

/** The column-oriented `data` object checked for shape: arrays of one length, and a timestamp column. */
function readColumnShape(data: unknown, indexCol: string | undefined): ColumnShape {
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
  if (notArrays.length > 0) throw invalid(`Columns must be arrays of values: ${listNames(notArrays)}.`, { columns: notArrays.slice(0, LISTED_NAMES) });
  if (!sameLength) {
    throw invalid(`Columns have different lengths: ${listNames(names.map((name) => `${name}=${(columns[name] as unknown[]).length}`))}.`);
  }
  if (rows === 0) throw invalid('Request data must include at least one row.');
  assertNoCaseTwins(names);
  return { columns, rows, timestampColumn: findTimestampColumn(columns, indexCol) };
}

/**
 * Columns whose names differ only in case (`Down` beside `down`) are refused, as the data readers refuse them in a file:
 * the server reads the one spelled as the run's feature or target and dropped the other without a word, so a client
 * whose values sat under the other spelling got a forecast of, or a live score against, the values it did not mean.
 */
function assertNoCaseTwins(names: readonly string[]): void {
  if (names.length < 2) return;
  const seen = new Map<string, string>();
  for (const name of names) {
    const folded = name.toLowerCase();
    const other = seen.get(folded);
    if (other !== undefined) {
      throw invalid(`Columns '${shownText(clip(other, 60))}' and '${shownText(clip(name, 60))}' of 'data' differ only in case; which one is meant cannot be told: send one of them.`, { columns: [clip(other, 60), clip(name, 60)] });
    }
    seen.set(folded, name);
  }
}

function timestampProblem(timestampColumn: string, problem: TimeColumnProblem): FltsError {
  const column = clip(timestampColumn, 60);
  return invalid(`Column '${shownText(column)}' contains an invalid timestamp at row ${problem.index}: ${describe(problem.value)}, ${problem.reason}.`, { column, row: problem.index });
}

/** Rows whose timestamps are parsed between two looks at the event loop's turn (`turnSpent`). */
const ROWS_PER_LOOK = 2048;

/** The column-oriented `data` object checked for shape, its timestamps parsed over event-loop turns: those of a body of 200k rows took 100 ms and more in one. */
async function readColumnTableInTurns(data: unknown, indexCol: string | undefined): Promise<ColumnTable> {
  const shape = readColumnShape(data, indexCol);
  const reader = timeColumnReader(shape.columns[shape.timestampColumn] as unknown[]);
  await rowsInTurns(shape.rows, ROWS_PER_LOOK, (to) => {
    const problem = reader.read(to);
    if (problem) throw timestampProblem(shape.timestampColumn, problem);
  });
  return { ...shape, time: reader.time };
}

/**
 * Numeric columns as Float64Array; `null` becomes NaN, a missing value where allowed (actuals). A number past ±1.8e308
 * (1e309 is Infinity once parsed) is refused either way: as a missing actual it would be left unscored without a word.
 */
function readNumericColumns(table: ColumnTable, names: readonly string[], allowMissing: boolean): Record<string, Float64Array> {
  const { columns, rows } = table;
  const values: Record<string, Float64Array> = {};
  const nonNumeric: string[] = [];
  let notFinite: { column: string; row: number } | undefined;
  let infinite: { column: string; row: number } | undefined;
  // One allocation for all columns (each a view of its own range): a request reads many short columns, and a
  // typed array of its own costs each of them a native allocation and a free.
  const block = new Float64Array(rows * names.length);
  for (let c = 0; c < names.length; c++) {
    const name = names[c];
    const source = columns[name] as unknown[];
    const out = block.subarray(c * rows, (c + 1) * rows);
    for (let row = 0; row < rows; row++) {
      const value = source[row];
      if (typeof value === 'number' && Number.isFinite(value)) out[row] = value;
      else if (value !== null && typeof value !== 'number') {
        nonNumeric.push(name);
        break;
      } else {
        out[row] = Number.NaN;
        notFinite ??= { column: name, row };
        if (value !== null) infinite ??= { column: name, row };
      }
    }
    values[name] = out;
  }
  if (nonNumeric.length > 0) throw invalid(`Columns contain non-numeric values: ${listNames(nonNumeric)}.`, { columns: nonNumeric });
  if (infinite && allowMissing) {
    throw invalid(`Column '${infinite.column}' has an infinite value at row ${infinite.row} (a number beyond ±1.8e308); every value must be a finite number, or null for a missing one.`, infinite);
  }
  if (notFinite && !allowMissing) throw invalid(`Column '${notFinite.column}' has a null, NaN or infinite value at row ${notFinite.row}; every feature value must be a finite number.`, notFinite);
  return values;
}

/** Rows a request needs for a model with this input window: the window, and two timestamps to know the step. */
export function requestRowsNeeded(inputSeqLen: number): number {
  return Math.max(inputSeqLen, 2);
}

/**
 * Validates the reference's column-oriented `data` object and returns the needed columns as a frame. Every problem is
 * an FLTS_REQUEST_INVALID (HTTP 400) naming the column and row, never a failure deeper in. The timestamps are parsed
 * over event-loop turns, as POST /actuals parses them: those of a /predict body of the size limit (280k rows) held
 * every other request for 220 ms in one turn, twice what refusing the same body once parsed costs
 * (bench/serve-stalls.mjs `limit`; 72 ms in turns). Rows keep no bound of their own but the body limit
 * (docs/security.md).
 */
export async function parseRequestSeriesInTurns(data: unknown, requiredColumns: readonly string[], minRows: number, indexCol?: string): Promise<RequestSeries> {
  const table = await readColumnTableInTurns(data, indexCol);
  if (turnSpent()) await nextTurn();
  return seriesOfTable(table, requiredColumns, minRows);
}

function seriesOfTable(table: ColumnTable, requiredColumns: readonly string[], minRows: number): RequestSeries {
  const { rows, time, timestampColumn } = table;
  const missing = requiredColumns.filter((name) => !Object.hasOwn(table.columns, name));
  if (missing.length > 0) throw invalid(`Missing required feature columns: ${listNames(missing)}.`, { missing });
  const values = readNumericColumns(table, requiredColumns, false);
  const needed = requestRowsNeeded(minRows);
  if (rows < needed) throw invalid(`Too few rows: ${rows} given, the model needs at least ${needed} (its input window of ${minRows}, and two timestamps to know the step).`, { rows, needed });
  // The name is only quoted in the error; index_col can make it a name of any length.
  assertStrictlyIncreasing(time, clip(timestampColumn, 60));
  const cadenceMs = detectCadence(time);
  return { frame: { time, columns: [...requiredColumns], values }, cadenceMs, timestampColumn, timeSteps: describeTimeSteps(time, cadenceMs, rows - needed) };
}

/**
 * Observed values in the same column format as a request: a timestamp column (named in `timestampColumn`) and at
 * least one of the target columns. Any number of rows; a null value is a missing actual (that point is not scored). Parsed over
 * event-loop turns (`turnSpent`), so a body of the size limit leaves other requests answered meanwhile.
 */
export async function parseActuals(data: unknown, targets: readonly string[], indexCol?: string): Promise<TimeFrame & { timestampColumn: string }> {
  const table = await readColumnTableInTurns(data, indexCol);
  const present = targets.filter((name) => Object.hasOwn(table.columns, name) && name !== table.timestampColumn);
  if (present.length === 0) throw invalid(`Actuals must include at least one forecast column: ${listNames(targets)}.`, { targets: targets.slice(0, LISTED_NAMES) });
  // Rows may come in any order, but one time has one observed value: which of two would score is arbitrary.
  const sorted = Float64Array.from(table.time).sort();
  const repeated = sorted.findIndex((time, i) => i > 0 && time === sorted[i - 1]);
  if (repeated > 0) throw invalid(`Actuals repeat the timestamp ${formatTimestamp(sorted[repeated])}; send one value per time.`, { timestamp: formatTimestamp(sorted[repeated]) });
  if (turnSpent()) await nextTurn();
  return { time: table.time, columns: present, values: readNumericColumns(table, present, true), timestampColumn: table.timestampColumn };
}
