import { decodeTrainClaim, type DataClaim } from '../bus/messages.js';
import { invalidMessage, quoted } from '../bus/message-fields.js';
import type { Subscription } from '../bus/message-bus.js';
import { roleDlq, trainerGroupId } from '../bus/topics.js';
import { readProcessedSidecar } from '../preprocess/processed-data.js';
import { findRunRecord } from '../registry/run-store.js';
import { isConfigHash } from '../preprocess/processed-layout.js';
import { announceAnsweringClaims, claimAnswered } from './answered-claims.js';
import { decodeStepMessage, STEP_RESULTS } from './daemon-metrics.js';
import { removeFinishedLeases } from './finished-leases.js';
import { abandonedOnStop, type RoleContext, type RoleHandle } from './role-registry.js';
import { createMirrorBacklog } from './mirror-backlog.js';
import { createMirrorQueue, MIRROR_STOP_WAIT_MS } from './mirror-queue.js';
import { declareRoleTracking } from './role-tracking.js';
import { createSerialQueue, startResyncTimer } from './serial-queue.js';
import { repeatedStepFailure } from './step-failure.js';
import { createTrainingProgress } from '../train/training-progress.js';
import { BACKLOG_MIRROR, mirrorTrainedRun, reconcileTraining, type TrainerContext } from './trainer-reconciler.js';

/**
 * Reconciles the latest processed data for every configured model type (startup and periodic resync), queues a
 * mirror of the runs MLflow still lacks, then removes the leases of finished training that holders killed outright
 * left behind.
 */
async function reconcileLatest(context: TrainerContext): Promise<void> {
  await reconcileLatestData(context);
  if (context.settings.tracking.uri) context.mirrors.add(BACKLOG_MIRROR);
  await removeFinishedLeases(context).catch((error: unknown) => {
    if (context.signal.aborted) return;
    // An upkeep, at warn whatever failed it; an outage by its code and reason, as every other repeated step's.
    context.logger.warn(repeatedStepFailure(error).fields, 'daemon_finished_leases_failed');
  });
}

async function reconcileLatestData(context: TrainerContext): Promise<void> {
  const sidecar = await readProcessedSidecar(context.store, context.settings);
  if (!sidecar) {
    context.logger.info({ bucket: context.settings.store.buckets.processed }, 'daemon_trainer_no_processed_data');
    return;
  }
  await Promise.all(
    context.settings.daemon.trainerModels.map((modelType) =>
      reconcileTraining(context, { configHash: sidecar.config_hash, modelType }, context.signal).catch((error: unknown) => {
        if (context.signal.aborted) return;
        const failure = repeatedStepFailure(error);
        context.logger[failure.level]({ model_type: modelType, config_hash: sidecar.config_hash, ...failure.fields }, 'daemon_trainer_resync_failed');
      }),
    ),
  );
}

/**
 * A claim whose config_hash names no processed version (the reference trainer's "default_cfg", say) is the producer's
 * error, dead-lettered as an invalid message: the store keys data by the 64-hex hash, so there is nothing to train,
 * and no setting of this daemon to fix (FLTS_CONFIG_INVALID_VALUE, which training it would fail with, says there is).
 */
function trainableClaim(claim: DataClaim, topic: string): DataClaim {
  if (!isConfigHash(claim.configHash)) {
    throw invalidMessage(topic, `field "config_hash" must be 64 lower-case hex characters (the processed data version to train on), got ${quoted(claim.configHash)}`, { field: 'config_hash' });
  }
  return claim;
}

/**
 * The trainer role: one consumer group per model type on `training-data` (so every type sees every
 * claim), each claim reconciled from the run registry, plus the latest processed data at startup.
 */
