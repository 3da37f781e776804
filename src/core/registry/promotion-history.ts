import type { Settings } from '../config/settings.js';
import { FltsError, orUnlessUnavailable } from '../errors.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectInfo, ObjectStore } from '../storage/object-store.js';
import { mapBounded } from '../bounded-map.js';
import { promotionScope, readPointerAt, readPromotionPointer, ROOT_POINTER, scopedPointerKey, type PromotionRecord } from './pointers.js';

const HISTORY_FILE = /(^|\/)promotion-[^/]+\.json$/;
const SYNC_ATTEMPTS = 5;

/** `<scope>/<config_hash>/promotion-<timestamp with ":" -> "->.json`, the reference's history layout. */
export function historyKey(record: PromotionRecord): string {
  return `${record.identifier || 'global'}/${record.config_hash}/promotion-${record.timestamp.replace(/:/g, '-')}.json`;
}

/** UTC ISO timestamp with microseconds, like the reference's Python `isoformat() + "Z"`. */
export function promotionTimestamp(date: Date, micros = 0): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, (_, ms: string) => `.${ms}${String(micros).padStart(3, '0')}Z`);
}

function byTimestamp(a: PromotionRecord, b: PromotionRecord): number {
  return a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.run_id < b.run_id ? -1 : a.run_id > b.run_id ? 1 : 0;
}

/** History records read at once: a year's history is thousands of small objects. */
const HISTORY_READ_WIDTH = 32;

interface ReadRecord {
  size: number;
  modified: number;
  value: unknown;
}

/**
 * The history records this process has read, by store, as `<bucket>/<key>`. A record is written once under a key
 * nobody used (appendHistory) and never rewritten, yet one promotion looks at the whole history four times (what is
 * in service, catching up, writing the pointers, checking them) and the daemon looks at every turn: each record is
 * read once, and read again only when its listing shows another size or time (an edit by hand).
 */
const readRecords = new WeakMap<ObjectStore, Map<string, ReadRecord>>();

async function readListed(store: ObjectStore, bucket: string, prefix: string, listed: readonly ObjectInfo[]): Promise<unknown[]> {
  let known = readRecords.get(store);
  if (!known) readRecords.set(store, (known = new Map()));
  const cache = known;
  const values = await mapBounded(listed, HISTORY_READ_WIDTH, async (info) => {
    const id = `${bucket}/${info.key}`;
    const seen = cache.get(id);
    if (seen && seen.size === info.size && seen.modified === info.lastModified.getTime()) return structuredClone(seen.value);
    const value = await getJsonIfExists<unknown>(store, bucket, info.key).catch(orUnlessUnavailable(undefined));
    if (value !== undefined) cache.set(id, { size: info.size, modified: info.lastModified.getTime(), value: structuredClone(value) });
    return value;
  });
  const present = new Set(listed.map((info) => `${bucket}/${info.key}`));
  for (const id of cache.keys()) if (id.startsWith(`${bucket}/${prefix}`) && !present.has(id)) cache.delete(id);
  return values;
}

/** Promotion history records, oldest first; `scope` limits them to one identifier (or "global"). */
export async function listPromotionHistory(store: ObjectStore, settings: Settings, scope?: string): Promise<PromotionRecord[]> {
  return (await scanPromotionHistory(store, settings, scope)).records;
}

/**
 * `listPromotionHistory`, with when the store last wrote a record (`newestWrite`, epoch ms, -Infinity without one): a
 * time on the store's clock, which a rule comparing it with the store's other write times keeps free of every host's.
 */
export async function scanPromotionHistory(store: ObjectStore, settings: Settings, scope?: string): Promise<{ records: PromotionRecord[]; newestWrite: number }> {
  const bucket = settings.store.buckets.promotion;
  const prefix = scope ? `${scope}/` : '';
  const listed = (await store.list(bucket, prefix)).filter((info) => HISTORY_FILE.test(info.key) && info.key.split('/').length === 3);
  const records = (await readListed(store, bucket, prefix, listed)) as Array<PromotionRecord | null | undefined>;
  return {
    // Anything but an object with a run id and a timestamp (null, a list, a reference record cut short) is no promotion.
    records: records.filter((r): r is PromotionRecord => r !== null && typeof r === 'object' && typeof r.run_id === 'string' && typeof r.timestamp === 'string').sort(byTimestamp),
    newestWrite: listed.reduce((newest, info) => Math.max(newest, info.lastModified.getTime()), -Infinity),
  };
}

