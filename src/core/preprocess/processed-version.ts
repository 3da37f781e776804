import type { Settings } from '../config/settings.js';
import type { ScalerParams } from '../data/scaler.js';
import { clip } from '../clip-text.js';
import { FltsError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { getJsonIfExists } from '../storage/json-objects.js';
import { isConfigHash, processedCreatedAt, processedKeys, writeStampMismatch, type ProcessedSidecar } from './processed-layout.js';

/** The processed data version an object belongs to, and the scaler its values are on (when it is known). */
export interface ProcessedVersion {
  configHash: string;
  /** Absent for data written without flts' sidecar extras (by the reference), or with no sidecar left. */
  scaler?: ScalerParams;
}

export interface ProcessedObject {
  bucket: string;
  /** What to read: the version's own `<config_hash>/` copy where one exists. */
  key: string;
  /** Unknown for an object outside the processed layout that no claim names a version for. */
  version?: ProcessedVersion;
  /** The sidecar written with `key`, for objects of the layout: the Parquet bytes read must be that write. */
  writtenWith?: ProcessedSidecar;
}

function versionGone(message: string, details: Record<string, unknown>): FltsError {
  return new FltsError('FLTS_DATA_VERSION_GONE', message, { details });
}

/** `train` or `test` when `file` is one of the layout's Parquet names. */
function layoutFile(settings: Settings, file: string): 'train' | 'test' | undefined {
  const root = processedKeys(settings);
  if (file === root.testParquet) return 'test';
  if (file === root.trainParquet) return 'train';
  return undefined;
}

function sidecarKey(settings: Settings, file: 'train' | 'test', configHash?: string): string {
  const keys = processedKeys(settings, configHash);
  return file === 'test' ? keys.testSidecar : keys.trainSidecar;
}

function parquetKey(settings: Settings, file: 'train' | 'test', configHash?: string): string {
  const keys = processedKeys(settings, configHash);
  return file === 'test' ? keys.testParquet : keys.trainParquet;
}

const versionOf = (sidecar: ProcessedSidecar): ProcessedVersion => ({ configHash: sidecar.config_hash, ...(sidecar.flts ? { scaler: sidecar.flts.scaler } : {}) });

/**
 * The sidecar of one version: its `<config_hash>/` copy, else the root set while it is still that version.
 * A root set replaced by a newer preprocess is never taken for the version asked for.
 */
async function findVersion(store: ObjectStore, settings: Settings, bucket: string, file: 'train' | 'test', configHash: string): Promise<{ sidecar: ProcessedSidecar; versioned: boolean } | undefined> {
  const versioned = await getJsonIfExists<ProcessedSidecar>(store, bucket, sidecarKey(settings, file, configHash));
  if (versioned?.config_hash === configHash) return { sidecar: versioned, versioned: true };
  const root = await getJsonIfExists<ProcessedSidecar>(store, bucket, sidecarKey(settings, file));
  return root?.config_hash === configHash ? { sidecar: root, versioned: false } : undefined;
}

/**
 * Whether `configHash`, named with `key` (a claim's config_hash), cannot say which version of the processed data's own
 * root file (test_processed_data.parquet, processed_data.parquet) to read: that key holds whichever version was
 * processed last, and only a version named in full (64 lower-case hex, as preprocess writes it) tells whether it still
 * holds that one. Any other object is read as named, whatever token comes with it.
 */
export function namesNoVersion(settings: Settings, key: string, configHash: string | undefined): boolean {
  return configHash !== undefined && !isConfigHash(configHash) && layoutFile(settings, key) !== undefined;
}

/**
 * Which bytes to read for `<bucket>/<key>` and which data version (and so which scaler) they are on.
 * `configHash` is the version a claim names; without it the version follows from the key: `<config_hash>/...`,
 * or the latest version's for the root objects. An object outside the layout is read as named and belongs to
 * the version the claim names. A version named but gone is refused: forecasting another version's rows (or
 * reading its rows on the wrong scale) would be silently wrong. So is a root object named with a token that is no
 * version (upper case, "default_cfg"): read on, every caller (a forecast of the claim, a replica scoring its live
 * forecasts on the claim's actuals) would take whatever version the root holds now, unchecked.
 */
export async function resolveProcessedObject(store: ObjectStore, settings: Settings, bucket: string, key: string, configHash?: string): Promise<ProcessedObject> {
  const slash = key.indexOf('/');
  const prefix = slash > 0 ? key.slice(0, slash) : undefined;
  const rootFile = layoutFile(settings, key);
  const versionedFile = prefix !== undefined && isConfigHash(prefix) ? layoutFile(settings, key.slice(slash + 1)) : undefined;

  if (versionedFile) {
    if (configHash !== undefined && configHash !== prefix) {
      throw versionGone(`${bucket}/${key} is processed data of config_hash ${prefix}, not of the ${configHash} named with it.`, { bucket, key, configHash, keyConfigHash: prefix });
    }
    const found = await findVersion(store, settings, bucket, versionedFile, prefix!);
    if (!found?.versioned) throw versionGone(`Processed data version ${prefix} is gone from '${bucket}' (${sidecarKey(settings, versionedFile, prefix)} is missing).`, { bucket, key, configHash: prefix });
    return { bucket, key, version: versionOf(found.sidecar), writtenWith: found.sidecar };
  }

  if (rootFile) {
    if (configHash !== undefined && !isConfigHash(configHash)) {
      throw versionGone(`config_hash ${JSON.stringify(clip(configHash))} names no processed data version (a version is 64 lower-case hex characters), so ${bucket}/${key}, which holds the version processed last, cannot be read as it.`, {
        bucket,
        key,
        configHash: clip(configHash),
      });
    }
    const wanted = configHash ?? (await getJsonIfExists<ProcessedSidecar>(store, bucket, sidecarKey(settings, rootFile)))?.config_hash;
    // Data put at the root by hand (no sidecar) has no version to keep to.
    if (wanted === undefined || !isConfigHash(wanted)) return { bucket, key };
    const found = await findVersion(store, settings, bucket, rootFile, wanted);
    if (!found) {
      throw versionGone(`Processed data version ${wanted} is gone from '${bucket}': ${key} holds another version now and ${parquetKey(settings, rootFile, wanted)} does not exist.`, { bucket, key, configHash: wanted });
    }
    return { bucket, key: found.versioned ? parquetKey(settings, rootFile, wanted) : key, version: versionOf(found.sidecar), writtenWith: found.sidecar };
  }

  if (configHash === undefined || !isConfigHash(configHash)) return { bucket, key };
  // Any object of the version has its scaler; the train sidecar is the one every complete set has.
  const found = await findVersion(store, settings, bucket, 'train', configHash);
  return { bucket, key, version: found ? versionOf(found.sidecar) : { configHash } };
}

/**
 * Refuses Parquet bytes another preprocess wrote than the one whose sidecar named the version: the root set was
 * replaced between reading the sidecar and the data.
 */
export function assertSameWrite(object: ProcessedObject, bytes: Uint8Array): void {
  if (!object.writtenWith) return;
  const stamp = writeStampMismatch(object.writtenWith, bytes);
  if (stamp) {
    throw versionGone(
      `Processed data version ${object.writtenWith.config_hash} was replaced while it was read: ${object.bucket}/${object.key} was written at ${stamp}, its sidecar at ${processedCreatedAt(object.writtenWith)}.`,
      { bucket: object.bucket, key: object.key, configHash: object.writtenWith.config_hash, written: stamp },
    );
  }
}
