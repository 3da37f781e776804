import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { listNames } from '../clip-text.js';
import type { Settings } from '../config/settings.js';
import { readTable, readTableBytes, readTableLimits, type ReadTableLimits, type ReadTableResult } from '../data/read-table.js';
import type { TimeFrame } from '../data/time-frame.js';
import { FltsError, isFltsError } from '../errors.js';
import type { FeaturePlan } from '../forecast/feature-plan.js';
import { inverseScaleColumn } from '../data/scaler.js';
import { assertSameWrite, resolveProcessedObject, type ProcessedVersion } from '../preprocess/processed-version.js';
import { detectCadence, formatTimestamp } from '../data/timestamps.js';
import { describeTimeSteps, repeatedTimestampsWarning, timeStepsWarning, unorderedRowsWarning, type DataWarning } from '../data/time-steps.js';
import { bucketNameProblem } from '../storage/keys.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * A local CSV/Parquet file, or an object in the store (what an `inference-data` claim names, with the claim's
 * `config_hash`: the processed data version the object is read as).
 */
export type InferenceDataRef = string | { bucket: string; key: string; configHash?: string; asGiven?: string };

const DATA_NOT_FOUND_HINT =
  'Give the path of a CSV/Parquet file, or <bucket>/<key> of an object in the store: after `flts preprocess`, processed-data/test_processed_data.parquet is the processed test data.';

/**
 * What a data argument (`flts predict --data`) names: an existing local file; otherwise `<bucket>/<key>` in the
 * store when its first part can be a bucket name; otherwise (`x.csv`, `./x.csv`, `../x.csv`, `~/x.csv`) a local
 * file, so a mistyped path is reported as a missing file rather than as an invalid bucket name.
 */
export function inferenceDataRefOf(value: string): InferenceDataRef {
  const slash = value.indexOf('/');
  if (slash <= 0 || existsSync(value)) return value;
  const bucket = value.slice(0, slash);
  if (bucketNameProblem(bucket) !== undefined) return value;
  return { bucket, key: value.slice(slash + 1), asGiven: value };
}

/** A missing file, or an object missing from a reference that could have been a file, said as what it is. */
function dataNotFound(data: InferenceDataRef, error: unknown): never {
  if (isFltsError(error) && typeof data === 'string' && error.code === 'FLTS_DATA_FILE_NOT_FOUND') {
    throw new FltsError('FLTS_DATA_FILE_NOT_FOUND', `Data to forecast not found: no file ${data}`, { cause: error, details: { file: data }, hint: DATA_NOT_FOUND_HINT });
  }
  if (isFltsError(error) && typeof data !== 'string' && data.asGiven !== undefined && error.code === 'FLTS_STORE_NOT_FOUND') {
    throw new FltsError('FLTS_DATA_FILE_NOT_FOUND', `Data to forecast not found: ${data.asGiven} is neither a local file nor an object of the store (no '${data.key}' in bucket '${data.bucket}')`, {
      cause: error,
      details: { file: data.asGiven, bucket: data.bucket, key: data.key },
      hint: DATA_NOT_FOUND_HINT,
    });
  }
  throw error;
}

/**
 * The data named is there to be read: checked before the run is looked up, so that a mistyped --data is reported as
 * the missing data it is even where no run is promoted yet. A local file that is missing (or a directory), or an
 * object outside the processed data that a reference which could have been a file names and the store lacks; what
 * the data holds is read and checked with the run's plan (`loadInferenceInput`).
 */
