import type { Settings } from '../config/settings.js';
import { isFltsError, toFltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { MlflowClient } from '../tracking/mlflow-client.js';
import { createMlflowServerState, type MlflowServerState } from '../tracking/mlflow-servers.js';
import { toRecord, type MlflowRun } from '../tracking/mlflow-types.js';
import { MIRROR_TAGS } from '../tracking/tracking-deps.js';
import type { ObjectStore } from '../storage/object-store.js';
import { LOGGED_MODEL_TAG, planMirroredModel, readyLoggedModelOf, writeLoggedModel } from './mirror-model.js';
import { MLFLOW_MODEL_TAGS } from './mlflow-model.js';

/**
 * Mirrors given a logged model per sync at most. Each is a run record read, an ONNX export and about a dozen MLflow
 * calls: an upgrade over thousands of mirrors takes as many syncs as it needs, never one sync's time.
 */
export const LOGGED_MODELS_BACKFILLED_PER_SYNC = 10;
/** Candidates asked for per sync, newest first: those of other registries on the server are skipped. */
const BACKFILL_CANDIDATES = 50;

/**
 * What the backfill knows of the client's server: kept with the client's server state (client.server), shared by the
 * clients of one daemon or sync, so that a server without logged models, or refusing them, is not asked at every sync,
 * and one client's server is never taken for another's. A client given without one (a caller's own) has it per pass.
 */
const serverOf = (client: MlflowClient): MlflowServerState => (client as Partial<Pick<MlflowClient, 'server'>>).server ?? createMlflowServerState();

const ONNX_FILTER = `tags.\`${MIRROR_TAGS.complete}\` = 'true' AND tags.\`${MLFLOW_MODEL_TAGS.model}\` = 'onnx'`;

export interface LoggedModelBackfill {
  /** Mirrors given their logged model now (or found to have one, and tagged so). */
  logged: Array<{ runId: string; mlflowRunId: string; modelId: string }>;
  /** The pass stopped at the cap with candidates left: the next sync goes on. */
  more: boolean;
  /** MLflow went away part-way; what was logged stays done. */
  outage?: { code: string; message: string };
}

const startTime = (run: MlflowRun): number => Number(run.info.start_time ?? 0) || 0;

/**
 * Complete ONNX mirrors of runs of this registry without the tag naming their logged model, newest first: mirrors an
 * flts before MLflow 3's logged models wrote (or written while the server was older). Asked for untagged alone
 * (`IS NULL`); a server that refuses the filter (MLflow 2) is asked for its newest ONNX mirrors and they are picked
 * here, and so by the later passes of its server state, without the refusal asked for again.
 */
async function candidates(server: MlflowServerState, client: MlflowClient, experimentIds: readonly string[], registered: ReadonlySet<string>, deadline: number | undefined): Promise<MlflowRun[]> {
  const newest = { experimentIds, orderBy: ['attributes.start_time DESC'], maxResults: BACKFILL_CANDIDATES, ...(deadline === undefined ? {} : { deadline }) };
  let runs: MlflowRun[] | undefined;
  if (!server.tagIsNullRefused) {
    try {
      runs = await client.searchRuns({ ...newest, filter: `${ONNX_FILTER} AND tags.\`${LOGGED_MODEL_TAG}\` IS NULL` });
    } catch (error) {
      if (!isFltsError(error) || error.code !== 'FLTS_TRACKING_REJECTED') throw error;
      server.tagIsNullRefused = true;
    }
  }
  runs ??= await client.searchRuns({ ...newest, filter: ONNX_FILTER });
  return runs
    .filter((run) => {
      const tags = toRecord(run.data.tags);
      return tags[LOGGED_MODEL_TAG] === undefined && registered.has(tags[MIRROR_TAGS.runId] ?? '') && !server.failedMirrors.has(run.info.run_id);
    })
    .sort((a, b) => startTime(b) - startTime(a) || a.info.run_id.localeCompare(b.info.run_id));
}

/**
 * Gives the newest complete ONNX mirrors that have no logged model one (writeLoggedModel: found by its run and
 * `flts.run_id` before one is created, so a pass cut short or run twice keeps one), at most
 * LOGGED_MODELS_BACKFILLED_PER_SYNC, then tags each with its model's id so later syncs leave it. The run's record is
 * read, never written. Stops when `stop` says the time is up, at a server without logged models (not asked again by
 * the clients of its server state until a logged-model call answers there, as a mirror's does once the server is
 * upgraded), at one that refuses them (not asked again by them), and at an outage (returned for the sync to report).
 */
export async function backfillLoggedModels(
  store: ObjectStore,
  settings: Settings,
  client: MlflowClient,
  experimentIds: readonly string[],
  registered: ReadonlySet<string>,
  budget: { stop: () => boolean; deadline: number | undefined },
  logger: Logger = silentLogger,
): Promise<LoggedModelBackfill> {
  const done: LoggedModelBackfill = { logged: [], more: false };
  const server = serverOf(client);
  if (server.backfill !== undefined || experimentIds.length === 0 || budget.stop()) return done;
  let found: MlflowRun[];
  try {
    found = await candidates(server, client, experimentIds, registered, budget.deadline);
  } catch (error) {
    if (budget.stop()) return done;
    const flts = toFltsError(error);
    if (flts.code === 'FLTS_TRACKING_UNAVAILABLE') return { ...done, outage: { code: flts.code, message: flts.message } };
    throw error;
  }
  for (const [at, run] of found.entries()) {
    if (at >= LOGGED_MODELS_BACKFILLED_PER_SYNC || budget.stop()) {
      done.more = true;
      break;
    }
    const runId = toRecord(run.data.tags)[MIRROR_TAGS.runId]!;
    try {
      // Asked first, before the export it would otherwise cost: a server without logged models, or a model already
      // READY (a promotion logged it, or a pass stopped before the tag), which wants the tag alone.
      const ready = await readyLoggedModelOf(client, run);
      if (ready === undefined) {
        server.backfill = 'unsupported';
        break;
      }
      if (ready.modelId !== undefined) {
        await client.setTag(run.info.run_id, LOGGED_MODEL_TAG, ready.modelId);
        done.logged.push({ runId, mlflowRunId: run.info.run_id, modelId: ready.modelId });
        continue;
      }
      const plan = await planMirroredModel(store, settings, runId);
      if (plan.kind !== 'onnx') {
        // Its export fails now (a file gone from the store): the run's model/ stays its model, and this process leaves it.
        server.failedMirrors.add(run.info.run_id);
        logger.warn({ run_id: runId, mlflow_run_id: run.info.run_id, err: plan.reason }, 'mlflow_logged_model_backfill_failed');
        continue;
      }
      const modelId = await writeLoggedModel(client, run, plan);
      if (modelId === undefined) {
        server.backfill = 'unsupported';
        break;
      }
      await client.setTag(run.info.run_id, LOGGED_MODEL_TAG, modelId);
      done.logged.push({ runId, mlflowRunId: run.info.run_id, modelId });
    } catch (error) {
      if (budget.stop()) {
        done.more = true;
        break;
      }
      const flts = toFltsError(error);
      if (flts.code === 'FLTS_TRACKING_UNAVAILABLE') return { ...done, outage: { code: flts.code, message: flts.message } };
      if (flts.code === 'FLTS_TRACKING_REJECTED') {
        // A permission on the newer endpoints refuses every mirror alike: the runs' model/ serves MLflow users as before.
        server.backfill = 'refused';
        logger.warn({ mlflow_run_id: run.info.run_id, code: flts.code, err: flts.message }, 'mlflow_logged_model_refused');
        break;
      }
      server.failedMirrors.add(run.info.run_id);
      logger.warn({ run_id: runId, mlflow_run_id: run.info.run_id, code: flts.code, err: flts.message }, 'mlflow_logged_model_backfill_failed');
    }
  }
  if (done.logged.length > 0) logger.info({ logged: done.logged.length, more: done.more }, 'mlflow_logged_models_backfilled');
  return done;
}
