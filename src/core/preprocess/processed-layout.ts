import type { Settings } from '../config/settings.js';
import { clip } from '../clip-text.js';
import type { IndistinctColumn, ScalerParams } from '../data/scaler.js';
import type { TimeSteps } from '../data/time-steps.js';
import { readParquetKeyValueMetadata } from '../data/parquet-footer.js';
import { FltsError } from '../errors.js';
import { joinKey } from '../storage/keys.js';

/** Content fingerprint of one input file: the lineage that config_hash (file names only) cannot give. */
export interface InputFingerprint {
  file: string;
  sha256: string;
  bytes: number;
}

/** An input file's rows that were out of time order (sorted) and that repeated a timestamp (merged), as read. */
export interface RowsAsRead {
  unordered_rows: number;
  merged_rows: number;
}

/** What flts adds to the reference sidecar, under its own key so reference readers ignore it. */
export interface FltsSidecarExtras {
  version: string;
  fingerprints: { train: InputFingerprint; test: InputFingerprint };
  sample_seed: number;
  sample_strategy: string;
  scaler: ScalerParams;
  time_column: string;
  dropped_columns: string[];
  imputed_cells: number;
  /** Rows of the two input files merged into another row with the same timestamp (absent before 2026-12). */
  merged_rows?: number;
  /** Cells of the two input files that read as an infinity, kept as missing (absent before 2026-12). */
  infinite_cells?: number;
  /** Rows of the two input files earlier than the row before them, sorted into time order (absent before 2026-12). */
  unordered_rows?: number;
  /**
   * Each input file's rows out of time order and merged into a row of the same time, as read: the two sums above do
   * not say which file to name, so a cached run warns again from these (absent before 2026-12-07: it warned of neither).
   */
  rows_as_read?: { train: RowsAsRead; test: RowsAsRead };
  /**
   * The processed training rows' most common step in ms (detectCadence, what SNAIVE's day of rows is counted at), once
   * there are two rows (absent before 2026-12).
   */
  train_step_ms?: number;
  /** Each input file's time steps as read, before sampling: dominant step, gaps, shorter steps (absent before 2026-12). */
  time_steps?: { train?: TimeSteps; test?: TimeSteps };
  /**
   * `created_at` to the millisecond: the reference's field has whole seconds, and two versions written within
   * one second must still order (the promoter never moves the pointer to older data).
   */
  created_at?: string;
  /**
   * SHA-256 of the processed content (processedContentSha256; absent before 2026-12): what a run records of the data it
   * was trained on, so a run counts as trained on this version only while the version holds the same data.
   */
  data_sha256?: string;
  /**
   * Test rows at or before the training file's last time (as read), 0 included, warned about again when the version
   * is found cached. Absent in versions processed before it was recorded (2026-12) or recorded only when above 0: their
   * files are read again and checked when found cached.
   */
  test_rows_not_after_train?: number;
  /** Training columns that, scaled, float32 cannot tell apart (scaledIndistinct; empty for none), warned about again when cached (absent before 2026-12). */
  scaled_values_indistinct?: IndistinctColumn[];
}

/** The reference's `<name>.meta.json` (compact JSON), plus `flts`. */
export interface ProcessedSidecar {
  identifier: string;
  source_bucket: string;
  train_source_object: string;
  test_source_object: string;
  config: string;
  config_hash: string;
  created_at: string;
  scaler_type: string;
  output_object: string;
  row_count: number;
  column_names: string[];
  flts?: FltsSidecarExtras;
}

export interface ProcessedKeys {
  trainParquet: string;
  testParquet: string;
  trainSidecar: string;
  testSidecar: string;
  /** Only under `<config_hash>/`: the fitted scaler on its own, for readers that want nothing else. */
  scaler?: string;
}

/** Parquet key-value metadata naming the write the file belongs to: the sidecar's `flts.created_at`. */
export const WRITE_STAMP_KEY = 'flts_created_at';

/**
 * Whether a Parquet file of a processed set was written together with its sidecar. Files or sidecars
 * written before the stamp existed (or by the reference) have nothing to compare and count as matching.
 */
export function writeStampMismatch(sidecar: ProcessedSidecar, parquet: Uint8Array): string | undefined {
  const expected = sidecar.flts?.created_at;
  const found = readParquetKeyValueMetadata(parquet)[WRITE_STAMP_KEY];
  return expected && found && found !== expected ? found : undefined;
}

/** When a processed version was written, as precisely as its sidecar says (sidecars by the reference: whole seconds). */
export function processedCreatedAt(sidecar: ProcessedSidecar): string {
  return sidecar.flts?.created_at ?? sidecar.created_at;
}

const CONFIG_HASH_PATTERN = /^[0-9a-f]{64}$/;

export const isConfigHash = (value: string): boolean => CONFIG_HASH_PATTERN.test(value);

export function assertConfigHash(configHash: string): void {
  if (!isConfigHash(configHash)) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `Invalid config hash ${JSON.stringify(clip(configHash))}: expected 64 lower-case hex characters.`, {
      details: { configHash: clip(configHash) },
    });
  }
}

function keysUnder(settings: Settings, prefix: string, withScaler: boolean): ProcessedKeys {
  const { trainOutput, testOutput } = settings.store.objects;
  return {
    trainParquet: joinKey(prefix, `${trainOutput}.parquet`),
    testParquet: joinKey(prefix, `${testOutput}.parquet`),
    trainSidecar: joinKey(prefix, `${trainOutput}.meta.json`),
    testSidecar: joinKey(prefix, `${testOutput}.meta.json`),
    ...(withScaler ? { scaler: joinKey(prefix, 'scaler.json') } : {}),
  };
}

/**
 * The reference layout at the bucket root (the latest processed data, what reference trainers read), and the
 * same files under `<config_hash>/` so any earlier processed version stays addressable.
 */
export function processedKeys(settings: Settings, configHash?: string): ProcessedKeys {
  if (configHash !== undefined) assertConfigHash(configHash);
  return keysUnder(settings, configHash ?? '', configHash !== undefined);
}

/**
 * Versions of one config_hash that other rows under the same file names replaced, newest first, beyond the one
 * `<config_hash>/` holds: coming back to inputs processed before finds their version instead of recomputing it.
 */
export const EARLIER_VERSIONS_KEPT = 4;

/** The folder of a config_hash's earlier versions, one `<data_sha256>/` folder each. */
export function earlierVersionsPrefix(configHash: string): string {
  assertConfigHash(configHash);
  return `${configHash}/earlier/`;
}

/** The folder of a config_hash's input aliases (input-aliases.ts). */
export function inputAliasesPrefix(configHash: string): string {
  assertConfigHash(configHash);
  return `${configHash}/inputs/`;
}

export function inputAliasKey(configHash: string, digest: string): string {
  return `${inputAliasesPrefix(configHash)}${digest}.json`;
}

/** The files of an earlier version of `configHash`, named by its processed content (`flts.data_sha256`). */
export function earlierVersionKeys(settings: Settings, configHash: string, dataSha256: string): ProcessedKeys {
  assertConfigHash(dataSha256);
  return keysUnder(settings, `${earlierVersionsPrefix(configHash)}${dataSha256}`, true);
}