export async function assertInferenceDataPresent(store: ObjectStore, settings: Settings, data: InferenceDataRef): Promise<void> {
  if (typeof data === 'string') {
    const info = await stat(data).catch((cause: NodeJS.ErrnoException) => {
      if (cause.code === 'ENOENT' || cause.code === 'ENOTDIR') dataNotFound(data, new FltsError('FLTS_DATA_FILE_NOT_FOUND', `Data file not found: ${data}`, { cause, details: { file: data } }));
      // Anything else (a permission) is said by the read itself, in its words.
      return undefined;
    });
    if (info?.isDirectory()) throw new FltsError('FLTS_DATA_NOT_A_FILE', `${data} is a directory, not a data file.`, { details: { file: data } });
    return;
  }
  if (data.asGiven === undefined || data.configHash !== undefined || data.bucket === settings.store.buckets.processed) return;
  // A store that cannot say leaves the answer to the read.
  const present = await store.exists(data.bucket, data.key).catch(() => true);
  if (!present) dataNotFound(data, new FltsError('FLTS_STORE_NOT_FOUND', `No '${data.key}' in bucket '${data.bucket}'.`, { details: { bucket: data.bucket, key: data.key } }));
}

/**
 * `scaled`: every model feature scaled, as `flts preprocess` writes the processed test data: on its data version's
 * scale, or the run's when the version is unknown (an object outside the processed layout, no claim naming one).
 * `raw`: the raw columns in original units, like a `/predict` request (time features computed, values scaled).
 * `auto`: scaled when the data carries the run's computed time-feature columns (raw data never does) or
 * comes from the processed-data bucket.
 */
export type InputScale = 'auto' | 'scaled' | 'raw';

export interface InferenceInput {
  frame: TimeFrame;
  scaled: boolean;
  cadenceMs: number;
  /** Uneven time steps, rows that came out of time order: forecast all the same, with these said. */
  warnings: DataWarning[];
  /** `<bucket>/<key>` or the file path, for records and messages. */
  source: string;
}

/** How the bytes of a store object are parsed: at once by default, on a worker thread by a caller that must not block. */
export type TableParser = (bytes: Buffer, source: string, limits: ReadTableLimits) => ReadTableResult | Promise<ReadTableResult>;

export function describeDataRef(data: InferenceDataRef): string {
  return typeof data === 'string' ? data : `${data.bucket}/${data.key}`;
}

interface ReadData {
  frame: TimeFrame;
  version?: ProcessedVersion;
  unorderedRows: number;
  mergedRows: number;
}

async function readData(store: ObjectStore, settings: Settings, data: InferenceDataRef, source: string, parse: TableParser): Promise<ReadData> {
  return readDataAsNamed(store, settings, data, source, parse).catch((error: unknown) => dataNotFound(data, error));
}

async function readDataAsNamed(store: ObjectStore, settings: Settings, data: InferenceDataRef, source: string, parse: TableParser): Promise<ReadData> {
  const maxBytes = settings.data.maxInputBytes;
  const limits = readTableLimits(settings.data);
  let table;
  let version: ProcessedVersion | undefined;
  if (typeof data === 'string') {
    table = await readTable(data, maxBytes, limits);
  } else if (data.bucket === settings.store.buckets.processed || data.configHash !== undefined) {
    const object = await resolveProcessedObject(store, settings, data.bucket, data.key, data.configHash);
    const bytes = await store.get(object.bucket, object.key);
    assertSameWrite(object, bytes);
    table = await parse(bytes, source, limits);
    version = object.version;
  } else {
    table = await parse(await store.get(data.bucket, data.key), source, limits);
  }
  return { frame: table.frame, ...(version ? { version } : {}), unorderedRows: table.unorderedRows, mergedRows: table.mergedRows };
}

/**
 * Processed rows of another data version than the run's are on that version's scale: back to original units with
 * its own scaler, they are read as raw rows (the run scales them with its scaler), as `--scale raw` would.
 */
function toOriginalUnits(frame: TimeFrame, version: ProcessedVersion, source: string): TimeFrame {
  const { scaler } = version;
  if (!scaler) {
    throw new FltsError('FLTS_DATA_VERSION_GONE', `${source} is processed data of config_hash ${version.configHash}, whose scaler is not in the store (its sidecar is missing or was written by another tool), so its rows cannot be brought to the served run's scale.`, {
      details: { source, configHash: version.configHash },
    });
  }
  const values: Record<string, Float64Array> = {};
  for (const column of frame.columns) values[column] = scaler.columns.includes(column) ? inverseScaleColumn(scaler, column, frame.values[column]) : frame.values[column];
  return { time: frame.time, columns: frame.columns, values };
}

