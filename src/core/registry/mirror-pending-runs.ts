import type { Settings } from '../config/settings.js';
import { FltsError, isFltsError, toFltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { RUN_FILES } from './run-record.js';
import { findRunRecord, listRunIds, runKey, runsBucket } from './run-store.js';
import {
  deleteMirrorMarkers,
  markerKey,
  parkRun,
  readMirrorMarkers,
  saveUnwrittenMarkers,
  unwrittenRecord,
  unwrittenRecordTime,
  writeMirrorMarker,
  type ListingPosition,
  type MirrorListing,
  type MirrorMarker,
  type ParkedRun,
} from './mirror-markers.js';
import { mapBounded } from '../bounded-map.js';
import type { ObjectStore } from '../storage/object-store.js';
import { toRecord, type MlflowExperiment, type MlflowRun } from '../tracking/mlflow-types.js';
import { experimentDeleted } from '../tracking/mlflow-client.js';
import { mirrorRun, type MirrorRunResult } from './mirror-run.js';
import { backfillLoggedModels, type LoggedModelBackfill } from './backfill-logged-models.js';
import { PROCESSED_SHA256_TAG } from './mirror-source.js';
import { trackingClientFor } from '../tracking/tracking-deps.js';
import { createMlflowServers } from '../tracking/mlflow-servers.js';
import { clientUntil, filterLiteral, MIRROR_TAGS, type TrackingDeps } from '../tracking/tracking-deps.js';

export interface MirrorPendingResult {
  /**
   * Runs in the registry whose MLflow mirror was missing or incomplete before this call. Each run the store has no
   * marker of is asked about; those MLflow turns out to have complete are in `found`, not here. While a listing of every
   * complete mirror is under way (over several syncs), the runs of pages it has not read yet are here too.
   */
  pending: string[];
  mirrored: MirrorRunResult[];
  /** Runs without a marker whose mirror MLflow had complete: marked now, nothing sent. */
  found: Array<{ runId: string; mlflowRunId: string }>;
  /**
   * Complete mirrors given the `flts.data.processed_sha256` tag their run.json records (mirrors written before the tag
   * existed), so that `flts eval --source mlflow` tells their rows apart by content rather than by input files.
   */
  tagged: Array<{ runId: string; mlflowRunId: string }>;
  /** Runs the mirror could not write, with the code it gave up on; a run parked now is in `parked` instead. */
  failed: Array<{ runId: string; code: string; message: string }>;
  /** Runs not mirrored now (the server became unavailable, or the backlog's budget ran out): the next catch-up takes them. */
  deferred: string[];
  /**
   * Set when MLflow became unavailable part-way (its code, FLTS_TRACKING_UNAVAILABLE, is retriable): what the sync did
   * before stays done (mirrors, markers, the listing's progress) and the next sync goes on from there. `step` is where
   * it stopped: mirroring a run (also in `failed`), reading the listing of complete mirrors, or tagging mirrors.
   */
  interrupted?: { step: 'mirror' | 'listing' | 'tagging' | 'logged-models'; code: string; message: string };
  /**
   * Complete ONNX mirrors an flts before MLflow 3's logged models wrote, given their logged model by this sync (at most
   * LOGGED_MODELS_BACKFILLED_PER_SYNC, newest first: backfill-logged-models.ts). Not counted among `pending` or
   * `deferred`: those runs are mirrored, their `model/` loads. Absent when none.
   */
  loggedModels?: LoggedModelBackfill['logged'];
  /**
   * Runs this sync found to be of an experiment an operator deleted in MLflow (refused with FLTS_TRACKING_REJECTED,
   * reason `experiment_deleted`): parked in the store (mirror-markers.ts), and not tried again until the experiment is
   * restored, purged, or another one named in its place. Not in `failed`: held back on purpose, with a warning naming
   * the experiment, as the runs parked before them are (`waiting`); a run that could not be parked is. Absent when none.
   */
  parked?: Array<{ runId: string; reason: 'experiment_deleted'; experimentName: string; experimentId: string }>;
  /** Runs parked by earlier syncs whose experiment is still deleted, left alone by this one, by experiment. Absent when none. */
  waiting?: Array<{ experimentName: string; experimentId: string; runs: number }>;
}

/** Records looked up (and markers written) at once: enough to keep a filesystem or an S3 endpoint busy, few enough to open. */
const LOOKUP_WIDTH = 32;

/** A complete MLflow mirror of flts run `runId`. */
interface CompleteMirror {
  runId: string;
  run: MlflowRun;
  tags: Record<string, string>;
}

type Client = ReturnType<typeof trackingClientFor>;

const COMPLETE_FILTER = `tags.\`${MIRROR_TAGS.complete}\` = 'true'`;

function asCompleteMirrors(runs: readonly MlflowRun[]): CompleteMirror[] {
  return runs.flatMap((run) => {
    const tags = toRecord(run.data.tags);
    const runId = tags[MIRROR_TAGS.runId];
    return runId === undefined ? [] : [{ runId, run, tags }];
  });
}

/** Run records read per sync for mirrors that lack the processed-data tag: the backfill goes on at the next sync. */
export const DIGEST_TAG_READS_PER_SYNC = 20;
/** Mirrors without the processed-data tag asked for per sync, newest first: the other registries' ones are skipped. */
const DIGEST_TAG_CANDIDATES = 50;

const startTime = (run: MlflowRun): number => Number(run.info.start_time ?? 0) || 0;

/**
 * The complete mirrors of runs of this registry that lack the processed-data tag, newest first and at most
 * DIGEST_TAG_READS_PER_SYNC: runs recorded with the digest are the newer ones (older records have none to give), so
 * the ones that can be tagged come first and leave the list once tagged. The mirrors of runs recorded before the digest
 * stay untagged, so once the others are done each sync reads that many of their records again: the bound is its cost.
 * MLflow is asked for the untagged ones alone (`IS NULL`, recent MLflow 3.x); a server that refuses the filter is asked
 * for its newest complete mirrors instead (older untagged ones stay so there), unless this sync listed them all (`listed`).
 */
async function mirrorsWithoutDigestTag(client: Client, experimentIds: readonly string[], registered: ReadonlySet<string>, listed: CompleteMirror[] | undefined, deadline: number | undefined): Promise<CompleteMirror[]> {
  if (experimentIds.length === 0) return [];
  let mirrors = listed;
  if (!mirrors) {
    const newest = { experimentIds, orderBy: ['attributes.start_time DESC'], maxResults: DIGEST_TAG_CANDIDATES, ...(deadline === undefined ? {} : { deadline }) };
    try {
      mirrors = asCompleteMirrors(await client.searchRuns({ ...newest, filter: `${COMPLETE_FILTER} AND tags.\`${PROCESSED_SHA256_TAG}\` IS NULL` }));
      if (pastDeadline(deadline)) return [];
    } catch (error) {
      // Past the backlog's deadline the tagging waits for a later sync.
      if (cutAt(error, deadline)) return [];
      if (!isFltsError(error) || error.code !== 'FLTS_TRACKING_REJECTED') throw error;
      try {
        mirrors = asCompleteMirrors(await client.searchRuns({ ...newest, filter: COMPLETE_FILTER }));
      } catch (fallbackError) {
        if (cutAt(fallbackError, deadline)) return [];
        throw fallbackError;
      }
    }
  }
  return mirrors
    .filter((mirror) => mirror.tags[PROCESSED_SHA256_TAG] === undefined && registered.has(mirror.runId))
    .sort((a, b) => startTime(b.run) - startTime(a.run) || a.run.info.run_id.localeCompare(b.run.info.run_id))
    .slice(0, DIGEST_TAG_READS_PER_SYNC);
}

const pastDeadline = (deadline: number | undefined): boolean => deadline !== undefined && Date.now() >= deadline;

/** A search ended by the sync's `deadline` (the client's reason `deadline`, or the clock): not a server's failure. */
function cutAt(error: unknown, deadline: number | undefined): boolean {
  return deadline !== undefined && ((isFltsError(error) && error.code === 'FLTS_TRACKING_UNAVAILABLE' && error.details.reason === 'deadline') || Date.now() >= deadline);
}

/**
 * Markers checked against MLflow per sync, half the newest (what a server restored from a backup lacks first), half
 * picked at random: one search of at most this many full runs, by MLflow run id.
 */
export const MARKERS_AUDITED_PER_SYNC = 20;
/** Deleted mirrors asked for per sync (one page): runs an operator deleted and MLflow has not garbage-collected yet. */
const DELETED_MIRRORS_LOOKED_UP = 1000;
/**
 * Unmarked runs from which one listing of every complete mirror (a page of full runs per thousand) is cheaper than
 * asking MLflow about each while mirroring it (two small calls a run): the first sync of a store whose mirrors were
 * written before markers existed, or after the markers of a server found wiped were dropped (see unmarkedRunIds).
 */
export const FULL_LISTING_FROM = 100;
const MLFLOW_RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The markers a sync checks: all of them up to `size`, else the newest half of `size` and the rest at random. */
function audited(markers: readonly MirrorMarker[], size: number): MirrorMarker[] {
  if (markers.length <= size) return [...markers];
  const picked = [...markers].sort((a, b) => b.writtenAt - a.writtenAt);
  for (let at = Math.floor(size / 2); at < size; at += 1) {
    const other = at + Math.floor(Math.random() * (picked.length - at));
    [picked[at], picked[other]] = [picked[other], picked[at]];
  }
  return picked.slice(0, size);
}

/**
 * The audit's own budget (see mirrorPendingRuns): `endsAt` on the clock, for the searches, which end by a deadline, and
 * `timer`, which fires at it, for the lookups of a run by id, which take none from a client a library caller passed.
 */
interface AuditBudget {
  endsAt: number;
  timer: AbortSignal;
}

function startAuditBudget(budgetMs: number): AuditBudget {
  return { endsAt: Date.now() + budgetMs, timer: AbortSignal.timeout(budgetMs) };
}

/** A lookup ended by the audit's budget, as a search cut at its deadline is (reason `deadline`): see cutAt. */
function auditCut(client: Client, looked: number): FltsError {
  return new FltsError('FLTS_TRACKING_UNAVAILABLE', `MLflow tracking server ${client.uri} did not answer the lookups of the audited mirrors by the sync's deadline.`, {
    details: { uri: client.uri, path: '/api/2.0/mlflow/runs/get', reason: 'deadline', lookups: looked },
  });
}

/** `lookups`, or the audit's cut once its budget runs out, whichever comes first (a late answer is dropped). */
async function withinAudit<T>(lookups: Promise<T>, client: Client, looked: number, audit: AuditBudget): Promise<T> {
  if (audit.timer.aborted || Date.now() >= audit.endsAt) throw auditCut(client, looked);
  let stop: (() => void) | undefined;
  const cut = new Promise<never>((_, reject) => {
    stop = () => reject(auditCut(client, looked));
    audit.timer.addEventListener('abort', stop, { once: true });
  });
  try {
    return await Promise.race([lookups, cut]);
  } finally {
    audit.timer.removeEventListener('abort', stop!);
  }
}

/**
 * The MLflow run ids of `markers` whose run MLflow has active and complete: one search by id, or on a server that
 * refuses `attributes.run_id IN` (older than MLflow 2), one lookup per marker. Both end by the audit's budget: the
 * lookups, each a call of its own budget, would otherwise hold the sync for as long as a slow server takes to answer.
 */
async function completeAmong(client: Client, experimentIds: readonly string[], markers: readonly MirrorMarker[], audit: AuditBudget | undefined): Promise<Set<string>> {
  try {
    const filter = `attributes.run_id IN (${markers.map((marker) => filterLiteral(marker.mlflowRunId)).join(', ')}) AND ${COMPLETE_FILTER}`;
    return new Set((await client.searchRuns({ experimentIds, filter, maxResults: markers.length, ...(audit === undefined ? {} : { deadline: audit.endsAt }) })).map((run) => run.info.run_id));
  } catch (error) {
    if (!isFltsError(error) || error.code !== 'FLTS_TRACKING_REJECTED') throw error;
    const lookups = Promise.all(markers.map((marker) => client.getRun(marker.mlflowRunId, audit === undefined ? {} : { deadline: audit.endsAt })));
    const runs = audit === undefined ? await lookups : await withinAudit(lookups, client, markers.length, audit);
    return new Set(runs.flatMap((run) => (run && run.info.lifecycle_stage !== 'deleted' && toRecord(run.data.tags)[MIRROR_TAGS.complete] === 'true' ? [run.info.run_id] : [])));
  }
}

/**
 * The markers whose mirror MLflow still has, the others deleted from the store. A marker is stale when its
 * experiment is no longer active, when its mirror is among the deleted runs MLflow still lists (an operator's
 * `mlflow runs delete`, noticed at the next sync), or when it is among the MARKERS_AUDITED_PER_SYNC checked this sync
 * and MLflow has no active complete run of that id: a mirror purged by `mlflow gc` before a sync saw it deleted is
 * noticed within about 2 * markers / MARKERS_AUDITED_PER_SYNC syncs, one of the newest (a server restored from a
 * backup) at the next sync. When none of those checked is there, the server is taken for wiped or
 * replaced and every marker is dropped, so the next listing of MLflow says again what is mirrored. Markers owed and not
 * written yet (`unwritten`) are checked alike, and have no object to delete.
 */
async function liveMarkers(
  store: ObjectStore,
  settings: Settings,
  client: Client,
  experimentIds: readonly string[],
  markers: readonly MirrorMarker[],
  unwritten: ReadonlySet<MirrorMarker>,
  audit: AuditBudget | undefined,
  logger: Logger,
): Promise<{ live: MirrorMarker[]; wiped: boolean }> {
  const deadline = audit?.endsAt;
  if (markers.length === 0) return { live: [], wiped: false };
  let wiped = false;
  const active = new Set(experimentIds);
  const stale = new Set<MirrorMarker>(markers.filter((marker) => !active.has(marker.experimentId) || !MLFLOW_RUN_ID.test(marker.mlflowRunId)));
  if (experimentIds.length > 0) {
    try {
      const deleted = await client.searchRuns({ experimentIds, filter: COMPLETE_FILTER, viewType: 'DELETED_ONLY', maxResults: DELETED_MIRRORS_LOOKED_UP, ...(deadline === undefined ? {} : { deadline }) });
      const deletedIds = new Set(deleted.map((run) => run.info.run_id));
      for (const marker of markers) if (deletedIds.has(marker.mlflowRunId)) stale.add(marker);
      const checked = audited(
        markers.filter((marker) => !stale.has(marker)),
        MARKERS_AUDITED_PER_SYNC,
      );
      if (checked.length > 0) {
        const found = await completeAmong(client, experimentIds, checked, audit);
        const missing = checked.filter((marker) => !found.has(marker.mlflowRunId));
        wiped = missing.length === checked.length;
        for (const marker of wiped ? markers : missing) stale.add(marker);
      }
    } catch (error) {
      if (!cutAt(error, deadline)) throw error;
      // A server too slow to answer within the sync's budget: the markers are checked by a later sync, those found
      // deleted so far dropped (a marker kept wrongly costs a mirror not rewritten until then, never a wrong one).
      logger.info({ markers: markers.length }, 'mlflow_marker_check_cut_at_deadline');
    }
  }
  await deleteMirrorMarkers(
    store,
    settings,
    [...stale].filter((marker) => !unwritten.has(marker)),
  );
  return { live: markers.filter((marker) => !stale.has(marker)), wiped };
}

/**
 * Pages of complete mirrors one listing reads, over all the syncs it takes: 1000 runs a page, a million mirrors, more
 * than the experiments flts mirrors into hold. A server handing out page tokens forever ends the listing here.
 */
export const LISTING_PAGES_MAX = 1000;
/**
 * Runs a page of the listing asks for, half MLflow's most: MLflow's time per page grows faster than its size (on
 * MLflow 3 with SQLite a page of 500 full runs took about half the time of one of 1000, and 1000 runs in pages of 500
 * about three quarters of it), so pages of 500 read the listing no slower, and each ends further within a call's limit.
 */
export const LISTING_PAGE_RUNS = 500;
/**
 * The fewest runs a page of the listing asks for. A page cut at a sync's deadline (a thousand full runs can take
 * seconds on a loaded server) is asked for at half the size by the next sync, down to this: a server that cannot send
 * a full page within a sync's budget still sees the listing move on.
 */
export const LISTING_PAGE_RUNS_MIN = 100;

/**
 * The markers owed and not written, and the listing's progress, as this sync has them (mirror-markers.ts), and `saved`,
 * the record as the store holds it: written again only when it changed.
 */
interface OwedRecord {
  owed: MirrorMarker[];
  listing?: MirrorListing;
  saved: string;
}

async function saveRecord(store: ObjectStore, settings: Settings, record: OwedRecord): Promise<void> {
  const now = JSON.stringify(unwrittenRecord(record.owed, record.listing) ?? null);
  if (now === record.saved) return;
  await saveUnwrittenMarkers(store, settings, record.owed, record.listing);
  record.saved = now;
}

/**
 * The experiments of `parked` runs that are still deleted in MLflow, by id, and the runs they hold; the objects of the
 * other parked runs are deleted, and those runs are mirrored again. An experiment is still deleted while MLflow has it
 * deleted and the settings name it: one question per experiment and sync (none when it is among the active ones just
 * listed), never one per run. A run's experiment follows its model type, which the settings may point elsewhere since;
 * an experiment purged (`mlflow gc`) is created anew by the next mirror.
 */
async function stillParked(
  store: ObjectStore,
  settings: Settings,
  client: Client,
  experiments: readonly MlflowExperiment[],
  parked: readonly ParkedRun[],
  logger: Logger,
): Promise<{ waiting: ParkedRun[]; deleted: Map<string, MlflowExperiment> }> {
  const named = new Set([settings.tracking.experiments.neural, settings.tracking.experiments.statistical]);
  const active = new Set(experiments.filter((experiment) => experiment.lifecycle_stage !== 'deleted').map((experiment) => experiment.experiment_id));
  const deleted = new Map<string, MlflowExperiment>();
  for (const experimentId of new Set(parked.map((run) => run.experimentId))) {
    if (active.has(experimentId)) continue;
    const experiment = await client.getExperiment(experimentId);
    if (experiment?.lifecycle_stage === 'deleted' && named.has(experiment.name)) deleted.set(experimentId, experiment);
  }
  const released = parked.filter((run) => !deleted.has(run.experimentId));
  if (released.length > 0) {
    await deleteMirrorMarkers(store, settings, released);
    for (const experimentId of new Set(released.map((run) => run.experimentId))) {
      logger.info({ experiment_id: experimentId, runs: released.filter((run) => run.experimentId === experimentId).length }, 'mlflow_parked_runs_released');
    }
  }
  return { waiting: parked.filter((run) => deleted.has(run.experimentId)), deleted };
}

/**
 * The runs of the registry whose complete mirror MLflow is not known to have, oldest record first: those without a live
 * marker. `owed` are the markers of complete mirrors found by a listing (this sync's or an earlier one's) and not
 * written yet: their runs count as marked, and the store's record of them is brought up to date before any is
 * written, so a sync stopped at any point leaves the next one a record of what it still owes, never a marker of a
 * mirror not found complete.
 * A listing of every complete mirror is due (`listingDue`) while one is under way, or when at least FULL_LISTING_FROM
 * unmarked runs, and no fewer than the marked ones, were recorded since the last listing began (all of them when none
 * was made since the server was last taken for wiped): the listing then reads at most about twice as many runs as there
 * are such runs; with fewer, each is asked about while it is mirrored. A run recorded before the last listing began
 * that it did not find had no complete mirror then, so runs that fail to mirror at every sync, or a server wiped and
 * mirrored again over many syncs, never bring the listing back; runs mirrored by other means since (an flts without
 * markers, another registry's runs brought in) do.
 */
async function unmarkedRunIds(
  store: ObjectStore,
  settings: Settings,
  client: Client,
  experiments: readonly MlflowExperiment[],
  registered: readonly string[],
  audit: AuditBudget | undefined,
  logger: Logger,
): Promise<{ runIds: string[]; record: OwedRecord; listingDue: boolean; parked: { waiting: ParkedRun[]; deleted: Map<string, MlflowExperiment> } }> {
  const experimentIds = experiments.map((experiment) => experiment.experiment_id);
  const { written, unwritten, parked: parkedRuns, listing: recordedListing } = await readMirrorMarkers(store, settings);
  const writtenKeys = new Set(written.map((marker) => marker.key));
  const unwrittenYet = unwritten.filter((marker) => !writtenKeys.has(marker.key));
  const removed = await removedRunIds(store, settings, [...written, ...unwrittenYet, ...parkedRuns], new Set(registered));
  const ofRemovedRun = (marker: { runId: string }): boolean => removed.has(marker.runId);
  await deleteMirrorMarkers(store, settings, [...written, ...parkedRuns].filter(ofRemovedRun));
  const parked = await stillParked(
    store,
    settings,
    client,
    experiments,
    parkedRuns.filter((run) => !ofRemovedRun(run)),
    logger,
  );
  const waiting = new Set(parked.waiting.map((run) => run.runId));
  const recorded = new Set(unwrittenYet.filter((marker) => !ofRemovedRun(marker)));
  const { live: markers, wiped } = await liveMarkers(store, settings, client, experimentIds, [...written.filter((marker) => !ofRemovedRun(marker)), ...recorded], recorded, audit, logger);
  const marked = new Set(markers.map((marker) => marker.runId));
  const unmarked = await recordedRuns(
    store,
    settings,
    registered.filter((runId) => !marked.has(runId) && !waiting.has(runId)),
  );
  // A server taken for wiped has had every marker dropped: what it holds is listed again.
  const listing = wiped ? undefined : recordedListing;
  const record: OwedRecord = { owed: markers.filter((marker) => recorded.has(marker)), listing, saved: JSON.stringify(unwrittenRecord(unwritten, recordedListing) ?? null) };
  await saveRecord(store, settings, record);
  const unlisted = listing?.startedAt === undefined ? unmarked : unmarked.filter((run) => run.modified >= listing.startedAt!);
  const listingDue = listing?.next !== undefined || (unlisted.length >= FULL_LISTING_FROM && unlisted.length >= marked.size);
  return { runIds: unmarked.map((run) => run.runId), record, listingDue, parked };
}

/**
 * Reads the listing of every complete mirror on from where `record.listing` left it (a new listing from its first page),
 * a page at a time until it ends or `budget.stop` says the backlog's time is up; the page under way ends by the
 * backlog's deadline too (`budget.deadline`), and is read again by the next sync, at half the size (askSmallerPages).
 * MLflow going away mid-listing ends it the same way, returned as `outage` for the sync to report. The complete mirrors
 * of `wanted` runs on each page become owed markers, recorded together with the token of the next page in one write
 * before any is written (`writeOwed`, after each page), so the next sync reads on from there. The listing ends at its last page, once every wanted run is found, or at LISTING_PAGES_MAX pages. A token
 * the server no longer takes (restarted with another store, say) leaves the next sync to start over. Returns the runs
 * found, and the listing's mirrors when this sync read all of it.
 */
async function readListingOn(
  store: ObjectStore,
  settings: Settings,
  client: Client,
  record: OwedRecord,
  activeIds: readonly string[],
  wanted: ReadonlySet<string>,
  budget: { stop: () => boolean; deadline: () => number | undefined },
  writeOwed: () => Promise<void>,
  logger: Logger,
): Promise<{ found: Set<string>; listed?: CompleteMirror[]; outage?: FltsError }> {
  const { stop, deadline } = budget;
  const fresh = record.listing?.next === undefined;
  const pageRuns = record.listing?.pageRuns;
  let listing: MirrorListing = fresh ? { experimentIds: [...activeIds], pages: 0, ...(pageRuns === undefined ? {} : { pageRuns }) } : record.listing!;
  // An experiment deleted since the listing began holds no mirror a marker may name; one created since holds only
  // mirrors written since, which are marked as they are written or asked about while mirrored.
  const active = new Set(activeIds);
  const experimentIds = listing.experimentIds.filter((id) => active.has(id));
  const found = new Set<string>();
  const listed: CompleteMirror[] = [];
  for (;;) {
    if (found.size === wanted.size || experimentIds.length === 0 || listing.pages >= LISTING_PAGES_MAX) {
      if (listing.pages >= LISTING_PAGES_MAX) logger.warn({ pages: listing.pages }, 'mlflow_mirror_listing_page_limit');
      const { next: _, after: _after, byToken: _byToken, ...ended } = listing;
      record.listing = ended;
      await saveRecord(store, settings, record);
      return { found };
    }
    if (stop()) return { found };
    let page: { runs: MlflowRun[]; nextPageToken?: string };
    const pageDeadline = deadline();
    const position = listing.after;
    // A listing recorded before positions by key (a token, no position) reads on by its token, as the rest do that have one.
    const byToken = listing.next !== undefined && (position === undefined || listing.byToken === true);
    const asked = listing.pageRuns ?? LISTING_PAGE_RUNS;
    const pageStarted = Date.now();
    try {
      // The page ends by the backlog's deadline too: a slow page (a thousand full runs may take seconds) is cut there,
      // not waited for over its own call budget, and the next sync reads it again from the same position.
      page = await client.searchRunsPage({
        experimentIds,
        filter: position ? `${COMPLETE_FILTER} AND attributes.start_time >= ${position.startTime}` : COMPLETE_FILTER,
        orderBy: LISTING_ORDER,
        ...(byToken ? { pageToken: listing.next } : {}),
        maxResults: asked,
        ...(pageDeadline === undefined ? {} : { deadline: pageDeadline }),
      });
    } catch (error) {
      const rejected = isFltsError(error) && error.code === 'FLTS_TRACKING_REJECTED';
      if (rejected && position) {
        // A server without start_time filters (older than MLflow 2): this listing begins again, read by page token alone.
        logger.warn({ pages: listing.pages, err: (error as Error).message }, 'mlflow_mirror_listing_filter_refused');
        const { next: _, after: _after, byToken: _byToken, ...kept } = listing;
        record.listing = listing = { ...kept, unkeyed: true };
        await saveRecord(store, settings, record);
        continue;
      }
      const refused = byToken && rejected;
      if (!refused) {
        const cutAtDeadline = pageDeadline !== undefined && ((isFltsError(error) && error.details.reason === 'deadline') || Date.now() >= pageDeadline);
        if (cutAtDeadline) {
          await askSmallerPages(store, settings, record, listing, fresh, logger);
          return { found };
        }
        if (stop()) return { found };
        // MLflow went away mid-listing: the pages read so far are recorded with their owed markers, and the next sync
        // reads on from the page that failed. The sync reports the outage rather than losing what it did before it.
        if (isFltsError(error) && error.code === 'FLTS_TRACKING_UNAVAILABLE') {
          logger.warn({ pages: listing.pages, code: error.code, err: error.message }, 'mlflow_mirror_listing_interrupted');
          return { found, outage: error };
        }
        throw error;
      }
      logger.warn({ pages: listing.pages, err: (error as Error).message }, 'mlflow_mirror_listing_token_refused');
      record.listing = undefined;
      await saveRecord(store, settings, record);
      return { found };
    }
    // The mirrors of the position's start time read before come again at the head of its search's first page.
    const runs = position && !byToken ? page.runs.filter((run) => !(startTime(run) === position.startTime && position.runIds.includes(run.info.run_id))) : page.runs;
    const more = page.nextPageToken !== undefined && page.nextPageToken !== (byToken ? listing.next : undefined);
    // The next page from a position after this one, which no deletion before it moves; else by token in this search.
    const after = listing.unkeyed ? undefined : positionAfter(position, runs, byToken);
    const pageRuns = grownPageRuns(asked, Date.now() - pageStarted, pageDeadline === undefined ? undefined : pageDeadline - pageStarted);
    const { next: _, after: _after, byToken: _byToken, pageRuns: _pageRuns, ...rest } = listing;
    listing = {
      ...(more ? { next: page.nextPageToken } : {}),
      ...rest,
      pages: listing.pages + 1,
      ...(pageRuns < LISTING_PAGE_RUNS ? { pageRuns } : {}),
      ...(more && after ? { after } : {}),
      ...(more && !after && position ? { after: position, byToken: true } : {}),
    };
    const { next } = listing;
    for (const mirror of asCompleteMirrors(runs)) {
      if (fresh) listed.push(mirror);
      if (!wanted.has(mirror.runId) || found.has(mirror.runId)) continue;
      found.add(mirror.runId);
      const { experiment_id: experimentId, run_id: mlflowRunId } = mirror.run.info;
      record.owed.push({ runId: mirror.runId, experimentId, mlflowRunId, key: markerKey(settings, mirror.runId, experimentId, mlflowRunId), writtenAt: Date.now() });
    }
    record.listing = listing;
    await saveRecord(store, settings, record);
    if (listing.startedAt === undefined) {
      const startedAt = await unwrittenRecordTime(store, settings);
      if (startedAt !== undefined) record.listing = listing = { ...listing, startedAt };
    }
    // Written page by page, so that the record, rewritten at each page, holds about a page of markers, not the listing's.
    await writeOwed();
    if (next === undefined) return { found, ...(fresh ? { listed } : {}) };
  }
}

/**
 * The listing's pages go by start time, oldest first, so that a position by key (ListingPosition) stays where it was
 * whatever is deleted or written before it; MLflow orders runs of one start time by run id.
 */
const LISTING_ORDER = ['attributes.start_time ASC'];

/**
 * Where the listing reads on after `runs`, a page read from `position` (less the runs of it read before): the start
 * time of its last run, with the ids of its runs of that time (and those of `position`'s, when the same). Undefined
 * when the page brought no new run, when its last run has no start time, or when more than LISTING_PAGE_RUNS_MIN
 * mirrors share that time (or, read by token, the position's): the listing then reads on by page token within the
 * search it is in, its ordering unchanged.
 */
function positionAfter(position: ListingPosition | undefined, runs: readonly MlflowRun[], byToken: boolean): ListingPosition | undefined {
  if (runs.length === 0) return undefined;
  const last = startTime(runs[runs.length - 1]);
  if (!Number.isSafeInteger(last) || runs[runs.length - 1].info.start_time === undefined) return undefined;
  // Read by token past the position's first page, the runs of its start time are not all known: read on by token.
  if (byToken && position?.startTime === last) return undefined;
  const ofLast = runs.filter((run) => startTime(run) === last).map((run) => run.info.run_id);
  const before = position?.startTime === last ? position.runIds : [];
  if (before.length + ofLast.length > LISTING_PAGE_RUNS_MIN) return undefined;
  return { startTime: last, runIds: [...before, ...ofLast] };
}

/**
 * The runs the next page asks for after a page of `asked` read in `tookMs`: twice as many (up to LISTING_PAGE_RUNS)
 * when it took under a quarter of the time it had (`hadMs`, none without a deadline), so that pages halved on a
 * server that was loaded grow back once it is not; the same otherwise.
 */
function grownPageRuns(asked: number, tookMs: number, hadMs: number | undefined): number {
  if (asked >= LISTING_PAGE_RUNS) return LISTING_PAGE_RUNS;
  return hadMs === undefined || tookMs * 4 < hadMs ? Math.min(LISTING_PAGE_RUNS, asked * 2) : asked;
}

/**
 * Records that the listing's next page is asked for at half the size of the one cut at the deadline (down to
 * LISTING_PAGE_RUNS_MIN). MLflow's page token is an offset, whatever the size of the page that handed it out. A listing
 * not begun yet keeps the record's ended one (and when it began) with the smaller size.
 */
async function askSmallerPages(store: ObjectStore, settings: Settings, record: OwedRecord, listing: MirrorListing, fresh: boolean, logger: Logger): Promise<void> {
  const size = listing.pageRuns ?? LISTING_PAGE_RUNS;
  const smaller = Math.max(LISTING_PAGE_RUNS_MIN, Math.floor(size / 2));
  if (smaller >= size) return;
  logger.info({ page_runs: size, next: smaller }, 'mlflow_mirror_listing_page_shrunk');
  record.listing = fresh ? { ...(record.listing ?? { experimentIds: listing.experimentIds, pages: 0 }), pageRuns: smaller } : { ...listing, pageRuns: smaller };
  await saveRecord(store, settings, record);
}

/**
 * Runs whose markers a sync checks for having left the store (a run folder removed by hand), a stat of run.json each:
 * the markers of the rest are dropped by later syncs, this many runs at a time.
 */
export const REMOVED_RUNS_CHECKED_PER_SYNC = 100;

/**
 * The runs of `markers` that are no longer in the store, at most REMOVED_RUNS_CHECKED_PER_SYNC of them: those the
 * listing of run folders (`registered`, made before the markers were read) lacks and whose run.json is gone when asked
 * again. A marker is written after its run's record, so a run that appeared since the listing still has its run.json
 * when asked, and keeps its markers; a marker naming no possible run id names no run.
 */
async function removedRunIds(store: ObjectStore, settings: Settings, markers: ReadonlyArray<{ runId: string }>, registered: ReadonlySet<string>): Promise<Set<string>> {
  const candidates = [...new Set(markers.map((marker) => marker.runId).filter((runId) => !registered.has(runId)))].slice(0, REMOVED_RUNS_CHECKED_PER_SYNC);
  const records = await mapBounded(candidates, LOOKUP_WIDTH, async (runId) => {
    let key: string;
    try {
      key = runKey(runId, RUN_FILES.record);
    } catch {
      return undefined;
    }
    return store.stat(runsBucket(settings), key);
  });
  return new Set(candidates.filter((_, at) => !records[at]));
}

/**
 * Writes the `owed` markers until `stop` says the time is up, and returns those left: a marker the store refuses is
 * left too, for a later sync. Markers are store writes alone, so they go before the backlog's MLflow calls.
 */
async function writeOwedMarkers(store: ObjectStore, settings: Settings, owed: readonly MirrorMarker[], stop: () => boolean, logger: Logger): Promise<MirrorMarker[]> {
  const written = await mapBounded(owed, LOOKUP_WIDTH, async (marker) => {
    if (stop()) return false;
    try {
      await writeMirrorMarker(store, settings, marker.runId, marker.experimentId, marker.mlflowRunId);
      return true;
    } catch (error) {
      logger.warn({ run_id: marker.runId, err: error instanceof Error ? error.message : String(error) }, 'mlflow_mirror_marker_write_failed');
      return false;
    }
  });
  const left = owed.filter((_, at) => !written[at]);
  if (left.length > 0) logger.info({ written: owed.length - left.length, left: left.length }, 'mlflow_mirror_markers_deferred');
  return left;
}

/**
 * The `candidates` that are runs of the registry, oldest record first. The run folders are listed by name (one call per
 * thousand on S3, one directory read on the filesystem), and only the records of runs MLflow lacks are looked up,
 * never every artifact of every run; a folder without run.json is no run.
 */
async function recordedRuns(store: ObjectStore, settings: Settings, candidates: readonly string[]): Promise<Array<{ runId: string; modified: number }>> {
  const records = await mapBounded(candidates, LOOKUP_WIDTH, (runId) => store.stat(runsBucket(settings), runKey(runId, RUN_FILES.record)));
  return candidates.flatMap((runId, at) => (records[at] ? [{ runId, modified: records[at].lastModified.getTime() }] : [])).sort((a, b) => a.modified - b.modified);
}

/**
 * The runs of the registry the store holds no marker of a complete mirror for (nor parks), asking MLflow nothing: what
 * a sync would try to mirror, as far as the store alone can say, for when MLflow does not answer. A sync that failed at
 * its first call said nothing of the runs trained meanwhile by another process (`flts train`, another trainer), nor,
 * after a restart, of any run at all, so an outage's backlog read 0 where it was growing. A run whose mirror is complete
 * but whose marker was never written (a crash between the two) is counted too, until a sync finds its mirror.
 */
export async function unmarkedRunIdsInStore(store: ObjectStore, settings: Settings): Promise<string[]> {
  const [registered, { written, unwritten, parked }] = await Promise.all([listRunIds(store, settings), readMirrorMarkers(store, settings)]);
  const known = new Set([...written, ...unwritten, ...parked].map((marker) => marker.runId));
  return (await recordedRuns(store, settings, registered.filter((runId) => !known.has(runId)))).map((run) => run.runId);
}

export interface MirrorPendingOptions {
  /** Runs to mirror first (e.g. the ones just trained); the rest follow oldest first. */
  readonly runIds?: readonly string[];
  /**
   * Time the other runs (the backlog) may take once the `runIds` are mirrored: none is started after it,
   * and one still being mirrored is cut off (a later catch-up completes it). The markers a listing of MLflow found owed
   * are written first within it, the rest by a later sync. No limit when omitted.
   */
  readonly backlogBudgetMs?: number;
}

/**
 * The backlog's budget, begun when the backlog's first step asks for it: the calls of its client stop when its timer
 * fires, and it is `spent` once the timer has fired or the clock is past `endsAt`, whichever comes first. Every step
 * of the backlog asks `spent` before it starts: a timer fires late on a loaded host, and a call cut at `endsAt` by the
 * clock may end before the timer has fired. Its client is the caller's (`deps.client`), its calls cut at the timer,
 * else one built from the settings with the timer for its signal.
 */
interface BacklogBudget {
  deps: TrackingDeps;
  endsAt: number;
  spent: () => boolean;
}

function startBacklogBudget(budgetMs: number, deps: TrackingDeps): BacklogBudget {
  const timer = AbortSignal.timeout(budgetMs);
  const endsAt = Date.now() + budgetMs;
  const signal = deps.signal ? AbortSignal.any([timer, deps.signal]) : timer;
  return {
    endsAt,
    deps: { logger: deps.logger, onEvent: deps.onEvent, signal, servers: deps.servers, ...(deps.client ? { client: clientUntil(deps.client, signal) } : {}) },
    spent: () => timer.aborted || Date.now() >= endsAt,
  };
}

/**
 * Mirrors every run of the registry that MLflow does not have completely, oldest first: what lets a
 * tracking server that was down (or wiped) catch up. A run is taken for mirrored when the store holds a marker of
 * its complete mirror (written after MLflow had it, see mirror-markers.ts) that this sync found no reason to doubt
 * (liveMarkers); any other run is asked about, so MLflow stays the truth where the store has no marker, and a sync
 * with nothing to do asks MLflow a few small questions rather than for every mirror. Stops at the first FLTS_TRACKING_UNAVAILABLE
 * so a dead server costs one call's time limit, not one per run. The backlog (the runs not asked for first) goes
 * within its budget: the markers owed first (store writes alone), then the listing of every complete mirror when one
 * is due (unmarkedRunIds), a page at a time, then the runs. Then, within the same budget, gives complete
 * mirrors written before the processed-data tag existed the digest their run.json records (a few per sync).
 */
export async function mirrorPendingRuns(store: ObjectStore, settings: Settings, options: MirrorPendingOptions = {}, given: TrackingDeps = {}): Promise<MirrorPendingResult> {
  // The clients of one sync (its own, the backlog's) share what they learn of the server, the caller's MlflowServers if any.
  const deps: TrackingDeps = { ...given, servers: given.servers ?? createMlflowServers() };
  const logger = (deps.logger ?? silentLogger).child({ component: 'tracking' });
  const client = trackingClientFor(settings, deps);
  const [experiments, registered] = await Promise.all([client.searchExperiments(), listRunIds(store, settings)]);
  const experimentIds = experiments.map((experiment) => experiment.experiment_id);
  // The check of the markers comes before the runs asked for, so it cannot share the backlog's budget, which begins
  // after them: it has one of its own, as long, rather than the three call budgets of each of its searches.
  const audit = options.backlogBudgetMs === undefined ? undefined : startAuditBudget(options.backlogBudgetMs);
  const unmarked = await unmarkedRunIds(store, settings, client, experiments, registered, audit, logger);
  const { record } = unmarked;
  const first = new Set(options.runIds ?? []);
  const leading = unmarked.runIds.filter((id) => first.has(id));
  let backlog = unmarked.runIds.filter((id) => !first.has(id));
  const result: MirrorPendingResult = { pending: [], mirrored: [], found: [], tagged: [], failed: [], deferred: [] };
  const waiting = unmarked.parked.waiting;
  if (waiting.length > 0) {
    result.waiting = [...unmarked.parked.deleted.values()].map(({ name, experiment_id: experimentId }) => ({ experimentName: name, experimentId, runs: waiting.filter((run) => run.experimentId === experimentId).length }));
  }
  // A slow server answering each call just within its time limit is never reported down, and a backlog of
  // runs at a dozen calls or more each would hold the caller for minutes: past its budget the backlog waits for
  // the next sync. Its calls stop when the budget runs out (startBacklogBudget).
  let budget: BacklogBudget | undefined;
  const backlogBudget = (): BacklogBudget | undefined => (options.backlogBudgetMs === undefined ? undefined : (budget ??= startBacklogBudget(options.backlogBudgetMs, deps)));
  const outOfTime = (): boolean => deps.signal?.aborted === true || backlogBudget()?.spent() === true;
  const backlogEndsAt = (): number | undefined => backlogBudget()?.endsAt;
  const interrupt = (step: NonNullable<MirrorPendingResult['interrupted']>['step'], error: { code: string; message: string }): void => {
    result.interrupted ??= { step, code: error.code, message: error.message };
  };

  // An experiment an operator deleted is not restored (mlflow-client's getOrCreateExperiment): its runs are refused, the
  // first with one question to MLflow (none when its parked runs' check found it deleted), the others at once, and
  // parked with one warning per experiment, so that later syncs leave them alone until it is restored (stillParked).
  const deletedExperiments = new Map<string, FltsError>([...unmarked.parked.deleted.values()].map((experiment) => [experiment.name, experimentDeleted(experiment)]));
  const warnedDeleted = new Set<FltsError>();
  /** Parks `runId`, refused by `refusal`; false when its marker could not be written (a failure, tried again next sync). */
  const parkDeleted = async (runId: string, refusal: FltsError): Promise<boolean> => {
    const experimentName = String(refusal.details.experimentName);
    const experimentId = String(refusal.details.experimentId);
    try {
      await parkRun(store, settings, runId, experimentId);
    } catch (error) {
      logger.warn({ run_id: runId, err: error instanceof Error ? error.message : String(error) }, 'mlflow_run_park_failed');
      return false;
    }
    (result.parked ??= []).push({ runId, reason: 'experiment_deleted', experimentName, experimentId });
    if (warnedDeleted.has(refusal)) return true;
    warnedDeleted.add(refusal);
    logger.warn(
      {
        code: refusal.code,
        reason: 'experiment_deleted',
        experiment_name: experimentName,
        experiment_id: experimentId,
        err: refusal.message,
        hint: 'its runs are parked, not mirrored, until it is restored in MLflow or the settings name another experiment (tracking.experiments.*)',
      },
      'mlflow_experiment_deleted',
    );
    return true;
  };

  /** Mirrors `runIds` in order, within the backlog's budget when `bounded`; true when it stopped (the rest deferred). */
  const mirrorEach = async (runIds: readonly string[], bounded: boolean): Promise<boolean> => {
    for (const [index, runId] of runIds.entries()) {
      const limited = bounded ? backlogBudget() : undefined;
      if (deps.signal?.aborted || limited?.spent()) {
        result.deferred.push(...runIds.slice(index));
        return true;
      }
      try {
        const mirrored = await mirrorRun(store, settings, runId, limited?.deps ?? { ...deps, client }, { experiments, deletedExperiments });
        if (mirrored.upToDate) result.found.push({ runId, mlflowRunId: mirrored.mlflowRunId });
        else result.mirrored.push(mirrored);
      } catch (error) {
        // Out of the backlog's budget, or stopped by the caller (a daemon's SIGTERM, Ctrl-C: the bare AbortError would
        // read as FLTS_INTERNAL): this run and the rest wait for the next sync, which finds them pending still.
        if (deps.signal?.aborted || limited?.spent()) {
          result.deferred.push(...runIds.slice(index));
          return true;
        }
        const flts = toFltsError(error);
        const ofDeletedExperiment = flts.details.reason === 'experiment_deleted' && typeof flts.details.experimentId === 'string';
        if (ofDeletedExperiment && (await parkDeleted(runId, flts))) continue;
        result.failed.push({ runId, code: flts.code, message: flts.message });
        if (isFltsError(error) && error.code === 'FLTS_TRACKING_UNAVAILABLE') {
          interrupt('mirror', flts);
          result.deferred.push(...runIds.slice(index + 1));
          return true;
        }
        if (ofDeletedExperiment) continue;
        logger.warn({ run_id: runId, code: flts.code, err: flts.message }, 'mlflow_mirror_failed');
      }
    }
    return false;
  };

  let stopped = await mirrorEach(leading, false);
  if (stopped) result.deferred.push(...backlog);
  // The markers owed are store writes alone, written even when MLflow went away, within the backlog's budget.
  record.owed = await writeOwedMarkers(store, settings, record.owed, outOfTime, logger);
  let listed: CompleteMirror[] | undefined;
  if (!stopped && unmarked.listingDue) {
    const writeOwed = async (): Promise<void> => {
      record.owed = await writeOwedMarkers(store, settings, record.owed, outOfTime, logger);
    };
    const listing = await readListingOn(store, settings, client, record, experimentIds, new Set(backlog), { stop: outOfTime, deadline: backlogEndsAt }, writeOwed, logger);
    backlog = backlog.filter((runId) => !listing.found.has(runId));
    listed = listing.listed;
    if (listing.outage) {
      interrupt('listing', listing.outage);
      result.deferred.push(...backlog);
      stopped = true;
    }
  }
  if (!stopped) stopped = await mirrorEach(backlog, true);
  await saveRecord(store, settings, record);
  // Runs without a marker whose mirror MLflow had complete all along were never pending.
  const found = new Set(result.found.map((run) => run.runId));
  result.pending = [...leading, ...backlog].filter((runId) => !found.has(runId));
  if (!stopped && !outOfTime()) await tagProcessedDigests(store, settings, await mirrorsWithoutDigestTag(client, experimentIds, new Set(registered), listed, backlogEndsAt()), result, backlogBudget, { ...deps, client });
  // Last, within what is left of the backlog's budget: the runs of this sync, and the backlog, are mirrored first.
  if (!stopped && !result.interrupted && !outOfTime()) {
    const bounded = backlogBudget();
    const backfillClient = bounded ? trackingClientFor(settings, bounded.deps) : client;
    const backfill = await backfillLoggedModels(store, settings, backfillClient, experimentIds, new Set(registered), { stop: outOfTime, deadline: backlogEndsAt() }, logger);
    if (backfill.logged.length > 0) result.loggedModels = backfill.logged;
    if (backfill.outage) interrupt('logged-models', backfill.outage);
  }
  if (result.deferred.length > 0) logger.info({ deferred: result.deferred.length, mirrored: result.mirrored.length }, 'mlflow_catch_up_deferred');
  return result;
}

/**
 * Sets `flts.data.processed_sha256` on each of `mirrors` whose run.json records it, as the backlog: within its budget,
 * a failure in `failed` as a mirror's, stopping at an unavailable server or the caller's abort. One setTag of a fixed
 * value: repeating it (a concurrent sync, one cut short) changes nothing, and a mirror not tagged yet is found again.
 */
async function tagProcessedDigests(
  store: ObjectStore,
  settings: Settings,
  mirrors: readonly CompleteMirror[],
  result: MirrorPendingResult,
  backlog: () => BacklogBudget | undefined,
  deps: TrackingDeps,
): Promise<void> {
  const logger = (deps.logger ?? silentLogger).child({ component: 'tracking' });
  let client: ReturnType<typeof trackingClientFor> | undefined;
  for (const { runId, run } of mirrors) {
    const bounded = backlog();
    if (bounded?.spent() || deps.signal?.aborted) return;
    try {
      const digest = (await findRunRecord(store, settings, runId))?.data?.processed_sha256;
      if (digest === undefined) continue;
      client ??= trackingClientFor(settings, bounded?.deps ?? deps);
      await client.setTag(run.info.run_id, PROCESSED_SHA256_TAG, digest);
      result.tagged.push({ runId, mlflowRunId: run.info.run_id });
    } catch (error) {
      if (deps.signal?.aborted || bounded?.spent()) return;
      const flts = toFltsError(error);
      result.failed.push({ runId, code: flts.code, message: flts.message });
      if (flts.code === 'FLTS_TRACKING_UNAVAILABLE') {
        result.interrupted ??= { step: 'tagging', code: flts.code, message: flts.message };
        return;
      }
      logger.warn({ run_id: runId, code: flts.code, err: flts.message }, 'mlflow_mirror_data_tag_failed');
    }
  }
  if (result.tagged.length > 0) logger.info({ tagged: result.tagged.length }, 'mlflow_mirrors_data_tagged');
}
