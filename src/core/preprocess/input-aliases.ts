import { sha256Hex } from '../config/config-hash.js';
import type { Settings } from '../config/settings.js';
import type { TimeSteps } from '../data/time-steps.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { sameFingerprint } from './input-fingerprint.js';
import { inputAliasesPrefix, inputAliasKey, isConfigHash, type InputFingerprint } from './processed-layout.js';

/** What one input file was, as read, that a stored version's sidecar does not say (its own files were others). */
export interface AliasedInput {
  time_steps?: TimeSteps;
  unordered_rows: number;
  /** Rows merged into a row of the same time (absent in aliases written before 2026-12-07). */
  merged_rows?: number;
  /** Test file only: its rows at or before the training file's last time (0 included); absent in aliases written before 2026-12. */
  rows_not_after_train?: number;
}

/**
 * Input files other in bytes than a stored version's own (line endings, number formatting) found to make its rows:
 * kept under `<config_hash>/inputs/<digest>.json`, so the next preprocess of the same bytes knows their version from
 * their SHA-256 alone, without parsing and transforming them again to compare the rows.
 */
export interface InputAlias {
  /** The flts version that processed them: another may make other rows of the same bytes. */
  version: string;
  data_sha256: string;
  fingerprints: { train: InputFingerprint; test: InputFingerprint };
  /** Only when it changes the rows (random sampling with a row limit). */
  sample_seed: number | null;
  inputs: { train: AliasedInput; test: AliasedInput };
}

function digestOf(fingerprints: InputAlias['fingerprints'], sampleSeed: number | undefined): string {
  const file = ({ sha256, bytes }: InputFingerprint) => `${sha256}:${bytes}`;
  return sha256Hex(`${file(fingerprints.train)}\n${file(fingerprints.test)}\n${sampleSeed ?? ''}`);
}

/** The stored content these input bytes (and seed, when it matters) were found to make, by this flts version. */
export async function readInputAlias(store: ObjectStore, settings: Settings, configHash: string, query: { fingerprints: InputAlias['fingerprints']; sampleSeed?: number; version: string }): Promise<InputAlias | undefined> {
  const key = inputAliasKey(configHash, digestOf(query.fingerprints, query.sampleSeed));
  const alias = await getJsonIfExists<InputAlias>(store, settings.store.buckets.processed, key).catch(() => undefined);
  const same =
    alias !== undefined &&
    alias.version === query.version &&
    typeof alias.data_sha256 === 'string' &&
    isConfigHash(alias.data_sha256) &&
    sameFingerprint(alias.fingerprints?.train, query.fingerprints.train) &&
    sameFingerprint(alias.fingerprints?.test, query.fingerprints.test) &&
    alias.sample_seed === (query.sampleSeed ?? null);
  return same ? alias : undefined;
}

export async function writeInputAlias(store: ObjectStore, settings: Settings, configHash: string, alias: InputAlias): Promise<void> {
  await putJson(store, settings.store.buckets.processed, inputAliasKey(configHash, digestOf(alias.fingerprints, alias.sample_seed ?? undefined)), alias);
}

/** Deletes the aliases of `configHash` to content no longer kept (the versions pruned), and unreadable ones. */
export async function pruneInputAliases(store: ObjectStore, settings: Settings, configHash: string, kept: ReadonlySet<string>): Promise<void> {
  const bucket = settings.store.buckets.processed;
  const keys = (await store.list(bucket, inputAliasesPrefix(configHash))).map((info) => info.key);
  const stale = await Promise.all(keys.map(async (key) => ((await getJsonIfExists<InputAlias>(store, bucket, key).catch(() => undefined))?.data_sha256 ?? '')));
  const dropped = keys.filter((_, index) => !kept.has(stale[index]));
  if (dropped.length > 0) await store.deleteMany(bucket, dropped);
}
