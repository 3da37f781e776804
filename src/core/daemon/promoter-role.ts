import { roleDlq } from '../bus/topics.js';
import { decodeTrainingEvent } from '../bus/messages.js';
import { announcePromotion } from '../workflows/announce-promotion.js';
import { readProcessedSidecar } from '../preprocess/processed-data.js';
import { promotionScope } from '../registry/pointers.js';
import { listPromotionHistory } from '../registry/promotion-history.js';
import { removeOrphanHeartbeats, scanRunRecords } from '../registry/run-store.js';
import { decodeStepMessage, STEP_RESULTS } from './daemon-metrics.js';
import { startProbationDecisions } from './probation-role-step.js';
import { createDamagedRunReports, reconcilePromotion } from './promoter-reconciler.js';
import { abandonedOnStop, type RoleContext, type RoleHandle } from './role-registry.js';
import { declareRoleTracking, roleTracking } from './role-tracking.js';
import { markPromotionLeftOut } from '../workflows/promotion-mark.js';
import { createSerialQueue, startResyncTimer } from './serial-queue.js';
import { repeatedStepFailure } from './step-failure.js';

/**
 * The config_hashes worth a look without a message: the latest processed data's, and every hash with a
 * SUCCESS run newer than this scope's newest promotion (older complete hashes were superseded, and
 * promoting them now would move the pointer backwards). The resync's scan of the whole registry is also the daemon's
 * upkeep of it: the heartbeats killed trainers left alone in run folders go (removeOrphanHeartbeats).
 */
export async function promotionCandidates(context: RoleContext): Promise<string[]> {
  const { store, settings } = context;
  const latest = (await readProcessedSidecar(store, settings))?.config_hash;
  const newestPromotion = (await listPromotionHistory(store, settings, promotionScope(settings))).at(-1);
  const since = newestPromotion ? Date.parse(newestPromotion.timestamp.replace(/(\.\d{3})\d+Z$/, '$1Z')) : -Infinity;
  const { records, unrecorded } = await scanRunRecords(store, settings);
  await removeOrphanHeartbeats(store, settings, unrecorded);
  const recent = records.filter((run) => run.status === 'SUCCESS' && Date.parse(run.timings.finished_at ?? run.timings.started_at) > since).map((run) => run.config_hash);
  return [...new Set([...(latest ? [latest] : []), ...recent])];
}

/**
 * The promoter role (group `eval-promoter`): wakes on `model-training` SUCCESS, at startup and on resync; and
 * decides the live probation of each promotion from every serving replica's figures.
 */
export async function startPromoterRole(context: RoleContext): Promise<RoleHandle> {
  const { settings, bus, logger } = context;
  const queue = createSerialQueue();
  const damaged = createDamagedRunReports();
  await bus.ensureTopics([settings.bus.topics.modelSelected]);
  context.metrics.declareSteps('promoter', 'promote', STEP_RESULTS);
  declareRoleTracking(context, 'promoter');
  const resync = async (): Promise<void> => {
    for (const configHash of await promotionCandidates(context)) {
      await queue.run(() => reconcilePromotion(context, configHash, context.signal, damaged)).catch((error: unknown) => {
        if (context.signal.aborted) return;
        const failure = repeatedStepFailure(error);
        logger[failure.level]({ config_hash: configHash, ...failure.fields }, 'daemon_promoter_resync_failed');
      });
    }
    // A promotion made while MLflow was down left its mark out: the role that promoted catches it up itself, as a
    // trainer's sync does, so that a promoter deployed without a tracked trainer does not leave MLflow's alias behind
    // for good. Never throws; with nothing owed it reads one small object.
    if (settings.tracking.uri && !context.signal.aborted) await queue.run(() => markPromotionLeftOut(context.store, settings, roleTracking(context, 'promoter', context.signal)));
  };
  const subscription = await bus.subscribe({ group: settings.bus.groups.promoter, topics: [settings.bus.topics.modelTraining], dlqOperation: 'promotion', dlq: roleDlq(settings, 'promoter') }, abandonedOnStop(context.signal, async (message, { attempt, signal }) => {
    const event = decodeStepMessage(context.metrics, 'promoter', 'promote', () => decodeTrainingEvent(message));
    if (event.status !== 'SUCCESS') return;
    const outcome = await queue.run(() => reconcilePromotion(context, event.configHash, AbortSignal.any([signal, context.signal]), damaged));
    // A redelivery after a failed model-selected publish: the promotion exists but replicas may not know (unless the
    // step just told them, finding the notice owed).
    if (outcome.result === 'already-promoted' && attempt > 1 && !outcome.announced) await announcePromotion(outcome.record, settings, bus);
  }));
  // At startup and every resync (5 minutes by default): a store outage fails each one while it lasts.
  const resyncFailed = (error: unknown): void => {
    const failure = repeatedStepFailure(error);
    logger[failure.level](failure.fields, 'daemon_promoter_resync_failed');
  };
  const startup = resync().catch(resyncFailed);
  startResyncTimer(settings.daemon.resyncIntervalMs, context.signal, resync, resyncFailed);
  startProbationDecisions(context);
  return {
    name: 'promoter',
    subscriptions: [subscription],
    // expectedModelTypes: the name before /status spoke snake_case as the rest of flts's JSON; deprecated, kept one release.
    status: () => ({ expected_model_types: settings.daemon.expectedModelTypes, expectedModelTypes: settings.daemon.expectedModelTypes }),
    async stop() {
      await subscription.stop();
      await startup;
    },
  };
}
