import type { Settings } from '../config/settings.js';
import { decodeFrameParquet } from '../data/frame-parquet.js';
import type { ScalerParams } from '../data/scaler.js';
import type { TimeFrame } from '../data/time-frame.js';
import { FltsError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { getJsonIfExists } from '../storage/json-objects.js';
import { isConfigHash, processedCreatedAt, processedKeys, writeStampMismatch, type FltsSidecarExtras, type ProcessedKeys, type ProcessedSidecar } from './processed-layout.js';

export interface LoadProcessedDataOptions {
  /** A specific processed version; without it, the latest (the objects at the bucket root). */
  configHash?: string;
}

export interface ProcessedData {
  configHash: string;
  sidecar: ProcessedSidecar;
  train: TimeFrame;
  test: TimeFrame;
  /** Fitted on the training data; the test data is already on this scale. */
  scaler: ScalerParams;
  /** Feature columns in order (without `time`). */
  columns: string[];
}

function notProcessed(message: string, details: Record<string, unknown>): FltsError {
  return new FltsError('FLTS_DATA_NOT_PROCESSED', message, { details });
}

/** Reads only the train sidecar: enough to know which version is latest and what produced it. */
export async function readProcessedSidecar(store: ObjectStore, settings: Settings, configHash?: string): Promise<ProcessedSidecar | undefined> {
  return getJsonIfExists<ProcessedSidecar>(store, settings.store.buckets.processed, processedKeys(settings, configHash).trainSidecar);
}

/**
 * The keys to read for a version: the latest is read from its own `<config_hash>/` copy when that copy is the
 * same write as the root sidecar, so a preprocess replacing the root files meanwhile cannot mix two versions.
 */
async function keysToRead(store: ObjectStore, settings: Settings, sidecar: ProcessedSidecar, configHash: string | undefined): Promise<ProcessedKeys> {
  const keys = processedKeys(settings, configHash);
  if (configHash !== undefined || !isConfigHash(sidecar.config_hash)) return keys;
  const versioned = processedKeys(settings, sidecar.config_hash);
  const copy = await getJsonIfExists<ProcessedSidecar>(store, settings.store.buckets.processed, versioned.trainSidecar).catch(() => undefined);
  return copy && processedCreatedAt(copy) === processedCreatedAt(sidecar) ? versioned : keys;
}

interface ProcessedVersion {
  sidecar: ProcessedSidecar & { flts: FltsSidecarExtras };
  keys: ProcessedKeys;
  /** One Parquet file of the version, refused when missing or written by another preprocess than the sidecar. */
  read(key: string): Promise<TimeFrame>;
}

/** A version by its sidecar, refused (FLTS_DATA_NOT_PROCESSED) when missing, not written by flts, or of another config_hash. */
async function openVersion(store: ObjectStore, settings: Settings, options: LoadProcessedDataOptions): Promise<ProcessedVersion> {
  const bucket = settings.store.buckets.processed;
  const rootKeys = processedKeys(settings, options.configHash);
  const where = options.configHash ? `config_hash ${options.configHash}` : 'the latest version';
  const sidecar = await getJsonIfExists<ProcessedSidecar>(store, bucket, rootKeys.trainSidecar);
  if (!sidecar) {
    // The store's location is what tells a command run from another directory (or --home) than preprocess's.
    throw notProcessed(`No processed data for ${where} in bucket '${bucket}' of the store at ${store.location} (${rootKeys.trainSidecar} is missing).`, {
      bucket,
      key: rootKeys.trainSidecar,
      store: store.location,
    });
  }
  const { flts } = sidecar;
  if (!flts) {
    throw notProcessed(`Processed data in '${bucket}' was written without its scaler (by another tool); run \`flts preprocess\` to rewrite it.`, { bucket, key: rootKeys.trainSidecar });
  }
  if (options.configHash && sidecar.config_hash !== options.configHash) {
    throw notProcessed(`${rootKeys.trainSidecar} records config_hash ${sidecar.config_hash}, not ${options.configHash}.`, { bucket, key: rootKeys.trainSidecar });
  }
  const keys = await keysToRead(store, settings, sidecar, options.configHash);
  const read = async (key: string): Promise<TimeFrame> => {
    if (!(await store.exists(bucket, key))) throw notProcessed(`Processed data for ${where} is incomplete: ${bucket}/${key} is missing.`, { bucket, key });
    const bytes = await store.get(bucket, key);
    const frame = decodeFrameParquet(bytes, `${bucket}/${key}`);
    const stamp = writeStampMismatch(sidecar, bytes);
    if (stamp) {
      throw notProcessed(
        `Processed data for ${where} is mixed: ${bucket}/${key} was written at ${stamp}, its sidecar ${rootKeys.trainSidecar} at ${flts.created_at} (a preprocess was interrupted or ran at the same time); run \`flts preprocess\` again.`,
        { bucket, key, written: stamp, sidecarWritten: flts.created_at },
      );
    }
    return frame;
  };
  return { sidecar: { ...sidecar, flts }, keys, read };
}

/** Processed train and test data plus the scaler that produced them, as written by `flts preprocess`. */
export async function loadProcessedData(store: ObjectStore, settings: Settings, options: LoadProcessedDataOptions = {}): Promise<ProcessedData> {
  const { sidecar, keys, read } = await openVersion(store, settings, options);
  const [train, test] = await Promise.all([read(keys.trainParquet), read(keys.testParquet)]);
  return { configHash: sidecar.config_hash, sidecar, train, test, scaler: sidecar.flts.scaler, columns: [...train.columns] };
}

/**
 * The processed test frame alone, checked as `loadProcessedData` checks it: what serving keeps its last input window
 * from, without decoding the training file (the larger one) at every model load only to drop it.
 */
export async function loadProcessedTestFrame(store: ObjectStore, settings: Settings, options: LoadProcessedDataOptions = {}): Promise<TimeFrame> {
  const { keys, read } = await openVersion(store, settings, options);
  return read(keys.testParquet);
}
