import { listNames } from '../clip-text.js';
import type { Settings } from '../config/settings.js';
import { readTable, readTableBytes } from '../data/read-table.js';
import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';
import type { FeaturePlan } from '../forecast/feature-plan.js';
import { detectCadence, formatTimestamp } from '../data/timestamps.js';
import type { ObjectStore } from '../storage/object-store.js';

/** A local CSV/Parquet file, or an object in the store (what an `inference-data` claim names). */
export type InferenceDataRef = string | { bucket: string; key: string };

/**
 * `scaled`: every model feature on the model's scale, as `flts preprocess` writes the processed test data.
 * `raw`: the raw columns in original units, like a `/predict` request (time features computed, values scaled).
 * `auto`: scaled when the data carries the run's computed time-feature columns (raw data never does) or
 * comes from the processed-data bucket.
 */
export type InputScale = 'auto' | 'scaled' | 'raw';

export interface InferenceInput {
  frame: TimeFrame;
  scaled: boolean;
  cadenceMs: number;
  /** `<bucket>/<key>` or the file path, for records and messages. */
  source: string;
}

export function describeDataRef(data: InferenceDataRef): string {
  return typeof data === 'string' ? data : `${data.bucket}/${data.key}`;
}

async function readData(store: ObjectStore, data: InferenceDataRef, maxBytes: number, source: string): Promise<TimeFrame> {
  const table = typeof data === 'string' ? await readTable(data, maxBytes) : readTableBytes(await store.get(data.bucket, data.key), source);
  // Training data merges repeated timestamps; rows to forecast from are refused for them, as /predict refuses them.
  if (table.mergedRows > 0) {
    throw new FltsError('FLTS_REQUEST_INVALID', `${source} repeats a timestamp in ${table.mergedRows} row(s); timestamps must be unique (a zero time step).`, {
      details: { source, repeatedRows: table.mergedRows },
      hint: 'Keep one row per time. Local times repeat when clocks go back (DST): write them with their UTC offset (2024-10-27T02:30:00+02:00, then +01:00), or in UTC.',
    });
  }
  return table.frame;
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
 * Reads the data to forecast over (rows in any order, sorted by time) and checks it the way `/predict` checks a
 * request: every needed column present and finite, no timestamp repeated (so the step is never zero, F9).
 */
export async function loadInferenceInput(store: ObjectStore, settings: Settings, plan: FeaturePlan, data: InferenceDataRef, scale: InputScale = 'auto'): Promise<InferenceInput> {
  const source = describeDataRef(data);
  const frame = await readData(store, data, settings.data.maxInputBytes, source);
  const scaled = decideScaled(plan, frame, data, scale, settings);
  const needed = scaled ? plan.window.features : plan.rawColumns;
  const missing = needed.filter((name) => frame.values[name] === undefined);
  if (missing.length > 0) {
    const expected = scaled ? 'processed (scaled) data with every model feature' : 'raw data with the raw model columns';
    throw new FltsError('FLTS_REQUEST_INVALID', `${source} lacks column(s) ${listNames(missing)}; read as ${expected} (columns: ${listNames(frame.columns)}).`, {
      details: { source, missing, scaled },
      hint: 'Give the columns the run was trained on; --scale raw or --scale scaled says which of the two the data is when auto guesses wrong.',
    });
  }
  for (const name of needed) {
    const row = frame.values[name].findIndex((value) => !Number.isFinite(value));
    if (row >= 0) {
      throw new FltsError('FLTS_REQUEST_INVALID', `${source}: column '${name}' has a missing, NaN or infinite value at ${formatTimestamp(frame.time[row])} (row ${row} in time order); every feature value must be a finite number.`, {
        details: { source, column: name, row, time: formatTimestamp(frame.time[row]) },
        hint: MISSING_VALUE_HINT,
      });
    }
  }
  if (frame.time.length < plan.window.inputSeqLen || frame.time.length < 2) {
    throw new FltsError('FLTS_MODEL_TOO_FEW_ROWS', `${source} has ${frame.time.length} rows; the model needs at least ${Math.max(2, plan.window.inputSeqLen)} (its input window).`, {
      details: { source, rows: frame.time.length, inputSeqLen: plan.window.inputSeqLen },
    });
  }
  return { frame, scaled, cadenceMs: detectCadence(frame.time), source };
}
