import { createHash } from 'node:crypto';
import type { Settings } from '../config/settings.js';
import { redactSecrets } from '../redact.js';
import { getJsonIfExists, putJson } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { MIRROR_MARKERS, runKey, runsBucket } from './run-store.js';

/**
 * The runs bucket's record of which runs have a complete MLflow mirror: one empty object per mirror,
 * `mlflow-mirrors/<server>/<run_id>/<experiment_id>/<mlflow_run_id>`, so that one listing of the server's folder tells a
 * sync the runs it need not ask MLflow about, and where their mirrors are. `<server>` stands for the tracking URI (credentials left out): a
 * store pointed at another server (or the same one under another address) trusts none of the markers of the first.
 * A marker is written only once MLflow has `flts.mirror_complete` on the mirror, so a crash leaves a mirror without
 * a marker (the next sync asks MLflow, finds it complete and writes the marker), never a marker without a mirror.
 *
 * A sync that lists every complete mirror (the first after an upgrade, or after a server was taken for wiped) reads it
 * a page at a time within its budget, and may find far more markers owed than that budget lets it write. It records
 * them first in one object of the same folder, `unwritten.json` (found complete, marker not written yet), together
 * with how far the listing has gone, and writes the markers within its budget: a later sync takes the record's entries
 * for markers (audited like them), writes the rest and reads the listing on from the page after the last one recorded.
 * Page and markers found on it are recorded in one write, so a sync stopped at any point loses neither.
 *
 * A run whose experiment an operator deleted in MLflow cannot be mirrored (flts does not restore the experiment) and is
 * parked: one empty object, `<run_id>/~experiment-deleted/<experiment_id>`, which the same listing shows. A sync leaves
 * a parked run alone while the experiment stays deleted, and drops the object, mirroring the run again, once it is not
 * (restored, purged, or another experiment named in its place): see mirror-pending-runs.ts. An older flts takes the
 * object for a marker of an experiment that is not active, and drops it.
 */
export interface MirrorMarker {
  runId: string;
  experimentId: string;
  mlflowRunId: string;
  /** The marker's key in the runs bucket. */
  key: string;
  /** When the marker was written (ms since the epoch). */
  writtenAt: number;
}

/** A run parked because its MLflow experiment, `experimentId`, is deleted: the object `key` says so. */
export interface ParkedRun {
  runId: string;
  experimentId: string;
  key: string;
}

/** The middle part of a parked run's key: no MLflow experiment id, which are digits. */
const PARKED = '~experiment-deleted';

/** The folder of the markers of mirrors on the tracking server `settings` name. */
function serverFolder(settings: Settings): string {
  const uri = redactSecrets(settings.tracking.uri.trim().replace(/\/+$/, '')).toLowerCase();
  return `${MIRROR_MARKERS}/${createHash('sha256').update(uri).digest('hex').slice(0, 16)}/`;
}

/**
 * The record of the promotion last marked in MLflow (mark-promoted.ts) for the pointer scope `scope` (an identifier or
 * `global`), on the tracking server `settings` name: beside the server folders, not in one, which a sync lists whole.
 */
export function promotionMarkKey(settings: Settings, scope: string): string {
  return `${MIRROR_MARKERS}/~promoted/${serverFolder(settings).slice(MIRROR_MARKERS.length + 1)}${encodeURIComponent(scope)}.json`;
}

export function markerKey(settings: Settings, runId: string, experimentId: string, mlflowRunId: string): string {
  return `${serverFolder(settings)}${runKey(runId, encodeURIComponent(experimentId), encodeURIComponent(mlflowRunId))}`;
}

export async function writeMirrorMarker(store: ObjectStore, settings: Settings, runId: string, experimentId: string, mlflowRunId: string): Promise<void> {
  await store.put(runsBucket(settings), markerKey(settings, runId, experimentId, mlflowRunId), '');
}

export function parkedKey(settings: Settings, runId: string, experimentId: string): string {
  return `${serverFolder(settings)}${runKey(runId, PARKED, encodeURIComponent(experimentId))}`;
}

