import type { Settings } from '../config/settings.js';
import { encodeFrameParquet } from '../data/frame-parquet.js';
import type { TimeFrame } from '../data/time-frame.js';
import type { ObjectStore } from '../storage/object-store.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import {
  EARLIER_VERSIONS_KEPT,
  earlierVersionKeys,
  earlierVersionsPrefix,
  isConfigHash,
  processedCreatedAt,
  processedKeys,
  WRITE_STAMP_KEY,
  writeStampMismatch,
  type FltsSidecarExtras,
  type ProcessedKeys,
  type ProcessedSidecar,
} from './processed-layout.js';
import { pruneInputAliases } from './input-aliases.js';

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
 * Returns every key written. `scratchDir`: where the Parquet writer may work (encodeFrameParquet).
 */
export async function writeProcessedOutputs(store: ObjectStore, settings: Settings, output: ProcessedOutput, scratchDir?: string): Promise<string[]> {
  const bucket = settings.store.buckets.processed;
  await store.ensureBucket(bucket);
  // The stamp ties each Parquet file to the sidecars written with it, so a set mixed by an interrupted or
  // concurrent preprocess is recognised instead of read as one version.
  const metadata = { preprocess_config: output.canonicalConfig, config_hash: output.configHash, [WRITE_STAMP_KEY]: output.createdAt.toISOString() };
  const parquet = { train: encodeFrameParquet(output.train, metadata, scratchDir), test: encodeFrameParquet(output.test, metadata, scratchDir) };
  await keepEarlierVersion(store, settings, output.configHash, output.extras.data_sha256);
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

const PARQUET = { contentType: 'application/vnd.apache.parquet' };
const JSON_TYPE = { contentType: 'application/json' };

/**
 * Copies one complete set as it was written (the Parquet bytes with their write stamps, the scaler, the sidecars
 * naming their new objects), the train sidecar last as in a write: a copy cut short is no set.
 */
async function copySet(store: ObjectStore, bucket: string, from: ProcessedKeys, to: ProcessedKeys, sidecars: { train: ProcessedSidecar; test: ProcessedSidecar }): Promise<string[]> {
  const [train, test] = await Promise.all([store.get(bucket, from.trainParquet), store.get(bucket, from.testParquet)]);
  await store.put(bucket, to.trainParquet, train, PARQUET);
  await store.put(bucket, to.testParquet, test, PARQUET);
  if (to.scaler) {
    const scaler = from.scaler ? await store.get(bucket, from.scaler).catch(() => undefined) : undefined;
    await store.put(bucket, to.scaler, scaler ?? JSON.stringify(sidecars.train.flts?.scaler), JSON_TYPE);
  }
  await store.put(bucket, to.testSidecar, JSON.stringify({ ...sidecars.test, output_object: to.testParquet }), JSON_TYPE);
  await store.put(bucket, to.trainSidecar, JSON.stringify({ ...sidecars.train, output_object: to.trainParquet }), JSON_TYPE);
  return Object.values(to).filter((key): key is string => key !== undefined);
}

/** The sidecars of the complete set under `keys` (its Parquet files written with them), or undefined. */
async function completeSidecars(store: ObjectStore, bucket: string, keys: ProcessedKeys): Promise<{ train: ProcessedSidecar; test: ProcessedSidecar } | undefined> {
  const [train, test] = await Promise.all([getJsonIfExists<ProcessedSidecar>(store, bucket, keys.trainSidecar), getJsonIfExists<ProcessedSidecar>(store, bucket, keys.testSidecar)]);
  if (!train || !test || train.config_hash !== test.config_hash) return undefined;
  for (const key of [keys.trainParquet, keys.testParquet]) {
    const bytes = await store.get(bucket, key).catch(() => undefined);
    if (!bytes || writeStampMismatch(train, bytes) !== undefined) return undefined;
  }
  return { train, test };
}

/**
 * Before `<config_hash>/` takes a version of other content (new rows under the same file names), the one it holds
 * moves to `<config_hash>/earlier/<data_sha256>/`, so coming back to its inputs finds it. Versions written before
 * their content was recorded (no `flts.data_sha256`) have no name there and are not kept.
 */
async function keepEarlierVersion(store: ObjectStore, settings: Settings, configHash: string, replacedBy: string | undefined, prune = true): Promise<void> {
  const bucket = settings.store.buckets.processed;
  const slot = processedKeys(settings, configHash);
  const held = await completeSidecars(store, bucket, slot).catch(() => undefined);
  const content = held?.train.flts?.data_sha256;
  if (!held || held.train.config_hash !== configHash || content === undefined || !isConfigHash(content) || content === replacedBy) return;
  await copySet(store, bucket, slot, earlierVersionKeys(settings, configHash, content), held);
  if (prune) await pruneEarlierVersions(store, settings, configHash, replacedBy);
}

/** Deletes one earlier version's folder. */
async function dropEarlierVersion(store: ObjectStore, bucket: string, folder: string): Promise<void> {
  const keys = (await store.list(bucket, folder)).map((info) => info.key);
  if (keys.length > 0) await store.deleteMany(bucket, keys);
  await store.removeEmptyFolder?.(bucket, folder);
}

/**
 * Keeps the EARLIER_VERSIONS_KEPT newest earlier versions of `configHash` (by created_at); copies cut short go too,
 * and so do the input aliases of content neither they nor `<config_hash>/` (`current`) hold.
 */
async function pruneEarlierVersions(store: ObjectStore, settings: Settings, configHash: string, current: string | undefined): Promise<void> {
  const bucket = settings.store.buckets.processed;
  const folders = await store.listFolders(bucket, earlierVersionsPrefix(configHash));
  const dated = await Promise.all(
    folders.map(async (folder) => {
      const name = folder.slice(0, -1).split('/').pop() ?? '';
      const sidecar = isConfigHash(name) ? await getJsonIfExists<ProcessedSidecar>(store, bucket, earlierVersionKeys(settings, configHash, name).trainSidecar).catch(() => undefined) : undefined;
      const createdAt = sidecar ? Date.parse(processedCreatedAt(sidecar)) : Number.NaN;
      return { folder, createdAt: Number.isFinite(createdAt) ? createdAt : -Infinity };
    }),
  );
  dated.sort((a, b) => b.createdAt - a.createdAt);
  const dropped = dated.filter((entry, index) => index >= EARLIER_VERSIONS_KEPT || entry.createdAt === -Infinity);
  for (const { folder } of dropped) await dropEarlierVersion(store, bucket, folder);
  const kept = dated.filter((entry) => !dropped.includes(entry)).map(({ folder }) => folder.slice(0, -1).split('/').pop() ?? '');
  await pruneInputAliases(store, settings, configHash, new Set(current === undefined ? kept : [...kept, current]));
}

/**
 * Makes an earlier version of `configHash` its version and the latest again, as it was written (its created_at
 * kept): the version `<config_hash>/` held moves to the earlier ones, the earlier one takes its place and the root's,
 * and its earlier copy goes. Returns the root keys written.
 */
export async function restoreEarlierVersion(store: ObjectStore, settings: Settings, configHash: string, dataSha256: string, sidecars: { train: ProcessedSidecar; test: ProcessedSidecar }): Promise<string[]> {
  const bucket = settings.store.buckets.processed;
  const earlier = earlierVersionKeys(settings, configHash, dataSha256);
  // Pruned once the version restored has left the earlier ones, which it could otherwise be the oldest of.
  await keepEarlierVersion(store, settings, configHash, dataSha256, false);
  await copySet(store, bucket, earlier, processedKeys(settings, configHash), sidecars);
  const restored = await copySet(store, bucket, earlier, processedKeys(settings), sidecars);
  await dropEarlierVersion(store, bucket, `${earlierVersionsPrefix(configHash)}${dataSha256}/`);
  await pruneEarlierVersions(store, settings, configHash, dataSha256);
  return restored;
}
