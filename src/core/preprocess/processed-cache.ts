import type { Settings } from '../config/settings.js';
import { getJsonIfExists } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { sameFingerprint } from './input-fingerprint.js';
import { processedKeys, writeStampMismatch, type InputFingerprint, type ProcessedSidecar } from './processed-layout.js';

export interface CacheQuery {
  configHash: string;
  fingerprints: { train: InputFingerprint; test: InputFingerprint };
  /** Only compared when it changes the rows (random sampling with a row limit). */
  sampleSeed?: number;
}

export interface CacheHit {
  sidecar: ProcessedSidecar;
  testRows: number;
}

function matches(sidecar: ProcessedSidecar | undefined, query: CacheQuery): boolean {
  const extras = sidecar?.flts;
  return (
    sidecar !== undefined &&
    extras !== undefined &&
    sidecar.config_hash === query.configHash &&
    sameFingerprint(extras.fingerprints?.train, query.fingerprints.train) &&
    sameFingerprint(extras.fingerprints?.test, query.fingerprints.test) &&
    (query.sampleSeed === undefined || extras.sample_seed === query.sampleSeed)
  );
}

/** Whether every Parquet file exists and was written with the sidecar (not by an interrupted or concurrent preprocess). */
async function sameWrite(store: ObjectStore, bucket: string, sidecar: ProcessedSidecar, parquetKeys: string[]): Promise<boolean> {
  const checks = parquetKeys.map(async (key) => {
    const bytes = await store.get(bucket, key).catch(() => undefined);
    if (!bytes) return false;
    try {
      return writeStampMismatch(sidecar, bytes) === undefined;
    } catch {
      return false;
    }
  });
  return (await Promise.all(checks)).every(Boolean);
}

/** A complete, matching set under one prefix (the root or `<config_hash>/`), or undefined. */
async function completeSet(store: ObjectStore, settings: Settings, query: CacheQuery, configHash?: string): Promise<CacheHit | undefined> {
  const bucket = settings.store.buckets.processed;
  const keys = processedKeys(settings, configHash);
  const sidecar = await getJsonIfExists<ProcessedSidecar>(store, bucket, keys.trainSidecar);
  if (!matches(sidecar, query)) return undefined;
  if (!(await sameWrite(store, bucket, sidecar as ProcessedSidecar, [keys.trainParquet, keys.testParquet]))) return undefined;
  if (keys.scaler && !(await store.exists(bucket, keys.scaler))) return undefined;
  const testSidecar = await getJsonIfExists<ProcessedSidecar>(store, bucket, keys.testSidecar);
  if (!testSidecar || testSidecar.config_hash !== query.configHash) return undefined;
  return { sidecar: sidecar as ProcessedSidecar, testRows: testSidecar.row_count };
}

/**
 * Cached means: same config_hash, same input bytes (F14), same seed when it matters (F7), and every
 * output object present, both the latest (root) set and the versioned copy. Anything less is recomputed,
 * which costs well under a second.
 */
export async function findCachedOutputs(store: ObjectStore, settings: Settings, query: CacheQuery): Promise<CacheHit | undefined> {
  const latest = await completeSet(store, settings, query);
  if (!latest) return undefined;
  return (await completeSet(store, settings, query, query.configHash)) ? latest : undefined;
}
