import { FltsError, isOutageCode } from '../errors.js';
import { snakeCaseKeys } from '../snake-case-keys.js';
import { processedDataSettings, trainModels, UNTRAINABLE } from '../workflows/train.js';
import { syncRunsToTracking } from '../workflows/sync-runs-to-tracking.js';
import { currentRun, trainedOnData } from '../registry/trained-data.js';
import { readProcessedSidecar } from '../preprocess/processed-data.js';
import type { TrainableModelType } from '../config/specs/training.js';
import type { RunRecord } from '../registry/run-record.js';
import { listRunRecords, markRunKilled } from '../registry/run-store.js';
import { unmarkedRunIdsInStore } from '../registry/mirror-pending-runs.js';
import { runOfThisProcess, waitForRunEnd, whyRunDead } from '../registry/run-liveness.js';
import { announceAnsweringClaims } from './answered-claims.js';
import type { RoleContext } from './role-registry.js';
import type { MirrorBacklog } from './mirror-backlog.js';
import type { MirrorQueue } from './mirror-queue.js';
import { roleTracking } from './role-tracking.js';
import type { SerialQueue } from './serial-queue.js';
import type { TrainingProgress } from '../train/training-progress.js';
import { acquireLease, leaseKey, readLease, waitForLeaseFree, type HeldLease } from '../registry/work-lease.js';

export interface TrainTarget {
  configHash: string;
  modelType: TrainableModelType;
  /** The claim's bucket, when it names one other than the configured processed-data bucket. */
  processedBucket?: string;
}

export type TrainingOutcome =
  | { result: 'trained'; runId: string }
  | { result: 'skipped'; runId: string; reason: string }
  | { result: 'gave-up'; failedRuns: number; reason: string };

export interface TrainerContext extends RoleContext {
  /** One model trains at a time per process. */
  queue: SerialQueue;
  /** Trained runs to mirror to MLflow, beside the claims (mirrorTrainedRun). */
  mirrors: MirrorQueue;
  /** The runs not mirrored yet, with tracking configured (/status, /metrics). */
  backlog?: MirrorBacklog;
  /** The last progress of the training under way, for /livez, /status and /metrics. */
  progress?: TrainingProgress;
}

/** `wait` for the lease's holder, or for `runId`: a run another process trains without a lease (`--allow-concurrent`, an older flts). */
type Decision = { kind: 'done'; outcome: TrainingOutcome } | { kind: 'wait'; reason: string; runId?: string };

function aborted(): FltsError {
  return new FltsError('FLTS_TRAIN_ABORTED', 'The daemon is stopping; the step resumes on the next start.');
}

/**
 * RUNNING runs nobody trains any more are marked KILLED: their process died (SIGKILL, OOM, power loss), or this
 * process's own earlier attempt failed while the store was away and could not record its end. Returns a run that
 * another process is still training, if any: a second training of the same model would only duplicate it.
 */
async function markOrphansKilled(context: TrainerContext, runs: RunRecord[]): Promise<RunRecord | undefined> {
  let live: RunRecord | undefined;
  for (const run of runs) {
    if (run.status !== 'RUNNING') continue;
    // Under the lease and the serial queue this process trains nothing else of this data and type: a run of its
    // own is an earlier attempt whatever its age.
    const message = runOfThisProcess(run) ? 'This trainer\'s attempt ended without recording its end (the store did not answer); the model is retrained.' : await whyRunDead(context.store, context.settings, run, context.monotonic);
    if (message === undefined) {
      live ??= run;
      continue;
    }
    const killed = await markRunKilled(context.store, context.settings, run.run_id, message);
    if (!killed) continue; // it ended meanwhile; the next decision reads how
    context.metrics.countTrainingRun(run.model_type, 'KILLED');
    context.logger.warn({ run_id: run.run_id, model_type: run.model_type, config_hash: run.config_hash }, 'daemon_orphan_run_killed');
  }
  return live;
}

/** Trains under the lease; the run's progress clock ends with it, however it ends (a stalled fit counts until then). */
async function train(context: TrainerContext, target: TrainTarget, lease: HeldLease, signal: AbortSignal): Promise<TrainingOutcome> {
  try {
    return await trainUnderLease(context, target, lease, signal);
  } finally {
    context.progress?.done(target);
  }
}

