import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type pl from 'nodejs-polars';
import { polars } from './polars-module.js';
import { clip, codePoint, listNames, misleadingCharacter, quotedText } from '../clip-text.js';
import type { DataSettings } from '../config/specs/data.js';
import { FltsError } from '../errors.js';
import { plainNumberText } from './number-text.js';
import { readParquetColumns, readParquetRowCount, readParquetSchemaSize } from './parquet-footer.js';
import { readParquetDecodedBytes } from './parquet-pages.js';
import { TIME_COLUMN, timeFrameFromPolars, type FromPolarsResult } from './polars-frame.js';

export type TableFormat = 'csv' | 'parquet';

export interface ReadTableResult extends FromPolarsResult {
  format: TableFormat;
}

/** Bounds a table is held to before the reader builds it. */
export interface ReadTableLimits {
  /** Most rows read, blank lines included (data.maxInputRows); DEFAULT_MAX_INPUT_ROWS when not given. */
  maxRows?: number;
  /** Most cells, rows times columns (data.maxInputCells); DEFAULT_MAX_INPUT_CELLS when not given. */
  maxCells?: number;
  /** Most bytes a Parquet file's pages decompress to (data.maxParquetDecodedBytes); DEFAULT_MAX_PARQUET_DECODED_BYTES when not given. */
  maxDecodedBytes?: number;
}

/** The bounds the data.* settings put on every table flts reads, each a setting of its own. */
export function readTableLimits(data: Pick<DataSettings, 'maxInputRows' | 'maxInputCells' | 'maxParquetDecodedBytes'>): ReadTableLimits {
  return { maxRows: data.maxInputRows, maxCells: data.maxInputCells, maxDecodedBytes: data.maxParquetDecodedBytes };
}

const PARQUET_MAGIC = 'PAR1';
/**
 * Widest table read (CSV or Parquet): each column becomes a series, a feature of every window and a column of
 * the processed files, so a header of a million columns would take minutes and gigabytes before anything could
 * object.
 */
export const MAX_TABLE_COLUMNS = 10_000;
/** Longest header line (10 000 names of 400 bytes); a file without a newline is all header. */
export const MAX_CSV_HEADER_BYTES = 4 * 1024 * 1024;
const FULL_SCHEMA_SCAN = 1_000_000_000;
/**
 * A quoted empty cell ("") is as empty as an unquoted one: polars read it as empty text, so a time written "" was
 * refused as a time that is not one instead of an empty cell, and a row of "" cells as a row instead of a blank one.
 */
const EMPTY = [''];

export function detectTableFormat(bytes: Uint8Array, name = ''): TableFormat {
  const head = Buffer.from(bytes.subarray(0, 4)).toString('latin1');
  if (head === PARQUET_MAGIC || /\.(parquet|pq)$/i.test(name)) return 'parquet';
  return 'csv';
}

function headerLine(bytes: Buffer): string {
  const end = bytes.indexOf(10);
  if ((end < 0 ? bytes.length : end) > MAX_CSV_HEADER_BYTES) {
    throw new FltsError('FLTS_DATA_TOO_LARGE', `The header line is longer than ${MAX_CSV_HEADER_BYTES} bytes (${end < 0 ? 'the file has no line break' : `${end} bytes`}); a CSV starts with one line of column names.`, {
      details: { headerBytes: end < 0 ? bytes.length : end, limit: MAX_CSV_HEADER_BYTES },
      hint: 'Check that the file is a CSV whose lines end in line breaks, its first line the column names.',
    });
  }
  const line = bytes.subarray(0, end < 0 ? bytes.length : end);
  assertUtf8Header(bytes, line);
  const header = line.toString('utf8').replace(/^\uFEFF/, '').replace(/\r$/, '');
  if (header.includes('\r')) {
    // Classic Mac line ends: the reader would take the whole file for its header and find no rows.
    throw new FltsError('FLTS_DATA_UNREADABLE', 'The lines end in a carriage return alone (CR, an old Mac export); flts reads lines ending in LF or CRLF.', {
      hint: 'Save the file again with Windows (CRLF) or Unix (LF) line endings.',
    });
  }
  return header;
}

const SAVE_AS_UTF8 = 'Save the file as UTF-8 (in a spreadsheet: CSV UTF-8).';

/**
 * UTF-16 text reads as columns with a NUL between every letter, and a Latin-1 header as names with U+FFFD in
 * place of its accented letters (a column no request could name): both are refused with the encoding named.
 */
