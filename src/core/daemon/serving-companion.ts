import { decodePromotion } from '../bus/messages.js';
import type { MessageBus, Subscription } from '../bus/message-bus.js';
import { roleDlq, servingGroupId } from '../bus/topics.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../logger.js';
import type { ModelHolder } from '../serve/model-holder.js';
import { servingReplicaId } from '../serve/replica-id.js';

export { servingReplicaId };

export interface ServingCompanionDeps {
  settings: Settings;
  bus: MessageBus;
  holder: ModelHolder;
  logger: Logger;
}

/**
 * Keeps one serving replica on the promoted model. Every replica consumes `model-selected` in a group of
 * its own, from the latest offset, so every replica receives every promotion (a shared group would reach
 * one replica only, F11). A message is only a wake-up: the replica reloads from the promotion POINTER,
 * which is the durable truth, so an old, replayed or out-of-order message can never install a stale model.
 */
export async function startServingCompanion(deps: ServingCompanionDeps): Promise<Subscription> {
  const { settings, bus, holder } = deps;
  const group = servingGroupId(servingReplicaId(settings), settings.bus.groups.servingPrefix);
  const logger = deps.logger.child({ component: 'serving-companion', group });
  const subscription = await bus.subscribe({ group, topics: [settings.bus.topics.modelSelected], fromBeginning: false, dlqOperation: 'Promotion Load', dlq: roleDlq(settings, 'serving') }, async (message) => {
    const notice = decodePromotion(message);
    const pinned = holder.status().pinnedRunId;
    if (pinned) {
      logger.info({ noticeRunId: notice.run_id, pinnedRunId: pinned }, 'serve_promotion_ignored_pinned');
      return;
    }
    const outcome = await holder.reloadFromPointer({ force: true });
    logger.info({ noticeRunId: notice.run_id, outcome: outcome.result, runId: 'runId' in outcome ? outcome.runId : undefined }, 'serve_promotion_received');
    // A store outage is retried by the bus; a broken run stays "degraded" in the holder and is retried by its poll.
    if (outcome.result === 'failed' && outcome.error.retriable) throw outcome.error;
  });
  // Promotions made between the service's first pointer read and the group join are covered by reading again.
  await holder.reloadFromPointer({ force: false });
  logger.info({ topic: settings.bus.topics.modelSelected }, 'serve_promotion_subscribed');
  return subscription;
}
