import { createHash } from 'node:crypto';
import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { getJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * Who decided a promotion: the daemon's promoter (`auto`), the scoreboard winner on request (`best`), an operator
 * naming a run (`manual`), an operator going back (`rollback`), or a live-accuracy check going back (`auto-rollback`).
 * Only `auto` promotions are replaced by later automatic ones for the same data; every other source stands.
 */
export const PROMOTION_SOURCES = ['auto', 'best', 'manual', 'rollback', 'auto-rollback'] as const;
export type PromotionSource = (typeof PROMOTION_SOURCES)[number];

/**
 * Whether a record's run is in service by the daemon's own choice, which a later automatic promotion of the same
 * data may replace; any other source (a reference record has none) stands against it.
 */
export function isAutomaticChoice(record: Pick<PromotionRecord, 'source'>): boolean {
  return record.source === 'auto';
}

/**
 * Whether a person made the choice (`manual`, `best`, `rollback`, and so a pin, which only they make): what the
 * registry held then is what they chose against, and their record keeps it (`seen_runs`, `seen_set`).
 */
export function isPersonsChoice(source: PromotionSource): boolean {
  return source === 'manual' || source === 'best' || source === 'rollback';
}

/**
 * Whether a record of `source` keeps the SUCCESS runs the registry held as it was made (`seen_runs`, `seen_set`), which
 * the daemon's promoter lets it stand against: a person's choice (isPersonsChoice), and an automatic rollback. A
 * rollback that a live probation decided took the run it left out of service with every one of those runs there for
 * the promoter to have chosen from; promoting that data again on them alone would undo it, and start the same
 * probation over. A SUCCESS that finishes after it is news, as after a person's rollback.
 */
export function recordsSeenRuns(source: PromotionSource): boolean {
  return isPersonsChoice(source) || source === 'auto-rollback';
}

/**
 * Whether a record pins its run: a person promoted again the run the daemon had put in service, having seen it serve,
 * or asked for a pin (`--pin`) of the run in service (a record with action `pin`), or of the run they promoted (the
 * promotion record itself, `pinned: true`). An automatic rollback never undoes a pin (only `flts promote --rollback`
 * or another promotion replaces it). A promotion by hand without `--pin` is no pin: it is a bet on test metrics like
 * the daemon's, and its live probation checks it.
 */
export function isPin(record: Pick<PromotionRecord, 'action' | 'pinned'>): boolean {
  return record.action === 'pin' || record.pinned === true;
}

/** A record's choice in words, e.g. "pinned 2026-01-01T00:00:00.000000Z by manual ana". */
export function describeChoice(record: Pick<PromotionRecord, 'action' | 'pinned' | 'source' | 'actor' | 'timestamp'>): string {
  const done = record.action === 'pin' ? 'pinned' : record.action === 'rollback' ? 'rolled back to' : record.pinned === true ? 'promoted and pinned' : 'promoted';
  return `${done} ${record.timestamp} by ${record.source ?? 'a reference writer'}${record.actor ? ` ${record.actor}` : ''}`;
}

/**
 * The reference's promotion record (fields in the reference order), plus what flts adds: who decided
 * (`source`, `actor`), which run it replaced, why, whether it was a promotion or a rollback, and when the
 * processed data of the run was created (what automatic promotion orders by).
 */
export interface PromotionRecord {
  identifier: string;
  config_hash: string;
  run_id: string;
  model_type: string;
  experiment: string;
  /** `runs:/<run_id>/<model_type>`. */
  model_uri: string;
  rmse: number | null;
  mae: number | null;
  mse: number | null;
  score: number | null;
  /** UTC ISO with microseconds and "Z", e.g. 2025-11-03T19:16:41.896064Z. */
  timestamp: string;
  weights: { rmse: number; mae: number; mse: number };
  source: PromotionSource;
  previous_run_id: string | null;
  reason: string;
  /**
   * `pin`: someone promoted the run the daemon had promoted automatically while it was in service, or asked for a
   * pin (of the run they promoted just before, or of the run in service). The run stays (no reload), and the record
   * makes it a chosen run; `previous_run_id` is the pinned promotion's and `pinned_timestamp` names that promotion,
   * so its live probation goes on (scored and decided, never rolled back automatically: the run is a person's
   * choice now) and `flts promote --rollback` returns to the run before.
   */
  action?: 'promote' | 'rollback' | 'pin';
  /** Who or what asked: an operator's name, `daemon:<owner>`, `library`. */
  actor?: string | null;
  /** `created_at` of the run's processed data; automatic promotion never moves to older data. */
  data_created_at?: string | null;
  /**
   * The SUCCESS runs of the config_hash a best-score promotion chose from (`auto`, `best`): a later SUCCESS not
   * among them is what makes the promoter promote that data again, whatever the clocks of the trainer and promoter.
   * Listed up to CANDIDATE_LIST_LIMIT runs; past that `candidate_set` alone says which.
   */
  candidate_runs?: string[];
  /**
   * The same runs, as their number and the SHA-256 of their ids (sorted, one a line): what a record of a config_hash
   * of thousands of runs keeps in place of their list, which every history read, pointer and `model-selected` notice
   * would otherwise carry. Absent on records of flts before it.
   */
  candidate_set?: CandidateSet;
  /**
   * On the record of a person's choice or of an automatic rollback (recordsSeenRuns): the SUCCESS runs the run
   * registry held when it was made, of every config_hash and target set, listed up to CANDIDATE_LIST_LIMIT runs; past
   * that `seen_set` alone says which, its list kept as a candidate set's is. Newer data whose runs are all among them
   * was there to choose, and the run in service was chosen (or returned to) over it: the daemon's promoter lets the
   * choice stand against that data, and promotes it once it has a SUCCESS run this record did not see. Membership,
   * never time: no clock of the trainer, the person's host and the promoter is compared. Absent on other records and
   * on those of flts before it (automatic rollbacks included), against which newer data's SUCCESS the promoter has
   * not chosen from promotes that data.
   */
  seen_runs?: string[];
  seen_set?: CandidateSet;
  /** Whether --force overrode problems; `forced_over` lists them. */
  forced?: boolean;
  forced_over?: string[];
  /** For a pin: the timestamp of the promotion of the same run it pins; absent for a pin of a rollback (no probation). */
  pinned_timestamp?: string;
  /**
   * true on a promotion pinned by the request that made it (`--pin`): one record, written at once, is both the
   * promotion (its probation starts) and the pin (no automatic rollback or replacement), so no crash leaves the
   * promotion unpinned. Absent otherwise; a reference reader sees a promotion.
   */
  pinned?: boolean;
  /**
   * The terms of the live probation this promotion starts, fixed by the process that promoted: every replica pairs
   * up to `points` and whoever decides waits for as many and judges with `margin`, whatever their own settings say.
   * A pin carries those of the promotion it pins. Absent on a rollback, a first promotion and records of flts before
   * it, whose probation each process sizes by its own settings.
   */
  probation?: ProbationTerms;
}

/** What a probation compares by: the paired points it needs, and the relative RMSE margin beyond which the new run is worse. */
export interface ProbationTerms {
  points: number;
  margin: number;
}

export interface CandidateSet {
  count: number;
  sha256: string;
}

/** Candidate runs listed by id in a promotion record: the reference's LOOKBACK_RUNS, what one of its choices weighs. */
export const CANDIDATE_LIST_LIMIT = 50;

/** The candidate set of `runIds`, whatever their order. */
export function candidateSet(runIds: readonly string[]): CandidateSet {
  return { count: runIds.length, sha256: createHash('sha256').update([...runIds].sort().join('\n')).digest('hex') };
}

export function isCandidateSet(value: unknown): value is CandidateSet {
  const set = value as Partial<CandidateSet> | null | undefined;
  return typeof set === 'object' && set !== null && Number.isInteger(set.count) && typeof set.sha256 === 'string';
}

/** How a promotion record names the runs it chose from: listed while few, always as a set. */
export function candidateFields(runIds: readonly string[] | undefined): Pick<PromotionRecord, 'candidate_runs' | 'candidate_set'> {
  if (!runIds) return {};
  return { ...(runIds.length <= CANDIDATE_LIST_LIMIT ? { candidate_runs: [...runIds] } : {}), candidate_set: candidateSet(runIds) };
}

/** How a person's record names the SUCCESS runs the registry held when they chose (`seen_runs`, `seen_set`), as candidateFields does. */
export function seenFields(runIds: readonly string[] | undefined): Pick<PromotionRecord, 'seen_runs' | 'seen_set'> {
  const { candidate_runs: runs, candidate_set: set } = candidateFields(runIds);
  return { ...(runs ? { seen_runs: runs } : {}), ...(set ? { seen_set: set } : {}) };
}

/**
 * Whether the runs a record names, by a list (`runs`) or by a set (`set`), include every one of `runIds`: the list
 * when there is one, else the kept list of the set (`listed`, by digest), else the set itself when it is exactly
 * `runIds`'s (the same runs, none added and none gone). undefined when the record names no runs (flts before it).
 */
export function namesEvery(runs: unknown, set: unknown, runIds: readonly string[], listed: ReadonlyMap<string, readonly string[]> = new Map()): boolean | undefined {
  const among = (names: readonly string[]): boolean => {
    const named = new Set(names);
    return runIds.every((runId) => named.has(runId));
  };
  if (Array.isArray(runs)) return among(runs as string[]);
  if (!isCandidateSet(set)) return undefined;
  const exact = candidateSet(runIds);
  if (set.count === exact.count && set.sha256 === exact.sha256) return true;
  const kept = listed.get(set.sha256);
  return kept !== undefined && among(kept);
}

export const ROOT_POINTER = 'current.json';

export function promotionScope(settings: Settings): string {
  return settings.identifier || 'global';
}

export function scopedPointerKey(settings: Settings): string {
  return `${promotionScope(settings)}/${ROOT_POINTER}`;
}

/** Where a pointer is looked for, in order: the identifier's own, then the reference's root and global ones. */
export function pointerCascade(settings: Settings): string[] {
  const keys = settings.identifier ? [`${settings.identifier}/${ROOT_POINTER}`] : [];
  return [...new Set([...keys, ROOT_POINTER, `global/${ROOT_POINTER}`])];
}

function isPromotionRecord(value: unknown): value is PromotionRecord {
  const record = value as Partial<PromotionRecord> | null;
  return record !== null && typeof record === 'object' && typeof record.run_id === 'string' && record.run_id !== '';
}

type PointerEntry = { record: PromotionRecord } | { problem: string } | undefined;

/** One pointer: its record, what is wrong with it when it exists but is not a promotion record, or undefined when missing. */
async function readPointerEntry(store: ObjectStore, settings: Settings, key: string): Promise<PointerEntry> {
  try {
    const value = await getJson<unknown>(store, settings.store.buckets.promotion, key);
    return isPromotionRecord(value) ? { record: value } : { problem: `${key} is not a promotion record (no run_id)` };
  } catch (error) {
    if (error instanceof FltsError && error.code === 'FLTS_STORE_NOT_FOUND') return undefined;
    if (error instanceof FltsError && error.code === 'FLTS_DATA_UNREADABLE') return { problem: `${key} is not valid JSON` };
    throw error;
  }
}

/** Reads one pointer; undefined when missing, unparsable or without a run id (a reference pointer may be any of these). */
export async function readPointerAt(store: ObjectStore, settings: Settings, key: string): Promise<PromotionRecord | undefined> {
  const entry = await readPointerEntry(store, settings, key);
  return entry && 'record' in entry ? entry.record : undefined;
}

/** Every pointer of the cascade that names a run, with its key, in cascade order (corrupt ones left out). */
export async function readPromotionPointers(store: ObjectStore, settings: Settings): Promise<Array<{ record: PromotionRecord; key: string }>> {
  const found = await Promise.all(pointerCascade(settings).map(async (key) => ({ key, record: await readPointerAt(store, settings, key) })));
  return found.filter((entry): entry is { key: string; record: PromotionRecord } => entry.record !== undefined);
}

export interface FoundPointer {
  record: PromotionRecord;
  key: string;
  /** Pointers earlier in the cascade that exist but are corrupt: the record found is a fallback, not the intended one. */
  skipped: string[];
}

/**
 * The promoted run and the key it was found at, following the pointer cascade. A corrupt pointer is skipped
 * but reported (`skipped`); when every pointer is missing or corrupt and one is corrupt, that is an error.
 */
export async function readPromotionPointerWithSource(store: ObjectStore, settings: Settings): Promise<FoundPointer | undefined> {
  const skipped: string[] = [];
  for (const key of pointerCascade(settings)) {
    const entry = await readPointerEntry(store, settings, key);
    if (entry && 'record' in entry) return { record: entry.record, key, skipped };
    if (entry) skipped.push(entry.problem);
  }
  if (skipped.length > 0) {
    // The code's own hint is about data files (CSV, Parquet), which is no help with a pointer.
    throw new FltsError('FLTS_DATA_UNREADABLE', `No usable promotion pointer: ${skipped.join('; ')}.`, {
      details: { bucket: settings.store.buckets.promotion, skipped },
      hint: `A promotion pointer in bucket '${settings.store.buckets.promotion}' was cut short or edited: promote a run again (\`flts promote --run <id>\`, \`--best\` or \`--rollback\`), which rewrites the pointers.`,
    });
  }
  return undefined;
}

/** The promoted run: `<identifier>/current.json` (when set), then `current.json`, then `global/current.json`. */
export async function readPromotionPointer(store: ObjectStore, settings: Settings): Promise<PromotionRecord | undefined> {
  return (await readPromotionPointerWithSource(store, settings))?.record;
}

/** The run a server or a batch job uses: the one given, else `serve.runId` (pinned), else the promoted one. */
export async function resolveServedRunId(store: ObjectStore, settings: Settings, runId?: string): Promise<string> {
  const chosen = runId || settings.serve.runId;
  if (chosen) return chosen;
  const pointer = await readPromotionPointer(store, settings);
  if (!pointer) {
    // The bucket and the store it was looked for in: a mistyped PROMOTION_BUCKET, or a store other than the one
    // promoted to, reads just like nothing promoted yet.
    const bucket = settings.store.buckets.promotion;
    throw new FltsError('FLTS_SERVE_NO_MODEL', `No run given and no promotion pointer found in bucket '${bucket}' of the store at ${store.location} (${pointerCascade(settings).join(', ')}).`, {
      details: { bucket, store: store.location, keys: pointerCascade(settings) },
    });
  }
  return pointer.run_id;
}