function assertUtf8Header(bytes: Buffer, line: Buffer): void {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new FltsError('FLTS_DATA_UNREADABLE', 'The file is UTF-16 text (it starts with a UTF-16 byte order mark); flts reads CSV files in UTF-8.', { hint: SAVE_AS_UTF8 });
  }
  if (line.includes(0)) {
    throw new FltsError('FLTS_DATA_UNREADABLE', 'The header line holds NUL bytes: the file is binary (a spreadsheet, an archive) or UTF-16 text, not a CSV in UTF-8.', { hint: `Export the data as CSV or Parquet. ${SAVE_AS_UTF8}` });
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(line);
  } catch {
    throw new FltsError('FLTS_DATA_UNREADABLE', 'The header line is not UTF-8 text (a Latin-1 or Windows-1252 export?); flts reads CSV files in UTF-8.', { hint: SAVE_AS_UTF8 });
  }
}

/**
 * The field separator: a comma, or a semicolon or tab when the header has no comma but one of those
 * (spreadsheets in locales whose decimal mark is a comma export with semicolons).
 */
function detectSeparator(header: string): string {
  // A separator inside a quoted name is part of the name (time;"a,b" is a semicolon header).
  header = header.replace(/"[^"]*"/g, '');
  if (header.includes(',')) return ',';
  if (header.includes(';')) return ';';
  if (header.includes('\t')) return '\t';
  return ',';
}

/**
 * A header that reads as one column but names 'time' among others when split at another character (`|`, `:`, a
 * space): the file is separated by a character not guessed, and was refused as having no time column.
 */
