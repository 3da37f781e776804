import type { Settings } from '../config/settings.js';
import { isFltsError, toFltsError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { RUN_FILES } from './run-record.js';
import { listRunIds, runKey, runsBucket } from './run-store.js';
import { mapBounded } from '../bounded-map.js';
import type { ObjectStore } from '../storage/object-store.js';
import { toRecord } from '../tracking/mlflow-types.js';
import { mirrorRun, type MirrorRunResult } from './mirror-run.js';
import { trackingClientFor } from '../tracking/tracking-deps.js';
import { MIRROR_TAGS, type TrackingDeps } from '../tracking/tracking-deps.js';

export interface MirrorPendingResult {
  /** Runs in the registry whose MLflow mirror was missing or incomplete before this call. */
  pending: string[];
  mirrored: MirrorRunResult[];
  failed: Array<{ runId: string; code: string; message: string }>;
  /** Runs not mirrored now (the server became unavailable, or the backlog's budget ran out): the next catch-up takes them. */
  deferred: string[];
}

/** Ids of flts runs that already have a complete MLflow mirror, in any active experiment. */
async function completeMirrors(client: ReturnType<typeof trackingClientFor>): Promise<Set<string>> {
  const experiments = await client.searchExperiments();
  if (experiments.length === 0) return new Set();
  const runs = await client.searchRuns({ experimentIds: experiments.map((e) => e.experiment_id), filter: `tags.\`${MIRROR_TAGS.complete}\` = 'true'` });
  return new Set(runs.map((run) => toRecord(run.data.tags)[MIRROR_TAGS.runId]).filter((id): id is string => id !== undefined));
}

/** Records looked up at once: enough to keep a filesystem or an S3 endpoint busy, few enough to open. */
const LOOKUP_WIDTH = 32;

/**
 * The runs of the registry not in `done`, oldest record first. The run folders are listed by name (one call per
 * thousand on S3, one directory read on the filesystem), and only the records of runs MLflow lacks are looked up,
 * never every artifact of every run; a folder without run.json is no run.
 */
async function unmirroredRunIds(store: ObjectStore, settings: Settings, done: ReadonlySet<string>): Promise<string[]> {
  const candidates = (await listRunIds(store, settings)).filter((runId) => !done.has(runId));
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
 * so a dead server costs one call's time limit, not one per run.
 */
export async function mirrorPendingRuns(store: ObjectStore, settings: Settings, options: MirrorPendingOptions = {}, deps: TrackingDeps = {}): Promise<MirrorPendingResult> {
  const logger = (deps.logger ?? silentLogger).child({ component: 'tracking' });
  const client = trackingClientFor(settings, deps);
  const done = await completeMirrors(client);
  const runIds = await unmirroredRunIds(store, settings, done);
  const first = new Set(options.runIds ?? []);
  const pending = [...runIds.filter((id) => first.has(id)), ...runIds.filter((id) => !first.has(id))];
  const result: MirrorPendingResult = { pending, mirrored: [], failed: [], deferred: [] };
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
  for (const [index, runId] of pending.entries()) {
    const bounded = options.backlogBudgetMs !== undefined && !first.has(runId) ? backlogDeps() : undefined;
    if (bounded?.deadline.aborted) {
      result.deferred.push(...pending.slice(index));
      break;
    }
    try {
      result.mirrored.push(await mirrorRun(store, settings, runId, bounded?.deps ?? { ...deps, client }));
    } catch (error) {
      // Out of the backlog's budget, or stopped by the caller (a daemon's SIGTERM, Ctrl-C: the bare AbortError would
      // read as FLTS_INTERNAL): this run and the rest wait for the next sync, which finds them pending still.
      if (deps.signal?.aborted || bounded?.deadline.aborted) {
        result.deferred.push(...pending.slice(index));
        break;
      }
      const flts = toFltsError(error);
      result.failed.push({ runId, code: flts.code, message: flts.message });
      if (isFltsError(error) && error.code === 'FLTS_TRACKING_UNAVAILABLE') {
        result.deferred.push(...pending.slice(index + 1));
        break;
      }
      logger.warn({ runId, code: flts.code, err: flts.message }, 'run could not be mirrored to mlflow');
    }
  }
  if (result.deferred.length > 0) logger.info({ deferred: result.deferred.length, mirrored: result.mirrored.length }, 'mlflow catch-up continues on a later sync');
  return result;
}