/** Parks `runId` (see above): its experiment `experimentId` is deleted in MLflow. */
export async function parkRun(store: ObjectStore, settings: Settings, runId: string, experimentId: string): Promise<void> {
  await store.put(runsBucket(settings), parkedKey(settings, runId, experimentId), '');
}

/** The markers of mirrors on this store's tracking server; a key of another shape (written by hand) is none. */
export async function listMirrorMarkers(store: ObjectStore, settings: Settings): Promise<MirrorMarker[]> {
  return (await readMirrorMarkers(store, settings)).written;
}

const unwrittenKey = (settings: Settings): string => `${serverFolder(settings)}unwritten.json`;

/**
 * The markers written, and those a sync found owed but had not written (see above), by one listing of the folder (the
 * record of unwritten ones is read only when the listing shows it). A record that cannot be read is taken for empty:
 * its runs are asked about again, never marked on its word.
 */
export async function readMirrorMarkers(store: ObjectStore, settings: Settings): Promise<{ written: MirrorMarker[]; unwritten: MirrorMarker[]; parked: ParkedRun[]; listing?: MirrorListing }> {
  const folder = serverFolder(settings);
  const objects = await store.list(runsBucket(settings), folder);
  const record = objects.find(({ key }) => key === unwrittenKey(settings));
  return { written: markersOf(folder, objects), parked: parkedOf(folder, objects), ...(record ? await readRecord(store, settings, record.lastModified.getTime()) : { unwritten: [] }) };
}

/**
 * How far a listing of every complete mirror on the server has gone: `next` is MLflow's token of the next page, absent
 * once the listing has ended (see mirror-pending-runs.ts for when another begins). The next page is read from `after`
 * when there is one, by the token only when `byToken` says so (or for a listing recorded without a position).
 */
export interface MirrorListing {
  readonly next?: string;
  /** The experiments listed: the pages of one listing are of one search. */
  readonly experimentIds: readonly string[];
  /** Pages read so far, over every sync. */
  readonly pages: number;
  /**
   * When the listing began, on the store's clock (the record's time once its first page was recorded): runs recorded
   * before it that it did not find had no complete mirror then. Absent when not known yet.
   */
  readonly startedAt?: number;
  /** Runs asked for per page when fewer than LISTING_PAGE_RUNS: a page cut at a sync's deadline halves it, one read well within it doubles it. */
  readonly pageRuns?: number;
  /**
   * Where the next page begins, by key rather than by MLflow's page token (an offset, which a mirror deleted before it
   * would move past one run): the mirrors started at `startTime` or later, less `runIds`, those of that start time read.
   */
  readonly after?: ListingPosition;
  /**
   * The next page is read with `next`, MLflow's page token, within the search from `after` (from the first mirror
   * when there is none): a page whose every run shares one start time cannot move the position on.
   */
  readonly byToken?: boolean;
  /** The server refused a position by key (a start_time filter): this listing reads on by page token alone. */
  readonly unkeyed?: boolean;
}

export interface ListingPosition {
  /** The start time (ms) of the last mirror read. */
  readonly startTime: number;
  /** The MLflow run ids read that started at `startTime`. */
  readonly runIds: readonly string[];
}

function positionOf(value: unknown): ListingPosition | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { startTime, runIds } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(startTime) || !Array.isArray(runIds) || !runIds.every((id) => typeof id === 'string' && id !== '')) return undefined;
  return { startTime: startTime as number, runIds: runIds as string[] };
}

function listingOf(value: unknown): MirrorListing | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { next, experimentIds, pages, startedAt, pageRuns, after, byToken, unkeyed } = value as Record<string, unknown>;
  if (!Number.isInteger(pages) || (pages as number) < 0 || (next !== undefined && (typeof next !== 'string' || next === ''))) return undefined;
  if (!Array.isArray(experimentIds) || !experimentIds.every((id) => typeof id === 'string')) return undefined;
  const started = typeof startedAt === 'number' && Number.isFinite(startedAt) ? { startedAt } : {};
  const size = Number.isInteger(pageRuns) && (pageRuns as number) > 0 ? { pageRuns: pageRuns as number } : {};
  const position = positionOf(after);
  return { ...(next === undefined ? {} : { next: next as string }), experimentIds: experimentIds as string[], pages: pages as number, ...started, ...size, ...(position ? { after: position } : {}), ...(byToken === true ? { byToken } : {}), ...(unkeyed === true ? { unkeyed } : {}) };
}

