import { randomUUID } from 'node:crypto';
import { linkSync, lstatSync, readFileSync, realpathSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Settings } from '../config/settings.js';
import type { InstanceSettings } from '../config/specs/runtime.js';
import { mapBounded } from '../bounded-map.js';
import { TRAINING_SPECS } from '../config/specs/training.js';
import { clip } from '../clip-text.js';
import { FltsError } from '../errors.js';
import { CLOCK_TICKS_PER_SECOND, currentBootId, currentPidNamespace, procStartTicks, processStartOf, recordedProcessGone } from '../proc-stat.js';
import { isConfigHash } from '../preprocess/processed-layout.js';
import { getJsonIfExists, parseLenientJson, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { RUN_FILES, type RunOwner, type RunRecord } from './run-record.js';
import { runRecordSealProblem } from './run-record-seal.js';

export { processStartOf };

const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function assertRunId(runId: string): void {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new FltsError('FLTS_RUN_NOT_FOUND', `Run ${JSON.stringify(clip(runId))} does not exist: run ids are letters, digits, "-" and "_".`, { details: { runId: clip(runId) } });
  }
}

export function runKey(runId: string, ...parts: string[]): string {
  assertRunId(runId);
  return [runId, ...parts].join('/');
}

export function runsBucket(settings: Settings): string {
  return settings.store.buckets.runs;
}

/**
 * The runs bucket's index of runs by config_hash: `config-hashes/<config_hash>/<run_id>/listed`, one folder per run,
 * so that what reads one config_hash's runs (eval, promote --best, the promoter) lists that folder's run ids and reads
 * their records alone, and the index is listed by folder names, never by objects.
 */
const CONFIG_HASH_INDEX = 'config-hashes';
/** The runs bucket's folder of MLflow mirror markers (mirror-markers.ts): no run either. */
export const MIRROR_MARKERS = 'mlflow-mirrors';
const INDEX_MARKER = 'listed';

function configHashIndexKey(configHash: string, runId: string): string {
  return `${CONFIG_HASH_INDEX}/${configHash}/${runKey(runId, INDEX_MARKER)}`;
}

/**
 * The runs bucket's index of SUCCESS runs: `success-runs/<run_id>/success`, one folder per run, written once the run's
 * SUCCESS record is (saveRunRecord), or later by whoever reads a SUCCESS record without one (indexSuccessRuns: runs of
 * an flts before the index, a writer stopped between its record and its entry). Only a SUCCESS record read or written
 * leads to an entry, and nothing rewrites a SUCCESS record (a run is marked KILLED only while RUNNING), so an entry
 * always names a SUCCESS run; a SUCCESS run without one is found by reading the records of the runs without one
 * (listSuccessRuns). Listed by folder names, as the config_hash index.
 */
const SUCCESS_INDEX = 'success-runs';
const SUCCESS_MARKER = 'success';

function successIndexKey(runId: string): string {
  return `${SUCCESS_INDEX}/${runKey(runId, SUCCESS_MARKER)}`;
}

/** Index entries this process has written, by store: a run's record is saved several times (RUNNING, then its end). */
const indexedRuns = new WeakMap<ObjectStore, Set<string>>();

/**
 * Writes the run's record, listing the run under its config_hash first: a process that dies between the two leaves an
 * index entry without a record (no run, as a folder without run.json is), never a record missing from the index.
 */
export async function saveRunRecord(store: ObjectStore, settings: Settings, record: RunRecord): Promise<void> {
  if (isConfigHash(record.config_hash)) {
    let indexed = indexedRuns.get(store);
    if (!indexed) indexedRuns.set(store, (indexed = new Set()));
    const key = `${runsBucket(settings)}/${configHashIndexKey(record.config_hash, record.run_id)}`;
    if (!indexed.has(key)) {
      await store.put(runsBucket(settings), configHashIndexKey(record.config_hash, record.run_id), '');
      indexed.add(key);
    }
  }
  await putJson(store, runsBucket(settings), runKey(record.run_id, RUN_FILES.record), record);
  // After the record: an entry never names a run whose record is not SUCCESS yet.
  if (record.status === 'SUCCESS') await store.put(runsBucket(settings), successIndexKey(record.run_id), '');
}

/** training.outputSeqLen's maximum: forecasts are sized by the horizon, and no trained run has a longer one. */
const MAX_OUTPUT_SEQ_LEN = TRAINING_SPECS.find((spec) => spec.path === 'training.outputSeqLen')?.max ?? 10_000;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const isNames = (value: unknown): boolean => Array.isArray(value) && value.length > 0 && value.every((name) => typeof name === 'string');
const SHA256_HEX = /^[0-9a-f]{64}$/;
const isCount = (value: unknown): boolean => Number.isInteger(value) && (value as number) > 0;