function assertGuessedSeparator(header: string, names: readonly string[]): void {
  if (names.length !== 1 || names[0] === TIME_COLUMN) return;
  const candidates = new Set(header.match(/[^\w."'-]/g) ?? []);
  const other = [...candidates].find((char) => header.split(char).map(columnName).includes(TIME_COLUMN));
  if (other === undefined) return;
  const shown = other === ' ' ? 'spaces' : /\s/.test(other) ? JSON.stringify(other) : `'${other}'`;
  throw new FltsError('FLTS_DATA_UNREADABLE', `the header ${quotedText(clip(header))} reads as one column: its names are separated by ${shown}, and flts reads columns separated by commas (semicolons or tabs when the header has no comma).`, {
    details: { separator: other },
    hint: /\s/.test(other) ? 'Write the file with commas between the columns.' : `Write the file with commas between the columns, or make its first line sep=${other} to name its separator.`,
  });
}

/** The header's names as the reader names its columns: a quoted name unquoted, spaces around it kept. */
function rawHeaderNames(header: string, separator: string): string[] {
  return headerFields(header, separator).map((name) => name.replace(/^"(.*)"$/s, '$1'));
}

/**
 * The header split at each separator outside quotes, as the reader splits it (a quote opens a quoted field only
 * as the field's first character): split at every separator, a name "a,v" was two names, one of them v.
 */
function headerFields(header: string, separator: string): string[] {
  const fields: string[] = [];
  let from = 0;
  let quotedField = false;
  let quoted = false;
  for (let i = 0; i <= header.length; i++) {
    const char = header[i];
    if (i === from && char === '"') quotedField = true;
    if (char === '"' && quotedField) quoted = !quoted;
    else if (i === header.length || (!quoted && char === separator)) {
      fields.push(header.slice(from, i));
      from = i + 1;
      quotedField = false;
    }
  }
  return fields;
}

/** A column's name without the spaces around it ("time, down, up" names time, down and up). */
const columnName = (raw: string): string => raw.trim().replace(/^"(.*)"$/, '$1');

/**
 * A float64 read turns text such as "abc", a missing-value token or "5 " into null without complaint, so
 * every column with nulls is re-read as text; a column where a null was not an empty cell is kept as that
 * text, which timeFrameFromPolars reads as every other text column (a number, missing, or not numeric).
 */
function withTextWhereNotFloat(bytes: Buffer, df: pl.DataFrame, sep: string): pl.DataFrame {
  const floatNulls = nullCounts(df);
  const withNulls = df.columns.filter((name) => name !== TIME_COLUMN && floatNulls[name] > 0);
  if (withNulls.length === 0) return df;
  const text = polars().readCSV(bytes, { columns: withNulls, inferSchemaLength: 0, sep, nullValues: EMPTY });
  const textNulls = nullCounts(text);
  // Every null came from an empty cell: the common case, decided without touching the values.
  const replaced = withNulls.filter((name) => textNulls[name] !== floatNulls[name]);
  return replaced.length > 0 ? df.withColumns(...replaced.map((name) => text.getColumn(name))) : df;
}

/**
 * Each column's nulls, counted in one call: a Series handle per column (getColumns) costs about half a
 * millisecond to build and collect, which made a table of thousands of columns take seconds per pass.
 */
function nullCounts(df: pl.DataFrame): Record<string, number> {
  return df.nullCount().toRecords()[0] as Record<string, number>;
}

/** Names of the text columns besides time, read from the schema without building a Series handle per column. */
function textColumnNames(df: pl.DataFrame): string[] {
  const text = [polars().Utf8, polars().String];
  const types = df.dtypes;
  return df.columns.filter((name, i) => name !== TIME_COLUMN && text.some((type) => types[i].equals(type)));
}

/** Columns named as the header names them without surrounding spaces (the reader keeps " down" as is). */
function withTrimmedNames(df: pl.DataFrame): pl.DataFrame {
  const renames = Object.fromEntries(df.columns.map((name) => [name, columnName(name)]).filter(([name, trimmed]) => name !== trimmed && trimmed !== ''));
  return Object.keys(renames).length > 0 ? df.rename(renames) : df;
}

/**
 * Every row has as many fields as the header: polars fills a short row with nulls and a CSV with one ragged
 * row would be read as if it were fine. One pass over the bytes, read as polars' parser reads them: a quote
 * opens a quoted field only as the field's first character, and inside such a field every quote toggles it.
 *
 * A NUL byte is refused where it stands: no text export writes one, and read on, the zeros a write cut short
 * leaves at the end of a file became a ragged row, a time that is not a time or a column dropped as not numeric.
 *
 * A quote inside an unquoted value is text to that parser, but polars counts the rows of each chunk by the
 * parity of every quote; an odd number of such quotes on a line makes the two counts differ, and polars then
 * prints its own "CSV malformed" warning on stderr (or misreads the rows). Such a line is refused here.
 *
 * Returns the rows under the header, blank lines included: polars keeps a row for each of them until the table is
 * converted, so they cost memory as rows of values do (`assertRowCount`).
 */
function assertRectangular(bytes: Buffer, separator: string): number {
  const separatorByte = separator.charCodeAt(0);
  let records = 0;
  let expected = -1;
  let fields = 1;
  let line = 1;
  let recordLine = 1;
  let fieldStart = true;
  let quotedField = false;
  let quoted = false;
  let quoteLine = 0;
  let strayQuotes = 0;
  let strayField = 0;
  let empty = true;
  for (let i = 0; i <= bytes.length; i++) {
    const byte = i < bytes.length ? bytes[i] : 0x0a;
    if (byte === 0x00) throw nulByteError(line);
    if (byte === 0x22) {
      if (fieldStart) {
        quotedField = true;
        quoteLine = line;
      }
      if (quotedField) quoted = !quoted;
      else if (strayQuotes++ === 0) strayField = fields;
      fieldStart = false;
      empty = false;
      continue;
    }
    if (byte === 0x0a) line++;
    if (quoted) continue;
    if (byte === separatorByte) {
      fields++;
      fieldStart = true;
      quotedField = false;
      empty = false;
      continue;
    }
    if (byte === 0x0a) {
      if (strayQuotes % 2 === 1) {
        throw new FltsError('FLTS_DATA_UNREADABLE', `CSV line ${recordLine} has a quote (") inside the unquoted value of field ${strayField}; quote the whole value and double the quotes inside it ("a ""b"" c").`, { details: { line: recordLine, field: strayField } });
      }
      // The line end added past the last byte closes a last line without one, and no line after a final break.
      if (i < bytes.length || !empty) records++;
      if (!empty) {
        if (expected < 0) expected = fields;
        else if (fields !== expected) {
          throw new FltsError('FLTS_DATA_UNREADABLE', `CSV line ${recordLine} has ${fields} fields, the header has ${expected}; every row needs one value per column.`, { details: { line: recordLine, fields, expected } });
        }
      }
      fields = 1;
      recordLine = line;
      fieldStart = true;
      quotedField = false;
      strayQuotes = 0;
      empty = true;
      continue;
    }
    fieldStart = false;
    if (byte !== 0x0d && byte !== 0x20) empty = false;
  }
  if (quoted) {
    throw new FltsError('FLTS_DATA_UNREADABLE', `CSV line ${quoteLine} opens a quoted field that is never closed; every " needs its closing ".`, { details: { line: quoteLine } });
  }
  return Math.max(0, records - 1);
}

function nulByteError(line: number): FltsError {
  return new FltsError('FLTS_DATA_UNREADABLE', `CSV line ${line} holds a NUL byte: the file is binary, or was cut short while it was written (a crash or a full disk leaves zeros in place of the rest); a CSV is text.`, {
    details: { line },
    hint: 'Export the data again as a CSV in UTF-8 or as Parquet, or cut the zeros off the end of the file.',
  });
}

/**
 * A column named twice (an export that appended a column again) would reach the models as two features, one
 * renamed by the reader; which of the two a request's column means cannot be told. Unnamed columns are dropped.
 * Names that differ only in case (`Down`, `down`) are refused too: a target or feature list typed with the other
 * case takes the other column without a word, and the files named after a target (`plots/<target>/`,
 * `forecast.<target>.svg`) are one file on the case-insensitive file systems of macOS and Windows. A NUL in a name
 * (a Parquet schema may hold one; a CSV header with one is refused as binary) cannot be typed in a config or a
 * request and is shown as nothing in messages: `time\0` read as no time column, listed as "time ". So are the other
 * control characters, the line separators and the bidirectional controls: such a name went on into file names, logs,
 * chart labels and answers, where an escape sequence restyled the terminal that showed it, a line break forged a
 * log line of its own and a U+202E showed the name (and the text after it) turned round. A message shows the name
 * with each of them escaped.
 */
function assertUniqueNames(names: readonly string[], where = 'header'): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    const misleading = misleadingCharacter(name);
    if (misleading !== undefined) {
      throw new FltsError('FLTS_DATA_UNREADABLE', `The ${where} names a column ${quotedText(name)}, with ${characterNamed(misleading)} in it; name columns with printable text.`, {
        details: { column: name, character: codePoint(misleading) },
        hint: 'Rename the column in the file: such a character cannot be typed in a config or a request, and it would go on into file names, logs and charts (a bidirectional control shows the text after it turned round).',
      });
    }
    if (name === '') continue;
    const other = seen.get(name.toLowerCase());
    if (other === name) throw new FltsError('FLTS_DATA_UNREADABLE', `The ${where} names column ${JSON.stringify(name)} twice; name each column once.`, { details: { column: name } });
    if (other !== undefined) {
      throw new FltsError('FLTS_DATA_UNREADABLE', `The ${where} names columns ${JSON.stringify(other)} and ${JSON.stringify(name)}, which differ only in case; give them names that differ otherwise.`, {
        details: { column: name, columns: [other, name] },
        hint: `Rename one of ${JSON.stringify(other)} and ${JSON.stringify(name)} (or drop it, if it repeats the other).`,
      });
    }
    seen.set(name.toLowerCase(), name);
  }
}

/** A character no column name may hold, as a message names it. */
function characterNamed(char: string): string {
  if (char === '\0') return 'a NUL character';
  if (char === '\t') return 'a tab';
  if (char === '\n' || char === '\r' || char === '\u2028' || char === '\u2029') return `a line break (${codePoint(char)})`;
  return /\p{Bidi_Control}/u.test(char) ? `the bidirectional control ${codePoint(char)}` : `the control character ${codePoint(char)}`;
}

/**
 * Excel reads, and writes when asked to, a first line "sep=;" that names the separator; the header follows it.
 * Read as a header, it was a one-column table whose every row was ragged.
 */
function separatorLine(bytes: Buffer): { body: Buffer; declared?: string } {
  const match = /^\uFEFF?sep=([^\r\n])\r?\n/.exec(bytes.subarray(0, 16).toString('utf8'));
  return match ? { body: bytes.subarray(Buffer.byteLength(match[0])), declared: match[1] } : { body: bytes };
}

/**
 * Fast path: every column but time declared float64 up front (no inference pass). Duplicate or odd header
 * names take the slower full-scan read (`null` would read everything as text in this binding, hence the
 * large number), which finds the numeric columns by inference.
 */
function readCsv(file: Buffer, limits: Required<ReadTableLimits>): pl.DataFrame {
  const { body: bytes, declared } = separatorLine(file);
  const header = headerLine(bytes);
  const sep = declared ?? detectSeparator(header);
  const rawNames = rawHeaderNames(header, sep);
  const names = rawNames.map(columnName);
  if (declared === undefined) assertGuessedSeparator(header, names);
  assertColumnCount(names.length);
  assertUniqueNames(names);
  const rows = assertRectangular(bytes, sep);
  assertRowCount(rows, limits.maxRows, 'blank lines included');
  assertCellCount(rows, names.length, limits.maxCells, 'blank lines included');
  if (sep !== ',') {
    // Files separated otherwise may write a decimal comma: every value is read as text, made a plain number
    // where it is written as one, and cast later, where a column that is still not numeric is dropped.
    return withPlainNumbers(withTrimmedNames(polars().readCSV(bytes, { sep, inferSchemaLength: 0, nullValues: EMPTY })), ',');
  }
  const timeAt = names.indexOf(TIME_COLUMN);
  if (new Set(rawNames).size === rawNames.length && timeAt >= 0) {
    try {
      const df = polars().readCSV(bytes, { sep, nullValues: EMPTY, dtypes: Object.fromEntries(rawNames.map((name, i) => [name, i === timeAt ? polars().Utf8 : polars().Float64])) });
      return withPlainNumbers(withTrimmedNames(withTextWhereNotFloat(bytes, df, sep)), '.');
    } catch {
      // fall through to inference
    }
  }
  return withPlainNumbers(withTrimmedNames(polars().readCSV(bytes, { sep, nullValues: EMPTY, inferSchemaLength: FULL_SCHEMA_SCAN, dtypes: timeAt >= 0 ? { [rawNames[timeAt]]: polars().Utf8 } : {} })), '.');
}

/** Text columns besides time with their grouped thousands and decimal commas made plain (plainNumberText). */
function withPlainNumbers(df: pl.DataFrame, fileDecimal: '.' | ','): pl.DataFrame {
  const text = textColumnNames(df);
  return text.length > 0 ? df.withColumns(...text.map((name) => plainNumberText(df.getColumn(name), fileDecimal))) : df;
}

/** The default of FLTS_DATA_MAX_INPUT_ROWS (data.maxInputRows). */
export const DEFAULT_MAX_INPUT_ROWS = 20_000_000;

/**
 * A tall table is refused before the reader builds it: reading costs memory per row whatever the row holds (about
 * 46 bytes for a blank line, 160 for a time and one value; bench/read-rows.bench.mjs), so a file of short lines
 * within the byte limit (a gigabyte of blank lines) could take tens of gigabytes and be killed by the system
 * instead of refused. The default admits 20 million rows, about 3 GB for the narrowest real table, as much as the
 * largest file of the reference's 12 columns that the byte limit admits (5 million rows).
 */
function assertRowCount(rows: number, maxRows: number, counted: string): void {
  if (rows <= maxRows) return;
  throw new FltsError('FLTS_DATA_TOO_LARGE', `The file has ${rows} rows (${counted}), more than the limit of ${maxRows} (FLTS_DATA_MAX_INPUT_ROWS).`, {
    details: { rows, limit: maxRows },
    hint: 'Give fewer rows (a shorter period, or rows resampled to a longer step), or raise data.maxInputRows (FLTS_DATA_MAX_INPUT_ROWS) where the memory allows it.',
  });
}

/** The default of FLTS_DATA_MAX_INPUT_CELLS (data.maxInputCells): 20 million rows of the reference's 12 columns. */
export const DEFAULT_MAX_INPUT_CELLS = 240_000_000;

/**
 * A table of many columns is refused at fewer rows than a narrow one: each cell costs about 16 bytes read (a float64
 * in polars and another in the frame), so within the row bound a table of 1000 columns
 * could take hundreds of gigabytes. A Parquet file reaches that in kilobytes: a column of one repeated value
 * compresses to almost nothing, and a 160 kB file of 50 such columns and 4 million rows took 3.5 GB to read.
 */
function assertCellCount(rows: number, columns: number, maxCells: number, counted: string): void {
  if (rows * columns <= maxCells) return;
  throw new FltsError('FLTS_DATA_TOO_LARGE', `The file has ${rows} rows of ${columns} columns (${rows * columns} cells, ${counted}), more than the limit of ${maxCells} cells (FLTS_DATA_MAX_INPUT_CELLS).`, {
    details: { rows, columns, cells: rows * columns, limit: maxCells },
    hint: 'Give fewer rows or only the columns the models need, or raise data.maxInputCells (FLTS_DATA_MAX_INPUT_CELLS) where the memory allows it.',
  });
}

/**
 * The default of FLTS_DATA_MAX_PARQUET_DECODED_BYTES (data.maxParquetDecodedBytes): four times the largest file read
 * by default (data.maxInputBytes), and twice what a numeric table at the cell bound decompresses to (240 million
 * float64 cells, under 2 GB).
 */
export const DEFAULT_MAX_PARQUET_DECODED_BYTES = 4 * 1024 ** 3;

/**
 * Pages are decompressed whole, whatever the footer says of the rows they hold: a page of one repeated value
 * compresses ten thousand times, and a 50 kB file whose footer declared 1000 rows over a page of 64 million took
 * 700 MB and most of a second to read; a gigabyte of such pages, hours. Text columns count too: a long text repeated
 * on every row is read whole before the column is dropped as not numeric.
 */
function assertDecodedBytes(bytes: number, maxBytes: number): void {
  if (bytes <= maxBytes) return;
  throw new FltsError('FLTS_DATA_TOO_LARGE', `The file's pages decompress to ${bytes} bytes, more than the limit of ${maxBytes} flts reads from a Parquet file (FLTS_DATA_MAX_PARQUET_DECODED_BYTES).`, {
    details: { decodedBytes: bytes, limit: maxBytes },
    hint: 'Write the file with only the time column and the columns to forecast from (a long text column decompresses to gigabytes), or with fewer rows, or raise data.maxParquetDecodedBytes (FLTS_DATA_MAX_PARQUET_DECODED_BYTES) where the memory allows it.',
  });
}

/**
 * The footer's counts and the pages' sizes, each bound checked as soon as it is known; a file whose footer or page
 * headers cannot be walked is refused after that: the bounds were skipped for it, and a page declaring gigabytes
 * behind a header the walk stopped at was decompressed by polars unchecked. Polars could not read such a file
 * either (it is cut short, damaged, or not Parquet), but said so in its own words, if it did not run out of memory.
 */
function assertParquetBounds(file: Buffer, limits: Required<ReadTableLimits>): void {
  const columns = readParquetSchemaSize(file);
  if (columns !== undefined) assertColumnCount(columns);
  const rows = readParquetRowCount(file);
  if (rows !== undefined) assertRowCount(rows, limits.maxRows, 'as its footer declares');
  if (columns !== undefined && rows !== undefined) assertCellCount(rows, columns, limits.maxCells, 'as its footer declares');
  const decodedBytes = readParquetDecodedBytes(file);
  if (decodedBytes !== undefined) assertDecodedBytes(decodedBytes, limits.maxDecodedBytes);
  if (columns !== undefined && rows !== undefined && decodedBytes !== undefined) return;
  const part = columns === undefined || rows === undefined ? 'footer' : 'pages';
  const named = part === 'footer' ? 'its footer (the schema and row counts at the end of the file)' : "its page headers (each column chunk's pages, where the footer places them)";
  throw new FltsError('FLTS_DATA_UNREADABLE', `cannot read the file as Parquet: ${named} cannot be read, so the size of what it decompresses to cannot be bounded. The file is cut short, damaged, or not Parquet.`, {
    details: { part },
    hint: 'Copy or export the file again (a copy cut short loses its footer), or give the data as CSV.',
  });
}

function assertColumnCount(columns: number): void {
  if (columns <= MAX_TABLE_COLUMNS) return;
  throw new FltsError('FLTS_DATA_TOO_LARGE', `The file has ${columns} columns, more than the ${MAX_TABLE_COLUMNS} flts reads; keep the columns the models need.`, {
    details: { columns, limit: MAX_TABLE_COLUMNS },
    hint: 'Write the file with only the time column and the columns to forecast from.',
  });
}

/**
 * The schema is counted from the footer first: polars would build every one of a wide file's columns before we
 * could refuse it. Names are checked there too (polars keeps the last of two columns of one name, silently),
 * and columns polars cannot convert (binary, nested) are left unread and dropped as not numeric: reading them
 * panicked inside polars. Text columns are read as a comma CSV's are (withPlainNumbers): "1,234.5" is a number in
 * either file, and a lone "1,5" in neither.
 */
function readParquet(bytes: Buffer, limits: Required<ReadTableLimits>): { df: pl.DataFrame; unreadable: string[] } {
  assertParquetBounds(bytes, limits);
  const columns = readParquetColumns(bytes);
  // Names without the spaces around them, as a CSV header's: " down" beside "down" was a second column in a
  // Parquet file where the same table as CSV was refused for naming down twice.
  if (columns) assertUniqueNames(columns.map((column) => columnName(column.name)), 'Parquet schema');
  if (!columns || columns.every((column) => column.readable)) {
    return { df: withTrimmedNames(parquetText(polars().readParquet(bytes))), unreadable: [] };
  }
  const names = columns.map((column) => columnName(column.name));
  if (!names.includes(TIME_COLUMN)) throw new FltsError('FLTS_DATA_MISSING_TIME_COLUMN', `no column labeled '${TIME_COLUMN}' (columns: ${listNames(names)}).`, { details: { columns: names } });
  if (!columns[names.indexOf(TIME_COLUMN)].readable) {
    throw new FltsError('FLTS_DATA_INVALID_TIMESTAMPS', `column '${TIME_COLUMN}' holds binary or nested values (a list or struct), not timestamps.`, { details: { column: TIME_COLUMN } });
  }
  const readable = columns.flatMap((column, i) => (column.readable ? [i] : []));
  return { df: withTrimmedNames(parquetText(polars().readParquet(bytes, { columns: readable }))), unreadable: columns.filter((column) => !column.readable).map((column) => columnName(column.name)) };
}

/**
 * A Parquet file's text columns read as a comma CSV's (withPlainNumbers), dictionary-encoded ones (pandas'
 * categories) as the same text unencoded.
 */
const DICTIONARY_TEXT: ReadonlySet<string> = new Set(['Categorical', 'Enum']);

function parquetText(df: pl.DataFrame): pl.DataFrame {
  const types = df.dtypes;
  const encoded = df.columns.filter((name, i) => name !== TIME_COLUMN && DICTIONARY_TEXT.has(types[i].variant));
  const decoded = encoded.length > 0 ? df.withColumns(...encoded.map((name) => df.getColumn(name).cast(polars().Utf8))) : df;
  return withPlainNumbers(decoded, '.');
}

/**
 * The reader's own reason, without the advice polars writes for its Python API (`infer_schema_length`,
 * `ignore_errors`) or the slices of the file it quotes: one line, at most 200 characters.
 */
function readerReason(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  const original = /Original error: ```([\s\S]*?)```/.exec(message)?.[1] ?? message.split('\n\n')[0];
  const reason = original.replace(/`[^`]*`/g, (quoted) => (quoted.length > 42 ? `${quoted.slice(0, 40)}...\`` : quoted)).replace(/\s+/g, ' ').trim();
  return reason.length > 200 ? `${reason.slice(0, 197)}...` : reason;
}

