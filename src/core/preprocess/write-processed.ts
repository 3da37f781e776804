import type { Settings } from '../config/settings.js';
import { encodeFrameParquet } from '../data/frame-parquet.js';
import type { TimeFrame } from '../data/time-frame.js';
import type { ObjectStore } from '../storage/object-store.js';
import { putJson } from '../storage/json-objects.js';
import { processedKeys, WRITE_STAMP_KEY, type FltsSidecarExtras, type ProcessedKeys, type ProcessedSidecar } from './processed-layout.js';

export interface ProcessedOutput {
  configHash: string;
  canonicalConfig: string;
  train: TimeFrame;
  test: TimeFrame;
  trainSource: string;
  testSource: string;
  extras: FltsSidecarExtras;
  createdAt: Date;
}

/** UTC ISO time with `Z` and seconds precision, as the reference writes `created_at`. */
export function isoUtc(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function sidecarFor(settings: Settings, output: ProcessedOutput, frame: TimeFrame, objectKey: string): ProcessedSidecar {
  return {
    identifier: settings.identifier,
    source_bucket: settings.store.buckets.dataset,
    train_source_object: output.trainSource,
    test_source_object: output.testSource,
    config: output.canonicalConfig,
    config_hash: output.configHash,
    created_at: isoUtc(output.createdAt),
    scaler_type: output.extras.scaler.method,
    output_object: objectKey,
    row_count: frame.time.length,
    column_names: [...frame.columns],
    flts: { ...output.extras, created_at: output.createdAt.toISOString() },
  };
}

async function writeSet(store: ObjectStore, bucket: string, keys: ProcessedKeys, settings: Settings, output: ProcessedOutput, parquet: { train: Buffer; test: Buffer }): Promise<string[]> {
  await store.put(bucket, keys.trainParquet, parquet.train, { contentType: 'application/vnd.apache.parquet' });
  await store.put(bucket, keys.testParquet, parquet.test, { contentType: 'application/vnd.apache.parquet' });
  if (keys.scaler) await putJson(store, bucket, keys.scaler, output.extras.scaler);
  // The train sidecar is what the cache check reads, so it is written last: it marks a complete set.
  await store.put(bucket, keys.testSidecar, JSON.stringify(sidecarFor(settings, output, output.test, keys.testParquet)), { contentType: 'application/json' });
  await store.put(bucket, keys.trainSidecar, JSON.stringify(sidecarFor(settings, output, output.train, keys.trainParquet)), { contentType: 'application/json' });
  return Object.values(keys).filter((key): key is string => key !== undefined);
}

/**
 * Writes the versioned copy under `<config_hash>/` first, then the reference layout at the bucket root.
 * Returns every key written.
 */
export async function writeProcessedOutputs(store: ObjectStore, settings: Settings, output: ProcessedOutput): Promise<string[]> {
  const bucket = settings.store.buckets.processed;
  await store.ensureBucket(bucket);
  // The stamp ties each Parquet file to the sidecars written with it, so a set mixed by an interrupted or
  // concurrent preprocess is recognised instead of read as one version.
  const metadata = { preprocess_config: output.canonicalConfig, config_hash: output.configHash, [WRITE_STAMP_KEY]: output.createdAt.toISOString() };
  const parquet = { train: encodeFrameParquet(output.train, metadata), test: encodeFrameParquet(output.test, metadata) };
  const versioned = await writeSet(store, bucket, processedKeys(settings, output.configHash), settings, output, parquet);
  const latest = await writeSet(store, bucket, processedKeys(settings), settings, output, parquet);
  return [...latest, ...versioned];
}

/**
 * Makes a version kept under `<config_hash>/` the latest again, as it was written: the same Parquet bytes (their
 * write stamps included) and sidecars at the root, each naming its root object, so its `created_at` stays the time
 * its rows were processed, not the time settings came back to it. The train sidecar goes last, as in a write.
 */
export async function restoreLatestFromVersion(store: ObjectStore, settings: Settings, configHash: string, sidecars: { train: ProcessedSidecar; test: ProcessedSidecar }): Promise<string[]> {
  const bucket = settings.store.buckets.processed;
  const from = processedKeys(settings, configHash);
  const to = processedKeys(settings);
  const [train, test] = await Promise.all([store.get(bucket, from.trainParquet), store.get(bucket, from.testParquet)]);
  await store.put(bucket, to.trainParquet, train, { contentType: 'application/vnd.apache.parquet' });
  await store.put(bucket, to.testParquet, test, { contentType: 'application/vnd.apache.parquet' });
  await store.put(bucket, to.testSidecar, JSON.stringify({ ...sidecars.test, output_object: to.testParquet }), { contentType: 'application/json' });
  await store.put(bucket, to.trainSidecar, JSON.stringify({ ...sidecars.train, output_object: to.trainParquet }), { contentType: 'application/json' });
  return Object.values(to).filter((key): key is string => key !== undefined);
}
