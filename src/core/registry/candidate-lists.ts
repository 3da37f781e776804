import type { Settings } from '../config/settings.js';
import { orUnlessUnavailable } from '../errors.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { CANDIDATE_LIST_LIMIT, candidateSet, isCandidateSet, promotionScope, type CandidateSet, type PromotionRecord } from './pointers.js';
import { scanPromotionHistory } from './promotion-history.js';

const LIST_PREFIX = 'candidate-sets/';
const LIST_KEY = /^candidate-sets\/([0-9a-f]{64})\.json$/;

/**
 * How long a list no history record names is kept: a promotion writes its list, then its record at once, so a list
 * younger than this is most likely one whose record is on its way (see `sweepCandidateLists`).
 */
export const CANDIDATE_LIST_GRACE_MS = 60 * 60 * 1000;

/**
 * `candidate-sets/<sha256>.json` in the promotion bucket: the ids of a candidate set (or of the runs a person's choice
 * saw, `seen_set`) too large for its promotion record to list. Named by the set's own digest, so every record of the same set shares one object, and two segments deep,
 * never mistaken for a history record (`<scope>/<config_hash>/promotion-<timestamp>.json`).
 */
export function candidateListKey(set: CandidateSet): string {
  return `${LIST_PREFIX}${set.sha256}.json`;
}

/**
 * Keeps the ids of a candidate set past CANDIDATE_LIST_LIMIT, before the promotion record that names it is written:
 * a record then always finds its list, and a promotion cut short leaves at most a list nobody names (which
 * `sweepCandidateLists` removes). Written again by every promotion of the set, same bytes under the same key: the
 * write time it gets is what keeps a sweep away from it while its record is on its way.
 */
export async function saveCandidateList(store: ObjectStore, settings: Settings, runIds: readonly string[] | undefined): Promise<void> {
  if (!runIds || runIds.length <= CANDIDATE_LIST_LIMIT) return;
  const bucket = settings.store.buckets.promotion;
  await store.ensureBucket(bucket);
  await putJson(store, bucket, candidateListKey(candidateSet(runIds)), { run_ids: [...runIds].sort() });
}

/**
 * After the promotion record that names the set is written: puts its list back when a sweep removed it meanwhile
 * (one that looked at the history before the record was there). Returns whether it had to.
 */
export async function ensureCandidateList(store: ObjectStore, settings: Settings, runIds: readonly string[] | undefined): Promise<boolean> {
  if (!runIds || runIds.length <= CANDIDATE_LIST_LIMIT) return false;
  if (await store.exists(settings.store.buckets.promotion, candidateListKey(candidateSet(runIds)))) return false;
  await saveCandidateList(store, settings, runIds);
  return true;
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

/** The kept lists of `sets` (those that are candidate sets, once each) that could be read, by digest. */
export async function readCandidateLists(store: ObjectStore, settings: Settings, sets: Iterable<unknown>): Promise<Map<string, readonly string[]>> {
  const unique = new Map<string, CandidateSet>();
  for (const set of sets) if (isCandidateSet(set)) unique.set(set.sha256, set);
  const listed = new Map<string, readonly string[]>();
  for (const [sha256, set] of unique) {
    const runIds = await readCandidateList(store, settings, set);
    if (runIds) listed.set(sha256, runIds);
  }
  return listed;
}

/** The digests of the sets history records name, in any scope: the runs chosen from and the runs a person saw. */
function namedSets(records: readonly PromotionRecord[]): Set<string> {
  return new Set(records.flatMap((record) => [record.candidate_set, record.seen_set].flatMap((set) => (isCandidateSet(set) ? [set.sha256] : []))));
}

export interface CandidateListSweep {
  /** Keys of the lists removed. */
  removed: string[];
  /** Keys of lists removed and put back: a record naming them was written while the sweep ran. */
  restored: string[];
}

/**
 * Removes the candidate lists no promotion history record names (in any scope) that were last written at least
 * `graceMs` before the newest write the sweep sees (the lists' and this scope's history records', all on the store's
 * clock, so no host's clock counts). History records are never rewritten: such a list is one of a promotion cut short between
 * its list and its record, or of records removed from the history.
 *
 * Safe against a promotion running at the same time, although a store deletes unconditionally: a promotion writes its
 * list, then its record, then puts the list back if it is gone (`ensureCandidateList`), and a sweep reads the ids of
 * the lists it removes, removes them, then reads the history again and puts back those a record now names. Whichever
 * comes first of the record and that second look, the other side sees both: a record written before the second look
 * is seen by the sweep, which restores its list; one written after it follows the removal, so the promotion's own
 * check finds the list gone and writes it again. The grace period keeps a sweep from removing a list whose record is
 * on its way in the first place, so restoring is the rare case; and it leaves one case uncovered alone: a promoter
 * that stops for good between its record and its check, while a sweep that found its list older than the grace period
 * (the promoter wrote it again after the sweep listed it) removes it; that record then names its set alone, as a
 * record of flts before lists were kept does.
 */
export async function sweepCandidateLists(store: ObjectStore, settings: Settings, graceMs: number = CANDIDATE_LIST_GRACE_MS): Promise<CandidateListSweep> {
  const bucket = settings.store.buckets.promotion;
  const lists = (await store.list(bucket, LIST_PREFIX)).filter((info) => LIST_KEY.test(info.key));
  if (lists.length === 0) return { removed: [], restored: [] };
  const digestOf = (key: string): string => (LIST_KEY.exec(key) as RegExpExecArray)[1];
  // This scope's history first: a promotion has just read it, and in a deployment of one scope it names every list
  // kept. Only lists it does not name cost a read of every other scope's history.
  const own = await scanPromotionHistory(store, settings, promotionScope(settings));
  const newestWrite = lists.reduce((newest, info) => Math.max(newest, info.lastModified.getTime()), own.newestWrite);
  const namedHere = namedSets(own.records);
  const old = lists.filter((info) => !namedHere.has(digestOf(info.key)) && info.lastModified.getTime() <= newestWrite - graceMs);
  if (old.length === 0) return { removed: [], restored: [] };
  const named = namedSets((await scanPromotionHistory(store, settings)).records);
  const unnamed = old.map((info) => info.key).filter((key) => !named.has(digestOf(key)));
  if (unnamed.length === 0) return { removed: [], restored: [] };

  const kept = new Map<string, unknown>();
  for (const key of unnamed) kept.set(key, await getJsonIfExists<unknown>(store, bucket, key).catch(orUnlessUnavailable(undefined)));
  const { deleted } = await store.deleteMany(bucket, unnamed);
  const namedNow = namedSets((await scanPromotionHistory(store, settings)).records);
  const restored: string[] = [];
  for (const key of deleted) {
    const body = kept.get(key);
    if (!namedNow.has(digestOf(key)) || body === undefined) continue;
    await putJson(store, bucket, key, body);
    restored.push(key);
  }
  return { removed: deleted.filter((key) => !restored.includes(key)), restored };
}