/** Nothing but spaces and line breaks; stops at the first other byte (a data file's first). */
function isBlank(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return false;
  return true;
}

/**
 * JSON rows, an array (`[{...}`, `[[`, `[]`) or JSON lines (`{"...`), as `flts predict --out x.json` and `.jsonl` write
 * them: read as CSV, such a file was refused as a header of tens of thousands of columns, or a field "not properly
 * escaped", never as the JSON it is. A CSV header starts with a name (`[time]` included), never with these.
 */
function looksLikeJson(bytes: Uint8Array): boolean {
  let at = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const skipSpace = (): void => {
    while (at < bytes.length && (bytes[at] === 0x20 || bytes[at] === 0x09 || bytes[at] === 0x0a || bytes[at] === 0x0d)) at += 1;
  };
  skipSpace();
  const first = bytes[at];
  if (first !== 0x7b && first !== 0x5b) return false;
  at += 1;
  skipSpace();
  const next = bytes[at];
  // {"key" or {} ; [{ or [[ or []
  return first === 0x7b ? next === 0x22 || next === 0x7d : next === 0x7b || next === 0x5b || next === 0x5d;
}

/** Parses CSV or Parquet bytes already in memory (so the bytes fingerprinted are exactly the bytes read). */
export function readTableBytes(bytes: Buffer, source: string, limits: ReadTableLimits = {}): ReadTableResult {
  const bounds = { maxRows: limits.maxRows ?? DEFAULT_MAX_INPUT_ROWS, maxCells: limits.maxCells ?? DEFAULT_MAX_INPUT_CELLS, maxDecodedBytes: limits.maxDecodedBytes ?? DEFAULT_MAX_PARQUET_DECODED_BYTES };
  if (isBlank(bytes)) {
    throw new FltsError('FLTS_DATA_EMPTY', `${source}: the file ${bytes.length === 0 ? 'is empty (0 bytes)' : 'holds only blank lines'}: no header row, no data rows.`, {
      details: { source, bytes: bytes.length },
      hint: 'Give the data file itself: a CSV whose first line names the columns (time and the values), or a Parquet file. A copy or export cut short leaves an empty file.',
    });
  }
  const format = detectTableFormat(bytes, source);
  if (format === 'csv' && looksLikeJson(bytes)) {
    throw new FltsError('FLTS_DATA_UNREADABLE', `${source}: the file is JSON, not CSV or Parquet, the formats flts reads data in.`, {
      details: { source, format: 'json' },
      hint: 'Give the data as CSV (a header row of column names, `time` among them) or Parquet; `flts predict --out <name>.csv` or `.parquet` writes its forecast table in a format it reads back.',
    });
  }
  let df: pl.DataFrame;
  let unreadable: string[] = [];
  try {
    if (format === 'parquet') ({ df, unreadable } = readParquet(bytes, bounds));
    else df = readCsv(bytes, bounds);
  } catch (cause) {
    if (cause instanceof FltsError) throw new FltsError(cause.code, `${source}: ${cause.message}`, { cause, details: { source, ...cause.details }, hint: cause.hint });
    const reason = readerReason(cause);
    throw new FltsError('FLTS_DATA_UNREADABLE', `${source}: cannot read as ${format}: ${reason}`, { cause, details: { source, format }, ...(/invalid utf-?8/i.test(reason) ? { hint: SAVE_AS_UTF8 } : {}) });
  }
  if (df.height === 0) throw new FltsError('FLTS_DATA_EMPTY', `${source}: the file has no data rows.`, { details: { source }, hint: 'The file has its header and nothing under it: give the file with the data rows (an export cut short, or the wrong file?).' });
  const converted = timeFrameFromPolars(df, source);
  // Rows of empty cells are left out as blank lines are; a file of nothing else is as empty as a bare header, and
  // read on it was a table of no rows that failed later, and elsewhere, for want of rows.
  if (converted.frame.time.length === 0) {
    throw new FltsError('FLTS_DATA_EMPTY', `${source}: the file has no data rows: each of its ${df.height} rows under the header is a blank line or a row of empty cells.`, {
      details: { source, rows: df.height },
      hint: 'Give the file with the data rows (an export of an empty sheet or range, or the wrong file?).',
    });
  }
  return { ...converted, droppedColumns: [...unreadable, ...converted.droppedColumns], format };
}