async function trainUnderLease(context: TrainerContext, target: TrainTarget, lease: HeldLease, signal: AbortSignal): Promise<TrainingOutcome> {
  const { settings, store, bus, logger, metrics } = context;
  // The lease held is the training claim the workflow would take (train-claim.ts: the same key), and the RUNNING runs
  // of other processes were judged under it just before (markOrphansKilled), with the same rules; waiting for a live
  // one happens above, lease and queue released. So the workflow takes no claim and need not look again.
  const result = await trainModels({ models: [target.modelType], configHash: target.configHash, processedBucket: target.processedBucket, inProgress: 'train', deferMirror: true }, settings, {
    store,
    bus,
    logger,
    signal,
    monotonic: context.monotonic,
    onEvent: (e) => {
      if (e.type === 'train.start') lease.attachRun(e.runId);
      context.progress?.observe(e, target);
      context.onEvent?.(e);
    },
    onRunFinished: (modelType, status) => metrics.countTrainingRun(modelType, status),
    // Its SUCCESS records the claims it answers (training fails when that notice cannot go out), for whichever trainer
    // a claim reaches next.
    announce: (run) => announceAnsweringClaims(context, run),
  }).catch((error: unknown) => {
    // Data this type cannot train under these settings (too few rows, a target no column holds) records no run:
    // decided from durable state like the FAILED runs' limit, so neither retried nor dead-lettered, nor an error
    // at every resync; new data or settings make a new decision.
    if (error instanceof FltsError && error.details[UNTRAINABLE] === true) return error;
    throw error;
  });
  if (result instanceof FltsError) {
    logger.warn({ config_hash: target.configHash, model_type: target.modelType, code: result.code, reason: result.message }, 'daemon_train_untrainable');
    return { result: 'gave-up', failedRuns: 0, reason: result.message };
  }
  return { result: 'trained', runId: result.runs[0].run_id };
}

/**
 * The mirror queue's key of a sync of the backlog alone, with no run just trained (a run id is never empty): what an
 * outage, a full queue or a stop left unmirrored is caught up at each resync, not only once some run is trained again.
 */
export const BACKLOG_MIRROR = '';

/**
 * Mirrors a trained run to MLflow (and the backlog an outage left), from the role's mirror queue: with the model's
 * lease released, the serial queue free and the claim's handler returned, so a hanging tracking server costs its call
 * budget to no training and no claim. The SUCCESS notice went out already; a mirror cut short by a stop is caught up
 * by the next sync (the next resync's BACKLOG_MIRROR, or the backlog of the next run's mirror).
 */
export async function mirrorTrainedRun(context: RoleContext, runId: string, signal: AbortSignal, backlog?: MirrorBacklog): Promise<void> {
  const runIds = runId === BACKLOG_MIRROR ? [] : [runId];
  const sync = backlog?.beginSync();
  const tracking = await syncRunsToTracking(context.store, context.settings, { runIds }, roleTracking(context, 'trainer', signal));
  // A sync that came back says what the registry still lacks in MLflow. One given up (MLflow down at its first call,
  // or at the run asked for) leaves the store to say it: the runs without a marker of their mirror, those another
  // process trained during the outage and, after a restart, the whole backlog included.
  if (tracking.status === 'ok') await sync?.done(tracking.value);
  else {
    if (runIds.length > 0) backlog?.trained(runId);
    if (sync && !signal.aborted) {
      const unmarked = await unmarkedRunIdsInStore(context.store, context.settings).catch(() => undefined);
      if (unmarked) await sync.done({ deferred: unmarked, failed: [] });
    }
  }
  // A run the mirror could not write is reported in its result, not as a failed call: the mirror goes on with the next.
  if (tracking.status === 'ok') for (const failure of tracking.value.failed) context.metrics.countTrackingFailure('trainer', failure.code);
}

/**
 * The runs of the target's model type and config_hash, and the outcome when they leave nothing to train: a SUCCESS run
 * trained on the data the config_hash holds now (trainedOnData: by content, so new rows under the same file names
 * are trained, a replayed claim or a forced preprocess of the same rows is not), or as many FAILED attempts on that
 * data as the bus retries.
 */
async function registryDecision(context: TrainerContext, target: TrainTarget): Promise<{ runs: RunRecord[]; done?: TrainingOutcome }> {
  const { settings, store } = context;
  const runs = (await listRunRecords(store, settings, { configHash: target.configHash })).filter((run) => run.model_type === target.modelType);
  const sidecar = await readProcessedSidecar(store, processedDataSettings(settings, target.processedBucket), target.configHash);
  const success = currentRun(runs, target.modelType, sidecar);
  if (success) return { runs, done: { result: 'skipped', runId: success.run_id, reason: `run ${success.run_id} already trained ${target.modelType} on the data of config_hash ${target.configHash}` } };
  // A run an outage failed (the store or the broker away, or refusing flts) says nothing of the data, as a message's
  // attempts waiting out an outage use up none of its retries: only the other failures count.
  const failed = runs.filter((run) => run.status === 'FAILED' && trainedOnData(run, sidecar) && !(run.error && isOutageCode(run.error.code))).length;
  if (failed >= settings.bus.retry.maxAttempts) {
    return { runs, done: { result: 'gave-up', failedRuns: failed, reason: `${failed} FAILED ${target.modelType} runs on the data of config_hash ${target.configHash} (limit bus.retry.maxAttempts = ${settings.bus.retry.maxAttempts})` } };
  }
  return { runs };
}