/**
 * Deepest nesting of objects and arrays a run record may have. flts writes a few levels (params, metrics per target);
 * the seal's canonical JSON, the --json output and the MLflow mirror walk a record recursively, and a run.json nested
 * tens of thousands deep (JSON.parse reads it) ran them out of stack, an internal error instead of a damaged run.
 */
const MAX_RECORD_DEPTH = 64;

/** Whether `value` nests objects or arrays deeper than `limit` levels, found without recursing. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<{ item: unknown; depth: number }> = [{ item: value, depth: 1 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.item === null || typeof next.item !== 'object') continue;
    if (next.depth > limit) return true;
    for (const child of Object.values(next.item)) if (child !== null && typeof child === 'object') pending.push({ item: child, depth: next.depth + 1 });
  }
  return false;
}

/**
 * What makes a stored run record unusable, or undefined when every field the registry, the scoreboard and the
 * loaders read is there. The record must name the run of its own directory: an edited or copied run.json that
 * names another run would otherwise make that run promoted under this one's id.
 */
export function runRecordProblem(value: unknown, runId: string): string | undefined {
  if (!isObject(value)) return 'it is not a JSON object';
  if (nestedDeeperThan(value, MAX_RECORD_DEPTH)) return `it nests objects or arrays over ${MAX_RECORD_DEPTH} levels deep`;
  if (value.run_id !== runId) return `it names run ${JSON.stringify(value.run_id)}, not ${runId}`;
  for (const field of ['model_type', 'status', 'config_hash'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') return `${field} is not a non-empty string`;
  }
  if (!isObject(value.timings) || typeof value.timings.started_at !== 'string') return 'timings.started_at is missing';
  const window = value.window;
  if (!isObject(window)) return 'window is missing';
  if (!isNames(window.features) || !isNames(window.targets)) return 'window.features or window.targets is not a list of column names';
  if (!isCount(window.inputSeqLen) || !isCount(window.outputSeqLen)) return 'window.inputSeqLen or window.outputSeqLen is not a positive integer';
  if ((window.outputSeqLen as number) > MAX_OUTPUT_SEQ_LEN) return `window.outputSeqLen is over ${MAX_OUTPUT_SEQ_LEN}, the longest horizon training takes`;
  if (value.metrics !== undefined && !isObject(value.metrics)) return 'metrics is not an object';
  if (value.params !== undefined && !isObject(value.params)) return 'params is not an object';
  if (value.artifacts !== undefined && !isObject(value.artifacts)) return 'artifacts is not an object';
  if (value.artifact_sha256 !== undefined) {
    if (!isObject(value.artifact_sha256)) return 'artifact_sha256 is not an object';
    const unreadable = Object.entries(value.artifact_sha256).find(([, digest]) => typeof digest !== 'string' || !SHA256_HEX.test(digest));
    if (unreadable) return `artifact_sha256 of ${JSON.stringify(unreadable[0])} is not a hex SHA-256`;
  }
  if (value.record_sha256 !== undefined && !(typeof value.record_sha256 === 'string' && SHA256_HEX.test(value.record_sha256))) return 'record_sha256 is not a hex SHA-256';
  return undefined;
}

export function corruptRun(runId: string, key: string, reason: string, cause?: unknown): FltsError {
  return new FltsError('FLTS_RUN_CORRUPT', `Run ${runId} is damaged: ${key} ${reason}.`, { cause, details: { runId, key, reason } });
}

/**
 * FLTS_RUN_CORRUPT for a record whose content is not what training sealed (run.json edited since), or undefined: it
 * matches its seal, or carries none (recorded before records were sealed). What loading refuses (verifyRunRecordSeal)
 * and listings leave out (scanRunRecords), checked once here for both.
 */
export function brokenRecordSeal(settings: Settings, record: RunRecord): FltsError | undefined {
  const problem = runRecordSealProblem(record);
  return problem === undefined ? undefined : corruptRun(record.run_id, `${runsBucket(settings)}/${runKey(record.run_id, RUN_FILES.record)}`, problem);
}

/**
 * Largest JSON file of a run read: the largest flts writes (a Prophet artifact holds its training series) is a few
 * megabytes on the reference data, and one of hundreds would be a series no fit takes. A file past it was not
 * written by a trainer, and reading it whole could take the process's memory (a string this long is also past
 * what the runtime can hold).
 */
export const MAX_RUN_JSON_BYTES = 256 * 1024 * 1024;

/** FLTS_RUN_CORRUPT for a JSON file of a run that could not be read as one (not JSON, or past MAX_RUN_JSON_BYTES); other errors as they are. */
export function runJsonError(runId: string, key: string, error: unknown): unknown {
  if (!(error instanceof FltsError)) return error;
  if (error.code === 'FLTS_DATA_UNREADABLE') return corruptRun(runId, key, 'is not valid JSON', error);
  if (error.code === 'FLTS_DATA_TOO_LARGE') return corruptRun(runId, key, `is ${String(error.details?.bytes)} bytes, over the ${MAX_RUN_JSON_BYTES} a run's JSON file may have`, error);
  return error;
}

/** A JSON file of a run (`file` relative to the run); undefined when absent, FLTS_RUN_CORRUPT when it is not valid JSON or too large. */
export async function findRunJson<T>(store: ObjectStore, settings: Settings, runId: string, file: string): Promise<T | undefined> {
  const key = runKey(runId, file);
  try {
    return await getJsonIfExists<T>(store, runsBucket(settings), key, { maxBytes: MAX_RUN_JSON_BYTES });
  } catch (error) {
    throw runJsonError(runId, `${runsBucket(settings)}/${key}`, error);
  }
}

/** The run's record; undefined when the run does not exist, FLTS_RUN_CORRUPT when its run.json is unreadable or incomplete. */
export async function findRunRecord(store: ObjectStore, settings: Settings, runId: string): Promise<RunRecord | undefined> {
  const value = await findRunJson<unknown>(store, settings, runId, RUN_FILES.record);
  if (value === undefined) return undefined;
  const problem = runRecordProblem(value, runId);
  if (problem) throw corruptRun(runId, `${runsBucket(settings)}/${runKey(runId, RUN_FILES.record)}`, problem);
  return value as RunRecord;
}

/** Throws FLTS_RUN_NOT_FOUND when the run does not exist. */
export async function readRunRecord(store: ObjectStore, settings: Settings, runId: string): Promise<RunRecord> {
  const record = await findRunRecord(store, settings, runId);
  if (!record) {
    throw new FltsError('FLTS_RUN_NOT_FOUND', `Run ${runId} not found in bucket '${runsBucket(settings)}'.`, { details: { runId, bucket: runsBucket(settings) } });
  }
  return record;
}

/** Most runs a refused id names as what was meant: enough for a shortened id, few enough for one line. */
const LIKE_IDS_NAMED = 5;

/**
 * FLTS_RUN_NOT_FOUND for an id a person gave, naming the runs whose ids begin with it, in any case (an id cut short
 * when copied, or typed in capitals): ids are matched whole, since a prefix that names one run today may name two
 * once more are trained. Lists the registry's folders, so it is for a command's refusal, not for a service's loop.
 * Any other error, a listing that fails, or an id no run begins with is returned as it is.
 */
export async function namingRunsLike(error: FltsError, store: ObjectStore, settings: Settings): Promise<FltsError> {
  const given = error.details.runId;
  if (error.code !== 'FLTS_RUN_NOT_FOUND' || typeof given !== 'string' || !RUN_ID_PATTERN.test(given)) return error;
  let like: string[];
  try {
    const prefix = given.toLowerCase();
    like = (await listRunIds(store, settings)).filter((id) => id !== given && id.toLowerCase().startsWith(prefix)).sort();
  } catch {
    return error;
  }
  if (like.length === 0) return error;
  const named = like.slice(0, LIKE_IDS_NAMED).join(', ') + (like.length > LIKE_IDS_NAMED ? ` and ${like.length - LIKE_IDS_NAMED} more` : '');
  const meant = like.length === 1 ? `did you mean ${named}?` : `${like.length} runs begin with it: ${named}; give one whole.`;
  return new FltsError('FLTS_RUN_NOT_FOUND', `${error.message.replace(/\.$/, '')}; run ids are matched whole: ${meant}`, {
    cause: error,
    details: { ...error.details, candidates: like.slice(0, LIKE_IDS_NAMED) },
  });
}

export interface RunRegistryScan {
  /** Usable records (optionally of one config_hash), oldest first. */
  records: RunRecord[];
  /**
   * Runs whose run.json is damaged (unreadable, incomplete, or edited since training sealed it): left out of every
   * listing, so one bad file never hides the others and no edited record is ranked or chosen. With a config_hash,
   * those that could be of it: the index lists them under it, or under none (a damaged record does not say which).
   * A run listed under none is named under every config_hash rather than under the one its record gives: an edited
   * record's config_hash may be the edit, and no other file of a run (artifacts, heartbeat, answered claims, plots)
   * names one. Training lists a run before writing its record: only a run copied in without its entry, or written by
   * an flts older than the index (and damaged before training listed it), is listed under none.
   */
  corrupt: Array<{ run_id: string; code: string; message: string }>;
  /**
   * Run folders of trainRun's ids that hold no record: a trainer between its first beat and its RUNNING record, or
   * one killed there. The scan only reads; registry upkeep (removeOrphanHeartbeats) takes these.
   */
  unrecorded: string[];
}

/** Run records read at once by a scan: enough to keep a filesystem or an S3 endpoint busy, few enough to open. */
const SCAN_WIDTH = 32;

/**
 * The ids a run could have in the registry: its folders named like runs. Listed as folders, one level deep, because
 * a run keeps its artifacts (model, weights, predictions, intervals) beside its record: listing every object would
 * list (and, on the filesystem, stat) all of them to find one run.json per run.
 */
export async function listRunIds(store: ObjectStore, settings: Settings): Promise<string[]> {
  return (await store.listFolders(runsBucket(settings))).map((folder) => folder.slice(0, -1)).filter((name) => name !== CONFIG_HASH_INDEX && name !== SUCCESS_INDEX && name !== MIRROR_MARKERS && RUN_ID_PATTERN.test(name));
}

/** The run ids the SUCCESS index lists (see SUCCESS_INDEX): one listing of folder names. */
async function indexedSuccessRuns(store: ObjectStore, settings: Settings): Promise<string[]> {
  return (await store.listFolders(runsBucket(settings), `${SUCCESS_INDEX}/`)).map((folder) => folder.slice(SUCCESS_INDEX.length + 1, -1)).filter((name) => RUN_ID_PATTERN.test(name));
}

export interface SuccessRuns {
  /**
   * The SUCCESS runs of the registry, every config_hash and target set. When there are at most `readUpTo` of them,
   * exactly the SUCCESS records scanRunRecords finds, oldest first; past that, sorted by id, each run the index lists
   * counted without its record being read (one edited or removed since its SUCCESS was recorded still counts).
   */
  runIds: string[];
  /** The SUCCESS records read that the index lacks, for indexSuccessRuns once their use is made. */
  unindexed: RunRecord[];
}

/**
 * The SUCCESS runs of the registry, read cheaply: the runs the SUCCESS index lists are SUCCESS runs, and only the
 * records of the other runs (RUNNING, FAILED, KILLED, and SUCCESS runs the index lacks) are read, as scanRunRecords
 * reads them. A SUCCESS is never missed: a run is listed as a folder before its record is written, an entry follows
 * its SUCCESS record, and a run without an entry is read. `readUpTo`: at most this many SUCCESS runs, the listed ones'
 * records are read too, for the order and the checks of scanRunRecords (what a short list of them shows).
 */
export async function listSuccessRuns(store: ObjectStore, settings: Settings, readUpTo: number): Promise<SuccessRuns> {
  const [runIds, indexed] = await Promise.all([listRunIds(store, settings), indexedSuccessRuns(store, settings)]);
  const listed = new Set(indexed);
  // An entry of a run whose folder is gone names no run.
  const known = runIds.filter((runId) => listed.has(runId));
  const unindexed = (await readRunRecords(store, settings, runIds.filter((runId) => !listed.has(runId)))).records.filter((run) => run.status === 'SUCCESS');
  if (known.length + unindexed.length > readUpTo) return { runIds: [...known, ...unindexed.map((run) => run.run_id)].sort(), unindexed };
  const records = [...(await readRunRecords(store, settings, known)).records, ...unindexed].filter((run) => run.status === 'SUCCESS').sort(oldestFirst);
  return { runIds: records.map((run) => run.run_id), unindexed };
}

/**
 * Lists in the SUCCESS index the SUCCESS runs of `runs` (usable records just read: the whole registry a training reads,
 * listSuccessRuns's `unindexed`) that it lacks, so that later reads of the registry need not read them. Returns the
 * ids listed.
 */
export async function indexSuccessRuns(store: ObjectStore, settings: Settings, runs: readonly RunRecord[]): Promise<string[]> {
  const success = runs.filter((run) => run.status === 'SUCCESS');
  if (success.length === 0) return [];
  const listed = new Set(await indexedSuccessRuns(store, settings));
  const unlisted = success.filter((run) => !listed.has(run.run_id));
  await mapBounded(unlisted, SCAN_WIDTH, (run) => store.put(runsBucket(settings), successIndexKey(run.run_id), ''));
  return unlisted.map((run) => run.run_id);
}

/** The config_hash the index lists each run under; '' for a run listed under several (a record edited by hand). */
async function indexedConfigHashes(store: ObjectStore, settings: Settings): Promise<Map<string, string>> {
  const bucket = runsBucket(settings);
  const hashFolders = (await store.listFolders(bucket, `${CONFIG_HASH_INDEX}/`)).filter((folder) => isConfigHash(folder.slice(CONFIG_HASH_INDEX.length + 1, -1)));
  const runFolders = await mapBounded(hashFolders, SCAN_WIDTH, (folder) => store.listFolders(bucket, folder));
  const hashOf = new Map<string, string>();
  hashFolders.forEach((folder, at) => {
    const configHash = folder.slice(CONFIG_HASH_INDEX.length + 1, -1);
    for (const runFolder of runFolders[at]) {
      const runId = runFolder.slice(folder.length, -1);
      hashOf.set(runId, hashOf.has(runId) && hashOf.get(runId) !== configHash ? '' : configHash);
    }
  });
  return hashOf;
}

/**
 * The ids of the runs that could be of `configHash`: those the index lists under it, and those it lists under no
 * single one (runs an older flts wrote, runs copied in by hand), whose record alone can say. The others are not read.
 */
async function runIdsOfConfigHash(store: ObjectStore, settings: Settings, configHash: string): Promise<string[]> {
  const [runIds, hashOf] = await Promise.all([listRunIds(store, settings), indexedConfigHashes(store, settings)]);
  return runIds.filter((runId) => {
    const indexed = hashOf.get(runId);
    return indexed === undefined || indexed === '' || indexed === configHash;
  });
}

/**
 * Lists under their config_hash the runs of `runs` (usable records of the whole registry) that the index lacks:
 * runs an older flts wrote, runs copied in. Until then each read of one config_hash reads them too. Returns the
 * ids listed.
 */
export async function indexUnlistedRuns(store: ObjectStore, settings: Settings, runs: readonly RunRecord[]): Promise<string[]> {
  const hashOf = await indexedConfigHashes(store, settings);
  const unlisted = runs.filter((run) => !hashOf.has(run.run_id) && isConfigHash(run.config_hash));
  await mapBounded(unlisted, SCAN_WIDTH, (run) => store.put(runsBucket(settings), configHashIndexKey(run.config_hash, run.run_id), ''));
  return unlisted.map((run) => run.run_id);
}

/** The ids trainRun gives its runs (a UUID without its dashes): only such a folder can hold a run's heartbeat alone. */
const TRAINED_RUN_ID = /^[0-9a-f]{32}$/;

/**
 * Past this, a heartbeat nobody rewrote belongs to no live trainer (`daemon.leaseStaleMs` and twice
 * `daemon.heartbeatMs` count instead when longer): the bound the fs store keeps for the temporary files of killed writes.
 */
export const ORPHAN_HEARTBEAT_STALE_MS = 60 * 60 * 1000;

/**
 * Removes the heartbeat of a run that has no record, when its trainer is gone: a trainer killed between its first beat
 * and its RUNNING record (or whose record write failed and the store then refused the heartbeat's removal too) left a
 * folder every scan of the registry lists and reads, for ever. Gone means known gone (ownerProcessGone); a trainer
 * elsewhere, which no pid here tells of, is gone once its heartbeat was not rewritten for ORPHAN_HEARTBEAT_STALE_MS by
 * the store's clock (a live trainer writes its record a moment after its first beat, and beats every
 * daemon.heartbeatMs). One this process sees running is never removed. Never throws: upkeep goes on whatever the store
 * says. Returns whether it removed it.
 */
async function removeOrphanHeartbeat(store: ObjectStore, settings: Settings, runId: string): Promise<boolean> {
  const bucket = runsBucket(settings);
  const key = runKey(runId, RUN_FILES.heartbeat);
  try {
    const text = await store.get(bucket, key).then(
      (body) => body.toString('utf8'),
      (error: unknown) => (error instanceof FltsError && error.code === 'FLTS_STORE_NOT_FOUND' ? undefined : Promise.reject(error)),
    );
    if (text === undefined) return false;
    // One that does not parse names no trainer: its age alone decides.
    let beat: { owner?: RunOwner; heartbeat_at?: string } = {};
    try {
      beat = (parseLenientJson(text) as typeof beat | null) ?? {};
    } catch {
      // as said
    }
    const owner = beat.owner;
    const named = typeof owner === 'object' && owner !== null && typeof owner.host === 'string' && Number.isSafeInteger(owner.pid);
    const gone = named && ownerProcessGone(owner, String(beat.heartbeat_at), settings.instance);
    // A trainer this process can see running keeps its heartbeat, however long it has not beaten.
    if (!gone && named && ownerSharesProcesses(owner)) return false;
    if (!gone) {
      const staleMs = Math.max(ORPHAN_HEARTBEAT_STALE_MS, settings.daemon.leaseStaleMs, 2 * settings.daemon.heartbeatMs);
      const written = (await store.stat(bucket, key))?.lastModified;
      if (written === undefined || Date.now() - written.getTime() <= staleMs) return false;
    }
    await store.delete(bucket, key);
    await store.removeEmptyFolder?.(bucket, runKey(runId, ''));
    return true;
  } catch {
    // Tried again at the next upkeep.
    return false;
  }
}

/**
 * Registry upkeep, called by those that write the registry anyway (a training as it starts, the daemon's promoter at
 * its resync), never by a read: removes the heartbeats killed trainers left alone in the folders a scan found without
 * a record (RunRegistryScan.unrecorded), by removeOrphanHeartbeat's rule. A listing, an `flts eval`, a library user
 * reading the registry deletes nothing. Returns the run ids whose heartbeat it removed; never throws.
 */
export async function removeOrphanHeartbeats(store: ObjectStore, settings: Settings, unrecorded: readonly string[]): Promise<string[]> {
  const ids = unrecorded.filter((runId) => TRAINED_RUN_ID.test(runId));
  const removed = await mapBounded(ids, SCAN_WIDTH, (runId) => removeOrphanHeartbeat(store, settings, runId));
  return ids.filter((_, at) => removed[at]);
}

/** Every run record of the registry (or of one config_hash), and the runs whose record could not be used. */
export async function scanRunRecords(store: ObjectStore, settings: Settings, filter: { configHash?: string } = {}): Promise<RunRegistryScan> {
  const runIds = filter.configHash ? await runIdsOfConfigHash(store, settings, filter.configHash) : await listRunIds(store, settings);
  const scan = await readRunRecords(store, settings, runIds);
  return filter.configHash ? { ...scan, records: scan.records.filter((record) => record.config_hash === filter.configHash) } : scan;
}

/** Registry order: by start, then id. */
const oldestFirst = (a: RunRecord, b: RunRecord): number => a.timings.started_at.localeCompare(b.timings.started_at) || a.run_id.localeCompare(b.run_id);

/** The records of `runIds` as scanRunRecords reads them: usable ones oldest first, damaged ones aside. */
async function readRunRecords(store: ObjectStore, settings: Settings, runIds: readonly string[]): Promise<RunRegistryScan> {
  const corrupt: RunRegistryScan['corrupt'] = [];
  const unrecorded: string[] = [];
  // A folder without run.json (the live figures' and the leases' folders, a run's leftovers) is no run.
  const records = await mapBounded(runIds, SCAN_WIDTH, async (runId) => {
    try {
      const record = await findRunRecord(store, settings, runId);
      if (record === undefined && TRAINED_RUN_ID.test(runId)) unrecorded.push(runId);
      // An edited record would otherwise still rank, be chosen by promote --best, and only then be refused by serving.
      const broken = record && brokenRecordSeal(settings, record);
      if (broken) throw broken;
      return record;
    } catch (error) {
      if (!(error instanceof FltsError && error.code === 'FLTS_RUN_CORRUPT')) throw error;
      corrupt.push({ run_id: runId, code: error.code, message: error.message });
      return undefined;
    }
  });
  return {
    records: records.filter((record): record is RunRecord => record !== undefined).sort(oldestFirst),
    corrupt: corrupt.sort((a, b) => a.run_id.localeCompare(b.run_id)),
    unrecorded: unrecorded.sort(),
  };
}

/** Every usable run record (optionally of one config_hash), oldest first; damaged ones are left out (see scanRunRecords). */
/** The ids of runs a scan left out as damaged, as a refusal to rank ends its sentence with them; '' when none was. */
export function damagedRunsAside(corrupt: RunRegistryScan['corrupt']): string {
  return corrupt.length > 0 ? ` (left out, damaged: ${corrupt.map((run) => run.run_id).join(', ')})` : '';
}

export async function listRunRecords(store: ObjectStore, settings: Settings, filter: { configHash?: string } = {}): Promise<RunRecord[]> {
  return (await scanRunRecords(store, settings, filter)).records;
}

/** The container slot named by `instance` (settings `instance.*`): both its pod uid and container name, or nothing. */
function containerSlot(instance: InstanceSettings | undefined): { pod_uid: string; container: string } | undefined {
  return instance?.podUid && instance.container ? { pod_uid: instance.podUid, container: instance.container } : undefined;
}

const INSTANCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const instanceIds = new Map<string, string | null>();

/** The id in `file`, created with a fresh random one when absent; undefined when it cannot be read or written. */
function readOrCreateInstanceId(file: string): string | undefined {
  try {
    const id = readFileSync(file, 'utf8').trim();
    return INSTANCE_ID.test(id) && lstatSync(file).isFile() ? id : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
  }
  // Linked into place whole, so that two processes starting together never read a half-written id: one link wins.
  const draft = `${file}.${process.pid}.${randomUUID()}.tmp`;
  try {
    writeFileSync(draft, `${randomUUID()}\n`, { flag: 'wx', mode: 0o644 });
    linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  } finally {
    try {
      unlinkSync(draft);
    } catch {
      // never written
    }
  }
  const id = readFileSync(file, 'utf8').trim();
  return INSTANCE_ID.test(id) ? id : undefined;
}

/**
 * The id of the container this process runs in, kept in `idFile` (settings `instance.idFile`): read, or created by the
 * container's first flts process, once per process. A file in the container's writable layer survives a restart of
 * the container in place and is seen by no other container: a replica, or a container recreated beside a running one,
 * writes its own. A file on another filesystem than `root` (the container's own: a volume, a bind mount, a tmpfs)
 * could be shared by replicas, who would each take the other's live work for their predecessor's: it names nothing,
 * and neither does one that cannot be written (a read-only root). Undefined then, and when `idFile` is "".
 */
export function containerInstanceId(idFile: string, root = '/'): string | undefined {
  if (!idFile) return undefined;
  const key = `${root}\u0000${idFile}`;
  let id = instanceIds.get(key);
  if (id === undefined) {
    try {
      const onRoot = statSync(realpathSync(path.dirname(idFile))).dev === statSync(root).dev;
      id = (onRoot ? readOrCreateInstanceId(idFile) : undefined) ?? null;
    } catch {
      id = null;
    }
    instanceIds.set(key, id);
  }
  return id ?? undefined;
}

/** This process, as recorded on the runs it trains and the leases it holds; `instance` is settings `instance.*`. */
export function currentRunOwner(instance?: InstanceSettings): RunOwner {
  const started = processStartOf(process.pid);
  const namespace = currentPidNamespace();
  const instanceId = containerInstanceId(instance?.idFile ?? '');
  return {
    host: os.hostname(),
    pid: process.pid,
    ...(started ? { started } : {}),
    ...(namespace ? { pid_namespace: namespace } : {}),
    ...containerSlot(instance),
    ...(instanceId ? { instance_id: instanceId } : {}),
  };
}

/**
 * Whether `owner` is an earlier instance of the container this process runs in (`instance`, settings `instance.*`),
 * known gone though its pid says nothing here (another pid namespace), by either of two platform guarantees:
 * - Kubernetes: recorded with this pod's uid and this container's name, on this host, in another pid namespace or
 *   another boot. The kubelet starts a container again (OOMKilled, a failed liveness probe) only once its last
 *   instance has ended. Another container or pod never is (it may well be at work).
 * - Docker: recorded with this container's id (containerInstanceId), on this host, on this boot, in another pid
 *   namespace. Docker starts a container again (its restart policy, `docker restart`) only once all its processes
 *   have ended, and no other container has its file. Another boot is not enough here: a copy of a machine's disk
 *   (a cloned VM) carries the same file into a live twin, so a container restarted after a reboot waits.
 * Neither holds within this container's own namespace on this boot: there the pid decides (ownerProcessGone).
 */
export function ownerIsPredecessor(owner: RunOwner, instance: InstanceSettings | undefined): boolean {
  if (owner.host !== os.hostname()) return false;
  const ownerBoot = bootOf(owner);
  const boot = currentBootId();
  const namespace = currentPidNamespace();
  const otherNamespace = owner.pid_namespace !== undefined && namespace !== undefined && owner.pid_namespace !== namespace;
  const slot = containerSlot(instance);
  if (slot && owner.pod_uid === slot.pod_uid && owner.container === slot.container && ((ownerBoot && boot && ownerBoot !== boot) || otherNamespace)) return true;
  const instanceId = containerInstanceId(instance?.idFile ?? '');
  return instanceId !== undefined && owner.instance_id === instanceId && boot !== undefined && ownerBoot === boot && otherNamespace;
}

/** The boot id in `owner.started`; undefined when not recorded. */
function bootOf(owner: RunOwner): string | undefined {
  return owner.started?.slice(0, owner.started.lastIndexOf(':')) || undefined;
}

/**
 * Whether `owner`'s pid means a process this one can see: the same host name and, where recorded, the same boot of
 * the same machine (the boot id in `started`) and the same pid namespace. Machines that share a name, and containers
 * that share their host's (on its network, or given one `hostname:`), each count pids of their own: read here, the
 * other's pid would name nothing, or another process, and its live work would be taken for dead. An owner recorded
 * before these were kept is judged by its host name alone.
 */
export function ownerSharesProcesses(owner: RunOwner): boolean {
  if (owner.host !== os.hostname()) return false;
  const ownerBoot = bootOf(owner);
  const boot = currentBootId();
  if (ownerBoot && boot && ownerBoot !== boot) return false;
  return owner.pid_namespace === undefined || owner.pid_namespace === currentPidNamespace();
}

/**
 * When process `pid` started, in ms since the epoch by this host's clock (Linux: boot time plus the start tick at
 * CLOCK_TICKS_PER_SECOND); undefined where /proc cannot say.
 */
export function processStartedAtMs(pid: number): number | undefined {
  let bootSeconds: number;
  try {
    bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
  const startTicks = Number(procStartTicks(pid));
  return Number.isFinite(bootSeconds) && Number.isFinite(startTicks) ? bootSeconds * 1000 + (startTicks * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
}

/**
 * How much later than a run's start its pid's process may have started and still be taken for its trainer: more
 * than the one-second grain of the boot time, and more than a small step of the clock since the run began.
 */
const PID_REUSE_MARGIN_MS = 60_000;

/**
 * Whether the run's training process is known to be gone: it ran on this host, and its pid is no longer in use
 * or is now another process's (one that started at another time: a restarted container's, after a reboot), or it
 * was an earlier instance of this process's container (ownerIsPredecessor; `instance` is settings `instance.*`).
 * A record without `owner.started` (written before it was) can only be told by time: a process that started
 * after the run did is not its trainer. Unknown (another host, no owner recorded) counts as not gone.
 */
export function runOwnerGone(run: RunRecord, instance?: InstanceSettings): boolean {
  return run.owner !== undefined && ownerProcessGone(run.owner, run.timings.started_at, instance);
}

/**
 * Whether `owner`, a process that recorded something (a run, a work lease) at `since` by this host's clock, is known
 * to be gone; see runOwnerGone.
 */
export function ownerProcessGone(owner: RunOwner, since: string, instance?: InstanceSettings): boolean {
  if (ownerIsPredecessor(owner, instance)) return true;
  if (!ownerSharesProcesses(owner)) return false;
  if (owner.started !== undefined) return recordedProcessGone(owner.pid, owner.started);
  // Recorded before the start was: only a process that started well after the record is known not to be its owner.
  if (owner.pid !== process.pid) {
    try {
      process.kill(owner.pid, 0);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
  const startedAtMs = processStartedAtMs(owner.pid);
  const sinceMs = Date.parse(since);
  return startedAtMs !== undefined && Number.isFinite(sinceMs) && startedAtMs > sinceMs + PID_REUSE_MARGIN_MS;
}

/**
 * Records a RUNNING run as KILLED with `message`, only while its stored record is still RUNNING: the write is made at
 * the version read, so a final record (SUCCESS, FAILED) its trainer wrote meanwhile is never overwritten. Returns the
 * KILLED record, or undefined when the run had ended (or its record is unusable).
 */
export async function markRunKilled(store: ObjectStore, settings: Settings, runId: string, message: string, now: Date = new Date()): Promise<RunRecord | undefined> {
  const bucket = runsBucket(settings);
  const key = runKey(runId, RUN_FILES.record);
  // Each retry follows a write by someone else; a finished trainer or another marker ends it at the next look.
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await store.getVersioned(bucket, key);
    if (!current) return undefined;
    let run: RunRecord;
    try {
      const value = parseLenientJson(current.body.toString('utf8'));
      if (runRecordProblem(value, runId)) return undefined;
      run = value as RunRecord;
    } catch {
      return undefined;
    }
    if (run.status !== 'RUNNING') return undefined;
    const killed: RunRecord = { ...run, status: 'KILLED', error: { code: 'FLTS_TRAIN_ABORTED', message }, timings: { ...run.timings, finished_at: now.toISOString() } };
    if ((await store.putIfVersion(bucket, key, `${JSON.stringify(killed, null, 2)}\n`, current.version)) !== undefined) {
      // The dead process left its heartbeat behind; the final record makes it meaningless.
      await store.delete(bucket, runKey(runId, RUN_FILES.heartbeat)).catch(() => undefined);
      return killed;
    }
  }
  return undefined;
}

/**
 * RUNNING runs whose process died without recording an end (SIGKILL, out of memory) are recorded as KILLED,
 * so they do not stay RUNNING for ever; runs of live or unknown processes are left alone. `runs` are the registry's
 * records when the caller has just read them. Returns those marked.
 */
export async function markDeadRunsKilled(store: ObjectStore, settings: Settings, now: Date = new Date(), runs?: readonly RunRecord[]): Promise<RunRecord[]> {
  const dead = (runs ?? (await listRunRecords(store, settings))).filter((run) => run.status === 'RUNNING' && runOwnerGone(run, settings.instance));
  const marked: RunRecord[] = [];
  for (const run of dead) {
    const killed = await markRunKilled(store, settings, run.run_id, `The process training this run (pid ${run.owner?.pid} on ${run.owner?.host}) ended without finishing it.`, now);
    if (killed) marked.push(killed);
  }
  return marked;
}