/**
 * The promotion in service for this scope as a promotion decides it: the scope's newest history record, which the
 * pointers lag behind after a promotion stopped between its record and its pointers; the pointer cascade (what
 * serving reads) only for a scope with no history of its own. Whoever shows an operator "the run in service" and
 * whoever checks that it has not changed since reads this, so both agree with what the promotion replaces.
 */
export async function readPromotionInService(store: ObjectStore, settings: Settings): Promise<PromotionRecord | undefined> {
  return (await listPromotionHistory(store, settings, promotionScope(settings))).at(-1) ?? (await readPromotionPointer(store, settings));
}

/** Writes a history record under a key nobody else used (a same-microsecond collision moves the timestamp on). */
export async function appendHistory(store: ObjectStore, settings: Settings, record: PromotionRecord): Promise<PromotionRecord> {
  const bucket = settings.store.buckets.promotion;
  let candidate = record;
  for (let bump = 1; await store.exists(bucket, historyKey(candidate)); bump++) {
    const micros = Number(record.timestamp.slice(-4, -1)) + bump;
    candidate = { ...record, timestamp: `${record.timestamp.slice(0, -4)}${String(micros % 1000).padStart(3, '0')}Z` };
  }
  await putJson(store, bucket, historyKey(candidate), candidate);
  return candidate;
}

function same(a: PromotionRecord | undefined, b: PromotionRecord | undefined): boolean {
  return a !== undefined && b !== undefined && a.timestamp === b.timestamp && a.run_id === b.run_id && a.identifier === b.identifier;
}

function pointerKeys(settings: Settings): string[] {
  return settings.identifier ? [scopedPointerKey(settings)] : [scopedPointerKey(settings), ROOT_POINTER];
}

/**
 * The newest history record when this scope's pointers lag behind it, which a promotion killed between its
 * history record and its pointers leaves; the pointers are then moved to it, through `uninterrupted` (a caller's
 * guard against a stop in the middle of it). Writes nothing when they agree.
 */
export async function catchUpPointers(store: ObjectStore, settings: Settings, uninterrupted: <W>(write: () => Promise<W>) => Promise<W> = (write) => write()): Promise<PromotionRecord | undefined> {
  const newest = (await listPromotionHistory(store, settings, promotionScope(settings))).at(-1);
  if (!newest) return undefined;
  const pointers = await Promise.all(pointerKeys(settings).map((key) => readPointerAt(store, settings, key)));
  if (pointers.every((pointer) => same(pointer, newest))) return undefined;
  return uninterrupted(() => syncPointers(store, settings));
}

/**
 * Makes this scope's pointers equal its newest history record: `<identifier>/current.json` for an identifier,
 * `global/current.json` and the reference's root `current.json` for the global scope. Promoting for one
 * identifier never touches another's pointers or the root one that replicas without an identifier read. Every
 * writer derives the pointers from the history and re-checks after writing, so concurrent promotions converge
 * on the newest record and can never leave the pointers mixed.
 */
export async function syncPointers(store: ObjectStore, settings: Settings): Promise<PromotionRecord | undefined> {
  const bucket = settings.store.buckets.promotion;
  const scope = promotionScope(settings);
  const keys = pointerKeys(settings);
  for (let attempt = 0; attempt < SYNC_ATTEMPTS; attempt++) {
    const newest = (await listPromotionHistory(store, settings, scope)).at(-1);
    if (!newest) return undefined;
    for (const key of keys) await putJson(store, bucket, key, newest);
    const [again, ...written] = await Promise.all([listPromotionHistory(store, settings, scope), ...keys.map((key) => readPointerAt(store, settings, key))]);
    const expected = again.at(-1);
    if (written.every((pointer) => same(pointer, expected))) return expected;
  }
  throw new FltsError('FLTS_PROMOTE_CONFLICT', `The promotion pointers kept changing during ${SYNC_ATTEMPTS} attempts to write them; other promotions are running.`);
}
