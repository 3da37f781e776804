import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type pl from 'nodejs-polars';
import { polars } from './polars-module.js';
import { FltsError } from '../errors.js';
import { TIME_COLUMN, timeFrameFromPolars, timeFrameToPolars } from './polars-frame.js';
import { addParquetKeyValueMetadata } from './parquet-footer.js';
import type { TimeFrame } from './time-frame.js';

/**
 * Processed data on disk: `time` as Datetime(ms) first, then float64 columns; optional key-value metadata
 * (the reference stores `preprocess_config` and `config_hash` there, which its trainers read). `scratchDir` is where
 * the writer may make a private directory for a moment (the CLI's is the system's temporary directory); without
 * one the table is written to memory, the same bytes, slower for a wide table.
 */
export function encodeFrameParquet(frame: TimeFrame, metadata: Readonly<Record<string, string>> = {}, scratchDir?: string): Buffer {
  const bytes = parquetBytes(timeFrameToPolars(frame), scratchDir);
  // pyarrow prefers an embedded ARROW:schema over the file's key-value metadata (and so would ignore the
  // pandas entry); the Parquet schema alone describes these plain types completely.
  return addParquetKeyValueMetadata(bytes, { pandas: pandasMetadata(frame), ...metadata }, { drop: ['ARROW:schema'] });
}

/**
 * nodejs-polars hands a Parquet file written to memory to JavaScript one write at a time, and its writer makes about
 * 140 writes per column (the footer's fields one by one): a 10,000-column table came as 1.4 million Buffers, 4-5 s of
 * CPU and as much again collecting them. Written to a file by the native writer, the same bytes take a tenth of that.
 * Where no private scratch directory can be made or written (a read-only filesystem), the table is written to memory.
 */
function parquetBytes(df: pl.DataFrame, scratchDir: string | undefined): Buffer {
  if (scratchDir === undefined) return df.writeParquet({ compression: 'snappy' });
  let scratch: string;
  try {
    scratch = mkdtempSync(path.join(scratchDir, 'flts-parquet-'));
  } catch {
    return df.writeParquet({ compression: 'snappy' });
  }
  try {
    const file = path.join(scratch, 'frame.parquet');
    df.writeParquet(file, { compression: 'snappy' });
    return readFileSync(file);
  } catch {
    return df.writeParquet({ compression: 'snappy' });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * pandas metadata makes `pd.read_parquet` restore `time` as the DatetimeIndex, the shape the reference
 * system's readers expect; other readers simply see a `time` column.
 */
function pandasMetadata(frame: TimeFrame): string {
  const column = (name: string, pandasType: string, numpyType: string) => ({ name, field_name: name, pandas_type: pandasType, numpy_type: numpyType, metadata: null });
  return JSON.stringify({
    index_columns: [TIME_COLUMN],
    column_indexes: [{ name: null, field_name: null, pandas_type: 'unicode', numpy_type: 'object', metadata: { encoding: 'UTF-8' } }],
    columns: [...frame.columns.map((name) => column(name, 'float64', 'float64')), column(TIME_COLUMN, 'datetime', 'datetime64[ns]')],
    creator: { library: 'flts', version: '1' },
    pandas_version: '2.2.3',
  });
}

export function decodeFrameParquet(bytes: Buffer, source: string): TimeFrame {
  let df: pl.DataFrame;
  try {
    df = polars().readParquet(bytes);
  } catch (cause) {
    throw new FltsError('FLTS_DATA_UNREADABLE', `${source}: not a readable Parquet file: ${(cause as Error).message}`, { cause, details: { source } });
  }
  return timeFrameFromPolars(df, source).frame;
}
