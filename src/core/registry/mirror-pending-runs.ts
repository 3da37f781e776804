import type { Settings } from '../config/settings.js';
import { isFltsError, toFltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { RUN_FILES } from './run-record.js';
import { findRunRecord, listRunIds, runKey, runsBucket } from './run-store.js';
import { mapBounded } from '../bounded-map.js';
import type { ObjectStore } from '../storage/object-store.js';
import { toRecord, type MlflowRun } from '../tracking/mlflow-types.js';
import { mirrorRun, type MirrorRunResult } from './mirror-run.js';
import { PROCESSED_SHA256_TAG } from './mirror-source.js';
import { trackingClientFor } from '../tracking/tracking-deps.js';
import { MIRROR_TAGS, type TrackingDeps } from '../tracking/tracking-deps.js';

export interface MirrorPendingResult {
  /** Runs in the registry whose MLflow mirror was missing or incomplete before this call. */
  pending: string[];
  mirrored: MirrorRunResult[];
  /**
   * Complete mirrors given the `flts.data.processed_sha256` tag their run.json records (mirrors written before the tag
   * existed), so that `flts eval --source mlflow` tells their rows apart by content rather than by input files.
   */
  tagged: Array<{ runId: string; mlflowRunId: string }>;
  failed: Array<{ runId: string; code: string; message: string }>;
  /** Runs not mirrored now (the server became unavailable, or the backlog's budget ran out): the next catch-up takes them. */
  deferred: string[];
}

/** A complete MLflow mirror of flts run `runId`. */
interface CompleteMirror {
  runId: string;
  run: MlflowRun;
  tags: Record<string, string>;
}

/** The complete MLflow mirrors of flts runs, in any active experiment. */
async function completeMirrors(client: ReturnType<typeof trackingClientFor>): Promise<CompleteMirror[]> {
  const experiments = await client.searchExperiments();
  if (experiments.length === 0) return [];
  const runs = await client.searchRuns({ experimentIds: experiments.map((e) => e.experiment_id), filter: `tags.\`${MIRROR_TAGS.complete}\` = 'true'` });
  return runs.flatMap((run) => {
    const tags = toRecord(run.data.tags);
    const runId = tags[MIRROR_TAGS.runId];
    return runId === undefined ? [] : [{ runId, run, tags }];
  });
}

/** Run records read per sync for mirrors that lack the processed-data tag: the backfill goes on at the next sync. */
export const DIGEST_TAG_READS_PER_SYNC = 20;

const startTime = (run: MlflowRun): number => Number(run.info.start_time ?? 0) || 0;

/**
 * The complete mirrors of runs of this registry that lack the processed-data tag, newest first and at most
 * DIGEST_TAG_READS_PER_SYNC: runs recorded with the digest are the newer ones (older records have none to give), so
 * the ones that can be tagged come first and leave the list once tagged. The mirrors of runs recorded before the digest
 * stay untagged, so once the others are done each sync reads that many of their records again: the bound is its cost.
 */
function mirrorsWithoutDigestTag(mirrors: readonly CompleteMirror[], registered: ReadonlySet<string>): CompleteMirror[] {
  return mirrors
    .filter((mirror) => mirror.tags[PROCESSED_SHA256_TAG] === undefined && registered.has(mirror.runId))
    .sort((a, b) => startTime(b.run) - startTime(a.run) || a.run.info.run_id.localeCompare(b.run.info.run_id))
    .slice(0, DIGEST_TAG_READS_PER_SYNC);
}

/** Records looked up at once: enough to keep a filesystem or an S3 endpoint busy, few enough to open. */
const LOOKUP_WIDTH = 32;

/**
 * The runs of the registry not in `done`, oldest record first. The run folders are listed by name (one call per
 * thousand on S3, one directory read on the filesystem), and only the records of runs MLflow lacks are looked up,
 * never every artifact of every run; a folder without run.json is no run.
 */
async function unmirroredRunIds(store: ObjectStore, settings: Settings, registered: readonly string[], done: ReadonlySet<string>): Promise<string[]> {
  const candidates = registered.filter((runId) => !done.has(runId));
  const records = await mapBounded(candidates, LOOKUP_WIDTH, (runId) => store.stat(runsBucket(settings), runKey(runId, RUN_FILES.record)));
  return candidates
    .flatMap((runId, at) => (records[at] ? [{ runId, modified: records[at].lastModified.getTime() }] : []))
    .sort((a, b) => a.modified - b.modified)
    .map((run) => run.runId);
}

export interface MirrorPendingOptions {
  /** Runs to mirror first (e.g. the ones just trained); the rest follow oldest first. */
  readonly runIds?: readonly string[];
  /**
   * Time the other runs (the backlog) may take once the `runIds` are mirrored: none is started after it,
   * and one still being mirrored is cut off (a later catch-up completes it). No limit when omitted.
   */
  readonly backlogBudgetMs?: number;
}

/**
 * Mirrors every run of the registry that MLflow does not have completely, oldest first: what lets a
 * tracking server that was down (or wiped) catch up. Which runs are mirrored is read from MLflow itself,
 * never from a local marker that could disagree with it. Stops at the first FLTS_TRACKING_UNAVAILABLE
 * so a dead server costs one call's time limit, not one per run. Then, within the same budget, gives complete
 * mirrors written before the processed-data tag existed the digest their run.json records (a few per sync).
 */
export async function mirrorPendingRuns(store: ObjectStore, settings: Settings, options: MirrorPendingOptions = {}, deps: TrackingDeps = {}): Promise<MirrorPendingResult> {
  const logger = (deps.logger ?? silentLogger).child({ component: 'tracking' });
  const client = trackingClientFor(settings, deps);
  const mirrors = await completeMirrors(client);
  const registered = await listRunIds(store, settings);
  const runIds = await unmirroredRunIds(store, settings, registered, new Set(mirrors.map((mirror) => mirror.runId)));
  const first = new Set(options.runIds ?? []);
  const pending = [...runIds.filter((id) => first.has(id)), ...runIds.filter((id) => !first.has(id))];
  const result: MirrorPendingResult = { pending, mirrored: [], tagged: [], failed: [], deferred: [] };
  // A slow server answering each call just within its time limit is never reported down, and a backlog of
  // runs at a dozen calls or more each would hold the caller for minutes: past its budget the backlog waits for
  // the next sync. Its calls go through a client of their own, stopped when the budget runs out.
  let backlog: { deps: TrackingDeps; deadline: AbortSignal } | undefined;
  const backlogDeps = (): { deps: TrackingDeps; deadline: AbortSignal } => {
    if (!backlog) {
      const deadline = AbortSignal.timeout(options.backlogBudgetMs!);
      backlog = { deadline, deps: { logger: deps.logger, onEvent: deps.onEvent, signal: deps.signal ? AbortSignal.any([deadline, deps.signal]) : deadline } };
    }
    return backlog;
  };
  let stopped = false;
  for (const [index, runId] of pending.entries()) {
    const bounded = options.backlogBudgetMs !== undefined && !first.has(runId) ? backlogDeps() : undefined;
    if (bounded?.deadline.aborted) {
      result.deferred.push(...pending.slice(index));
      stopped = true;
      break;
    }
    try {
      result.mirrored.push(await mirrorRun(store, settings, runId, bounded?.deps ?? { ...deps, client }));
    } catch (error) {
      // Out of the backlog's budget, or stopped by the caller (a daemon's SIGTERM, Ctrl-C: the bare AbortError would
      // read as FLTS_INTERNAL): this run and the rest wait for the next sync, which finds them pending still.
      if (deps.signal?.aborted || bounded?.deadline.aborted) {
        result.deferred.push(...pending.slice(index));
        stopped = true;
        break;
      }
      const flts = toFltsError(error);
      result.failed.push({ runId, code: flts.code, message: flts.message });
      if (isFltsError(error) && error.code === 'FLTS_TRACKING_UNAVAILABLE') {
        result.deferred.push(...pending.slice(index + 1));
        stopped = true;
        break;
      }
      logger.warn({ runId, code: flts.code, err: flts.message }, 'run could not be mirrored to mlflow');
    }
  }
  if (!stopped) await tagProcessedDigests(store, settings, mirrorsWithoutDigestTag(mirrors, new Set(registered)), result, () => (options.backlogBudgetMs !== undefined ? backlogDeps() : undefined), { ...deps, client });
  if (result.deferred.length > 0) logger.info({ deferred: result.deferred.length, mirrored: result.mirrored.length }, 'mlflow catch-up continues on a later sync');
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
  backlog: () => { deps: TrackingDeps; deadline: AbortSignal } | undefined,
  deps: TrackingDeps,
): Promise<void> {
  const logger = (deps.logger ?? silentLogger).child({ component: 'tracking' });
  let client: ReturnType<typeof trackingClientFor> | undefined;
  for (const { runId, run } of mirrors) {
    const bounded = backlog();
    if (bounded?.deadline.aborted || deps.signal?.aborted) return;
    try {
      const digest = (await findRunRecord(store, settings, runId))?.data?.processed_sha256;
      if (digest === undefined) continue;
      client ??= trackingClientFor(settings, bounded?.deps ?? deps);
      await client.setTag(run.info.run_id, PROCESSED_SHA256_TAG, digest);
      result.tagged.push({ runId, mlflowRunId: run.info.run_id });
    } catch (error) {
      if (deps.signal?.aborted || bounded?.deadline.aborted) return;
      const flts = toFltsError(error);
      result.failed.push({ runId, code: flts.code, message: flts.message });
      if (flts.code === 'FLTS_TRACKING_UNAVAILABLE') return;
      logger.warn({ runId, code: flts.code, err: flts.message }, 'mlflow mirror could not be tagged with its processed data');
    }
  }
  if (result.tagged.length > 0) logger.info({ tagged: result.tagged.length }, 'mlflow mirrors tagged with the processed data their runs were trained on');
}
