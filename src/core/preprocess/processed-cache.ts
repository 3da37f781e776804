import type { Settings } from '../config/settings.js';
import { getJsonIfExists } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { sameFingerprint } from './input-fingerprint.js';
import {
  earlierVersionKeys,
  earlierVersionsPrefix,
  isConfigHash,
  processedKeys,
  writeStampMismatch,
  type FltsSidecarExtras,
  type InputFingerprint,
  type ProcessedKeys,
  type ProcessedSidecar,
} from './processed-layout.js';

export interface CacheQuery {
  configHash: string;
  fingerprints: { train: InputFingerprint; test: InputFingerprint };
  /** Only compared when it changes the rows (random sampling with a row limit). */
  sampleSeed?: number;
}

export interface CacheHit {
  sidecar: ProcessedSidecar;
  testRows: number;
  /**
   * `latest`: the root set and the `<config_hash>/` copy both hold the version. `versioned`: only the copy does, the
   * root holding another version since (settings changed and came back): the copy is what to make the latest again.
   * `earlier`: only `<config_hash>/earlier/<data_sha256>/` does, other rows under the same file names processed since
   * (the inputs changed and came back): what to make the config_hash's version and the latest again.
   */
  held: 'latest' | 'versioned' | 'earlier';
  /** `earlier` only: the content the earlier version is kept under. */
  earlierSha256?: string;
  /** The copy's test sidecar (the train one is `sidecar`), for making the root set from it. */
  testSidecar: ProcessedSidecar;
}

/** Whether a stored sidecar is of the version asked for. */
type SidecarMatch = (sidecar: ProcessedSidecar & { flts: FltsSidecarExtras }) => boolean;

function sameInputs(query: CacheQuery): SidecarMatch {
  return ({ flts: extras }) =>
    sameFingerprint(extras.fingerprints?.train, query.fingerprints.train) &&
    sameFingerprint(extras.fingerprints?.test, query.fingerprints.test) &&
    (query.sampleSeed === undefined || extras.sample_seed === query.sampleSeed);
}

function matches(sidecar: ProcessedSidecar | undefined, configHash: string, match: SidecarMatch): boolean {
  return sidecar !== undefined && sidecar.flts !== undefined && sidecar.config_hash === configHash && match(sidecar as ProcessedSidecar & { flts: FltsSidecarExtras });
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

/** A complete, matching set under one prefix (the root, `<config_hash>/` or one of its earlier versions), or undefined. */
async function completeSet(store: ObjectStore, settings: Settings, wanted: string, match: SidecarMatch, keys: ProcessedKeys): Promise<Omit<CacheHit, 'held'> | undefined> {
  const bucket = settings.store.buckets.processed;
  const sidecar = await getJsonIfExists<ProcessedSidecar>(store, bucket, keys.trainSidecar);
  if (!matches(sidecar, wanted, match)) return undefined;
  if (!(await sameWrite(store, bucket, sidecar as ProcessedSidecar, [keys.trainParquet, keys.testParquet]))) return undefined;
  if (keys.scaler && !(await store.exists(bucket, keys.scaler))) return undefined;
  const testSidecar = await getJsonIfExists<ProcessedSidecar>(store, bucket, keys.testSidecar);
  if (!testSidecar || testSidecar.config_hash !== wanted) return undefined;
  return { sidecar: sidecar as ProcessedSidecar, testRows: testSidecar.row_count, testSidecar };
}

/**
 * Cached means: same config_hash, same input bytes (F14), same seed when it matters (F7), and every output object
 * of the versioned copy present, with the latest (root) set either the same version (`latest`) or another one
 * (`versioned`: the copy is still the version these inputs make, written when they were first processed). Anything
 * less is recomputed, which costs well under a second.
 */
export async function findCachedOutputs(store: ObjectStore, settings: Settings, query: CacheQuery): Promise<CacheHit | undefined> {
  return findStoredVersion(store, settings, query.configHash, sameInputs(query), () => earlierVersionNames(store, settings, query.configHash));
}

/** The content names of the earlier versions kept for `configHash` (at most EARLIER_VERSIONS_KEPT, and copies cut short). */
async function earlierVersionNames(store: ObjectStore, settings: Settings, configHash: string): Promise<string[]> {
  const folders = await store.listFolders(settings.store.buckets.processed, earlierVersionsPrefix(configHash));
  return folders.map((folder) => folder.slice(0, -1).split('/').pop() ?? '').filter(isConfigHash);
}

/**
 * The version of `configHash` stored with this processed content (`flts.data_sha256`), whatever input bytes it was
 * read from: input files that differ only in bytes (line endings, number formatting) make the same rows.
 */
export async function findStoredContent(store: ObjectStore, settings: Settings, configHash: string, dataSha256: string): Promise<CacheHit | undefined> {
  return findStoredVersion(store, settings, configHash, ({ flts }) => flts.data_sha256 === dataSha256, async () => (isConfigHash(dataSha256) ? [dataSha256] : []));
}

/**
 * The version `match` takes: the one `<config_hash>/` holds (and the root with it, or not), else one of its earlier
 * versions (`earlier` lists the content names to look under).
 */
async function findStoredVersion(store: ObjectStore, settings: Settings, configHash: string, match: SidecarMatch, earlier: () => Promise<string[]>): Promise<CacheHit | undefined> {
  const versioned = await completeSet(store, settings, configHash, match, processedKeys(settings, configHash));
  if (versioned) {
    const latest = await completeSet(store, settings, configHash, match, processedKeys(settings));
    return latest ? { ...latest, held: 'latest' } : { ...versioned, held: 'versioned' };
  }
  for (const name of await earlier()) {
    const kept = await completeSet(store, settings, configHash, match, earlierVersionKeys(settings, configHash, name));
    if (kept) return { ...kept, held: 'earlier', earlierSha256: name };
  }
  return undefined;
}