async function readRecord(store: ObjectStore, settings: Settings, writtenAt: number): Promise<{ unwritten: MirrorMarker[]; listing?: MirrorListing }> {
  let record: { markers?: unknown; listing?: unknown } | undefined;
  try {
    record = await getJsonIfExists<{ markers?: unknown; listing?: unknown }>(store, runsBucket(settings), unwrittenKey(settings));
  } catch {
    return { unwritten: [] };
  }
  const listing = listingOf(record?.listing);
  return { unwritten: unwrittenMarkers(settings, record?.markers, writtenAt), ...(listing ? { listing } : {}) };
}

function unwrittenMarkers(settings: Settings, entries: unknown, writtenAt: number): MirrorMarker[] {
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length !== 3 || entry.some((part) => typeof part !== 'string' || part === '')) return [];
    const [runId, experimentId, mlflowRunId] = entry as string[];
    try {
      return [{ runId, experimentId, mlflowRunId, key: markerKey(settings, runId, experimentId, mlflowRunId), writtenAt }];
    } catch {
      // No run has this id.
      return [];
    }
  });
}

/** The record of `markers` owed and not written and of `listing`, as saved; undefined when there is nothing to record. */
export function unwrittenRecord(markers: readonly MirrorMarker[], listing: MirrorListing | undefined): object | undefined {
  if (markers.length === 0 && !listing) return undefined;
  return { markers: markers.map((marker) => [marker.runId, marker.experimentId, marker.mlflowRunId]), ...(listing ? { listing } : {}) };
}

/** When the record was last written, on the store's clock; undefined when there is none. */
export async function unwrittenRecordTime(store: ObjectStore, settings: Settings): Promise<number | undefined> {
  return (await store.stat(runsBucket(settings), unwrittenKey(settings)))?.lastModified.getTime();
}

/** Records `markers` as owed and not written, and `listing` (replacing the record), or drops the record when there is neither. */
export async function saveUnwrittenMarkers(store: ObjectStore, settings: Settings, markers: readonly MirrorMarker[], listing?: MirrorListing): Promise<void> {
  const record = unwrittenRecord(markers, listing);
  if (!record) await store.delete(runsBucket(settings), unwrittenKey(settings));
  else await putJson(store, runsBucket(settings), unwrittenKey(settings), record);
}

function markersOf(folder: string, objects: ReadonlyArray<{ key: string; lastModified: Date }>): MirrorMarker[] {
  return objects.flatMap(({ key, lastModified }) => {
    const parts = key.slice(folder.length).split('/');
    if (parts.length !== 3 || parts.some((part) => part === '')) return [];
    const [runId, experimentId, mlflowRunId] = parts;
    if (experimentId === PARKED) return [];
    try {
      return [{ runId, experimentId: decodeURIComponent(experimentId), mlflowRunId: decodeURIComponent(mlflowRunId), key, writtenAt: lastModified.getTime() }];
    } catch {
      return [];
    }
  });
}

function parkedOf(folder: string, objects: ReadonlyArray<{ key: string }>): ParkedRun[] {
  return objects.flatMap(({ key }) => {
    const parts = key.slice(folder.length).split('/');
    if (parts.length !== 3 || parts[1] !== PARKED || parts[0] === '' || parts[2] === '') return [];
    try {
      return [{ runId: parts[0], experimentId: decodeURIComponent(parts[2]), key }];
    } catch {
      return [];
    }
  });
}

/** Drops markers whose mirror MLflow no longer has (or parked runs' objects); a marker the store refuses to delete is found stale again. */
export async function deleteMirrorMarkers(store: ObjectStore, settings: Settings, markers: ReadonlyArray<{ key: string }>): Promise<void> {
  if (markers.length > 0) await store.deleteMany(runsBucket(settings), markers.map((marker) => marker.key));
}
