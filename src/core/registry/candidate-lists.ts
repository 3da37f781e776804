import type { Settings } from '../config/settings.js';
import { orUnlessUnavailable } from '../errors.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { CANDIDATE_LIST_LIMIT, candidateSet, type CandidateSet } from './pointers.js';

/**
 * `candidate-sets/<sha256>.json` in the promotion bucket: the ids of a candidate set too large for its promotion record
 * to list. Named by the set's own digest, so every record of the same set shares one object, and two segments deep,
 * never mistaken for a history record (`<scope>/<config_hash>/promotion-<timestamp>.json`).
 */
export function candidateListKey(set: CandidateSet): string {
  return `candidate-sets/${set.sha256}.json`;
}

/**
 * Keeps the ids of a candidate set past CANDIDATE_LIST_LIMIT, before the promotion record that names it is written:
 * a record then always finds its list, and a promotion cut short leaves at most a list nobody names. Written once.
 */
export async function saveCandidateList(store: ObjectStore, settings: Settings, runIds: readonly string[] | undefined): Promise<void> {
  if (!runIds || runIds.length <= CANDIDATE_LIST_LIMIT) return;
  const bucket = settings.store.buckets.promotion;
  const key = candidateListKey(candidateSet(runIds));
  if (await store.exists(bucket, key)) return;
  await store.ensureBucket(bucket);
  await putJson(store, bucket, key, { run_ids: [...runIds].sort() });
}

/**
 * The run ids of `set`, when its list is kept and is that set (its count and digest agree); undefined otherwise (a
 * record of flts before lists were kept, a list removed or edited), and the record then names its set alone.
 */
export async function readCandidateList(store: ObjectStore, settings: Settings, set: CandidateSet): Promise<string[] | undefined> {
  const value = await getJsonIfExists<{ run_ids?: unknown }>(store, settings.store.buckets.promotion, candidateListKey(set)).catch(orUnlessUnavailable(undefined));
  const runIds = value?.run_ids;
  if (!Array.isArray(runIds) || !runIds.every((id): id is string => typeof id === 'string')) return undefined;
  const kept = candidateSet(runIds);
  return kept.count === set.count && kept.sha256 === set.sha256 ? runIds : undefined;
}