async function decideAndTrain(context: TrainerContext, target: TrainTarget, signal: AbortSignal): Promise<Decision> {
  const { settings, store } = context;
  if (signal.aborted) throw aborted();
  const before = await registryDecision(context, target);
  if (before.done) return { kind: 'done', outcome: before.done };
  const work = { step: 'train', configHash: target.configHash, modelType: target.modelType };
  const lease = await acquireLease({ store, settings, owner: context.owner, logger: context.logger, monotonic: context.monotonic }, work, signal);
  if (!lease) {
    const holder = await readLease(store, settings, leaseKey(work.step, work.configHash, work.modelType));
    return { kind: 'wait', reason: `${holder?.owner ?? 'another trainer'} is training it (run ${holder?.run_id ?? 'starting'})` };
  }
  let done: (() => void) | undefined;
  try {
    // Decided again under the lease: another trainer may have finished and released it since our first look.
    const held = await registryDecision(context, target);
    if (held.done) return { kind: 'done', outcome: held.done };
    const live = await markOrphansKilled(context, held.runs);
    if (live) return { kind: 'wait', reason: `run ${live.run_id} of ${live.owner ? `pid ${live.owner.pid} on ${live.owner.host}` : 'another process'} is training it`, runId: live.run_id };
    done = context.metrics.beginWork({ role: 'trainer', step: 'train', configHash: target.configHash, modelType: target.modelType });
    return { kind: 'done', outcome: await train(context, target, lease, signal) };
  } finally {
    done?.();
    await lease.release();
  }
}

/**
 * Brings one (config_hash, model type) to "has a SUCCESS run on the data the config_hash holds", deciding only from
 * the run registry, the processed-data sidecar and the leases: such a run means nothing to do (a duplicated or
 * replayed claim, a forced preprocess of the same rows), a fresh lease of another
 * process means wait for it, and so does a RUNNING run another process still trains (its heartbeat changing);
 * a RUNNING run nobody trains any more is marked KILLED and the model retrained.
 * Training failures are rethrown (the bus retries, then dead-letters) after a FAILED message.
 */
export async function reconcileTraining(context: TrainerContext, target: TrainTarget, signal: AbortSignal): Promise<TrainingOutcome> {
  const { metrics, logger } = context;
  for (;;) {
    let decision: Decision;
    try {
      decision = await context.queue.run(() => decideAndTrain(context, target, signal));
    } catch (error) {
      metrics.countStep('trainer', 'train', signal.aborted ? 'aborted' : 'failed');
      throw error;
    }
    if (decision.kind === 'done') {
      const outcome = decision.outcome;
      metrics.countStep('trainer', 'train', outcome.result === 'trained' ? 'done' : 'skipped');
      logger.info({ config_hash: target.configHash, model_type: target.modelType, ...(snakeCaseKeys(outcome) as object) }, outcome.result === 'trained' ? 'daemon_trained' : 'daemon_train_skipped');
      if (outcome.result === 'trained') context.backlog?.trained(outcome.runId);
      if (outcome.result === 'trained' && !context.mirrors.add(outcome.runId)) {
        // Not lost: the run is in the registry without a mirror marker, which is what every sync's backlog mirrors.
        const stopping = context.signal.aborted;
        logger.info(
          { run_id: outcome.runId, reason: stopping ? 'stopping' : 'mirror queue full', mirrored_by: stopping ? 'the backlog of the next start' : 'the backlog of a queued mirror, at the latest of the next resync' },
          'daemon_mirror_left_to_sync',
        );
      }
      return outcome;
    }
    metrics.countStep('trainer', 'train', 'waiting');
    logger.info({ config_hash: target.configHash, model_type: target.modelType, reason: decision.reason }, 'daemon_train_waiting');
    const waited = decision.runId
      ? await waitForRunEnd(context.store, context.settings, decision.runId, signal, context.monotonic)
      : await waitForLeaseFree(context.store, context.settings, leaseKey('train', target.configHash, target.modelType), signal, context.monotonic);
    if (!waited) throw aborted();
  }
}