export async function startTrainerRole(base: RoleContext): Promise<RoleHandle> {
  // How far mirroring is behind, only where there is an MLflow to mirror to.
  // Aged from each run's finished_at, so the lag survives a restart (mirror-backlog.ts).
  const finishedAt = async (runId: string): Promise<string | undefined> => (await findRunRecord(base.store, base.settings, runId))?.timings.finished_at;
  const backlog = base.settings.tracking.uri ? createMirrorBacklog(base.monotonic, { finishedAt, ...(base.wall ? { wall: base.wall } : {}) }) : undefined;
  if (backlog) base.metrics.watchMirrorBacklog('trainer', () => backlog.status());
  const mirrors = createMirrorQueue((runId, signal) => mirrorTrainedRun(base, runId, signal, backlog), {
    signal: base.signal,
    onError: (runId, error) => base.logger.warn({ run_id: runId, err: error }, 'daemon_mirror_failed'),
  });
  // A fit that stops moving fails /livez past training.stallTimeoutMs (training-progress.ts).
  const progress = createTrainingProgress(base.settings.training.stallTimeoutMs, base.monotonic);
  base.metrics.watchTraining(() => progress.status());
  // /livez says a stall by its code alone (it answers anyone): the run is logged, once, for the operator, whose
  // `kubectl logs --previous` still has it once the kubelet restarted the process.
  const saidStalled = new Set<string>();
  const sayStalled = (): void => {
    const training = progress.status();
    for (const runId of saidStalled) if (!training.some((entry) => entry.run_id === runId)) saidStalled.delete(runId);
    for (const entry of training) {
      if (!entry.stalled || saidStalled.has(entry.run_id)) continue;
      saidStalled.add(entry.run_id);
      base.logger.warn({ code: 'FLTS_TRAIN_STALLED', run_id: entry.run_id, model_type: entry.model_type, config_hash: entry.config_hash, last_progress: entry.last_progress, last_progress_at: entry.last_progress_at, idle_ms: entry.idle_ms, bound_ms: base.settings.training.stallTimeoutMs }, 'daemon_training_stalled');
    }
  };
  const context: TrainerContext = { ...base, queue: createSerialQueue(), mirrors, progress, ...(backlog ? { backlog } : {}) };
  const { settings, bus } = context;
  const topic = settings.bus.topics.trainingData;
  await bus.ensureTopics([settings.bus.topics.modelTraining]);
  context.metrics.declareSteps('trainer', 'train', STEP_RESULTS);
  context.metrics.declareTrainingRuns(settings.daemon.trainerModels);
  declareRoleTracking(context, 'trainer');
  const subscriptions: Subscription[] = [];
  for (const modelType of settings.daemon.trainerModels) {
    const subscription = await bus.subscribe(
      { group: trainerGroupId(modelType, settings.bus.groups.trainerPrefix), topics: [topic], dlqOperation: 'train', dlq: roleDlq(settings, 'trainer') },
      abandonedOnStop(context.signal, async (message, { signal }) => {
        const claim = decodeStepMessage(context.metrics, 'trainer', 'train', () => trainableClaim(decodeTrainClaim(message), topic));
        const combined = AbortSignal.any([signal, context.signal]);
        const outcome = await reconcileTraining(context, { configHash: claim.configHash, modelType, processedBucket: claim.bucket === settings.store.buckets.processed ? undefined : claim.bucket }, combined);
        // Every claim is answered with its run's SUCCESS, also when that run exists already: a claim for trained data
        // (`flts preprocess` answering "cached", data trained without a bus, a redelivery after a failed SUCCESS
        // publish, the config_hash back on rows trained before: A -> B -> A under the same file names) otherwise wakes
        // no promoter, and its promotion waits for the next resync. Unless a SUCCESS of that run went out after the
        // claim was published, whichever trainer sent it (answered-claims.ts, kept in the store): the claim a restart
        // redelivers once the killed trainer or the startup resync announced its training is only committed. At most
        // one notice per claim and type, never from a resync; the promoter decides from durable state, so a repeated
        // one changes nothing.
        if (outcome.result === 'skipped' && !(await claimAnswered(context, outcome.runId, message))) {
          await announceAnsweringClaims(context, { modelType, configHash: claim.configHash, runId: outcome.runId });
        }
      }),
    );
    subscriptions.push(subscription);
  }
  // At startup and every resync (5 minutes by default): a store outage fails each one while it lasts. The startup's
  // is said as the timer's, not left a rejection nobody awaits until the role stops.
  const resyncFailed = (error: unknown): void => {
    if (context.signal.aborted) return;
    const failure = repeatedStepFailure(error);
    context.logger[failure.level](failure.fields, 'daemon_trainer_resync_failed');
  };
  const startup = reconcileLatest(context).catch(resyncFailed);
  startResyncTimer(settings.daemon.resyncIntervalMs, context.signal, () => reconcileLatest(context), resyncFailed);
  return {
    name: 'trainer',
    subscriptions,
    status: () => ({ models: settings.daemon.trainerModels, training: progress.status(), ...(backlog ? { mlflow_backlog: backlog.status() } : {}) }),
    liveness: () => {
      const stall = progress.stall();
      if (stall) sayStalled();
      return stall;
    },
    async stop() {
      // The mirror under way is aborted, not finished: what it leaves is pending in the registry for the next sync.
      await Promise.all([...subscriptions.map((s) => s.stop()), startup, mirrors.stop(MIRROR_STOP_WAIT_MS)]);
    },
  };
}