function decideScaled(plan: FeaturePlan, frame: TimeFrame, data: InferenceDataRef, scale: InputScale, settings: Settings): boolean {
  if (scale !== 'auto') return scale === 'scaled';
  const timeFeatures = plan.window.features.filter((_, f) => plan.timeFeatureIndex[f] >= 0);
  if (timeFeatures.length > 0) return timeFeatures.every((name) => frame.values[name] !== undefined);
  return typeof data !== 'string' && data.bucket === settings.store.buckets.processed;
}

/** Data to forecast over is not imputed (as a /predict request is not); the processed data already is. */
const MISSING_VALUE_HINT =
  'Every value the model reads must be present, as in a /predict request: fill or drop the rows with empty cells, or forecast the processed test data, which preprocess imputed (--data processed-data/test_processed_data.parquet).';

/**
 * Reads the data to forecast over (rows in any order, sorted by time) as preprocess reads a file (rows repeating a
 * timestamp merged into their mean, so the step is never zero, F9, and said in `warnings`) and checks it the way
 * `/predict` checks a request: every needed column present and finite.
 */
export async function loadInferenceInput(
  store: ObjectStore,
  settings: Settings,
  plan: FeaturePlan,
  data: InferenceDataRef,
  scale: InputScale = 'auto',
  /** The served run's config_hash: processed data of another version is brought to original units first. */
  runConfigHash?: string,
  parse: TableParser = readTableBytes,
): Promise<InferenceInput> {
  const source = describeDataRef(data);
  const read = await readData(store, settings, data, source, parse);
  let { frame } = read;
  let scaled = decideScaled(plan, frame, data, scale, settings);
  if (scaled && read.version && runConfigHash !== undefined && read.version.configHash !== runConfigHash) {
    frame = toOriginalUnits(frame, read.version, source);
    scaled = false;
  }
  const needed = scaled ? plan.window.features : plan.rawColumns;
  const missing = needed.filter((name) => frame.values[name] === undefined);
  if (missing.length > 0) {
    const expected = scaled ? 'processed (scaled) data with every model feature' : 'raw data with the raw model columns';
    throw new FltsError('FLTS_DATA_MISSING_COLUMNS', `${source} lacks column(s) ${listNames(missing)}; read as ${expected} (columns: ${listNames(frame.columns)}).`, {
      details: { source, missing, scaled },
      hint: 'Give the columns the run was trained on; --scale raw or --scale scaled says which of the two the data is when auto guesses wrong.',
    });
  }
  for (const name of needed) {
    const row = frame.values[name].findIndex((value) => !Number.isFinite(value));
    if (row >= 0) {
      throw new FltsError('FLTS_DATA_MISSING_VALUES', `${source}: column '${name}' has a missing, NaN or infinite value at ${formatTimestamp(frame.time[row])} (row ${row} in time order); every feature value must be a finite number.`, {
        details: { source, column: name, row, time: formatTimestamp(frame.time[row]) },
        hint: MISSING_VALUE_HINT,
      });
    }
  }
  if (frame.time.length < plan.window.inputSeqLen || frame.time.length < 2) {
    throw new FltsError('FLTS_MODEL_TOO_FEW_ROWS', `${source} has ${frame.time.length} row${frame.time.length === 1 ? '' : 's'}; the model needs at least ${Math.max(2, plan.window.inputSeqLen)} (its input window).`, {
      details: { source, rows: frame.time.length, inputSeqLen: plan.window.inputSeqLen },
    });
  }
  const cadenceMs = detectCadence(frame.time);
  const rows = `The rows of ${source}`;
  const warnings = [timeStepsWarning(describeTimeSteps(frame.time, cadenceMs), rows), unorderedRowsWarning(read.unorderedRows, rows), repeatedTimestampsWarning(read.mergedRows, rows)].filter((warning): warning is DataWarning => warning !== undefined);
  return { frame, scaled, cadenceMs, source, warnings };
}