/** The default of FLTS_DATA_MAX_INPUT_BYTES (data.maxInputBytes). */
export const DEFAULT_MAX_INPUT_BYTES = 1024 ** 3;

/**
 * A data file's bytes, refused before reading when it is not a regular file (`/dev/zero`, a pipe) or is
 * larger than `maxBytes`: what is checked is the file then read, through one open handle.
 */
export async function readFileBytes(filePath: string, maxBytes = DEFAULT_MAX_INPUT_BYTES): Promise<Buffer> {
  try {
    // Non-blocking, so that opening a named pipe returns at once (to be refused below) instead of waiting for a writer.
    const file = await open(filePath, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const info = await file.stat();
      if (!info.isFile()) {
        if (info.isDirectory()) throw new FltsError('FLTS_DATA_NOT_A_FILE', `${filePath} is a directory, not a data file.`, { details: { file: filePath } });
        throw new FltsError('FLTS_DATA_NOT_A_FILE', `${filePath} is not a regular file (a device, pipe or socket); data files are read whole.`, { details: { file: filePath } });
      }
      if (info.size > maxBytes) {
        throw new FltsError('FLTS_DATA_TOO_LARGE', `${filePath} is ${info.size} bytes, more than the limit of ${maxBytes} (FLTS_DATA_MAX_INPUT_BYTES).`, { details: { file: filePath, bytes: info.size, limit: maxBytes } });
      }
      return await file.readFile();
    } finally {
      await file.close();
    }
  } catch (cause) {
    if (cause instanceof FltsError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new FltsError('FLTS_DATA_FILE_NOT_FOUND', `Data file not found: ${filePath}`, { cause, details: { file: filePath } });
    }
    if (code === 'EISDIR') throw new FltsError('FLTS_DATA_NOT_A_FILE', `${filePath} is a directory, not a data file.`, { cause, details: { file: filePath } });
    throw new FltsError('FLTS_DATA_UNREADABLE', `Cannot read ${filePath}: ${(cause as Error).message}`, { cause, details: { file: filePath } });
  }
}

/** Reads a CSV or Parquet file with a `time` column into a TimeFrame. */
export async function readTable(filePath: string, maxBytes = DEFAULT_MAX_INPUT_BYTES, limits: ReadTableLimits = {}): Promise<ReadTableResult> {
  return readTableBytes(await readFileBytes(filePath, maxBytes), path.basename(filePath), limits);
}
