import type { MessageBus } from '../bus/message-bus.js';
import { encodePromotion } from '../bus/messages.js';
import type { Settings } from '../config/settings.js';
import { repeatedFailureFields } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { PromotionRecord } from '../registry/pointers.js';
import { catchUpPointers } from '../registry/promotion-history.js';
import type { ObjectStore } from '../storage/object-store.js';

/** Whether `model-selected` took the notice of a promotion. */
export interface PublishedPromotion {
  topic: string;
  ok: boolean;
  error?: string;
}

/**
 * Tells serving replicas about a promotion already recorded on `model-selected`; throws when the bus does not take
 * the notice, so a caller that must not lose it (the daemon's promoter) retries.
 */
export async function announcePromotion(record: PromotionRecord, settings: Settings, bus: MessageBus): Promise<void> {
  await bus.publish(settings.bus.topics.modelSelected, encodePromotion({ ...record }));
}

/** What promotion_pointers_caught_up says, for whoever reads it rather than matches it. */
export function caughtUpReason(record: Pick<PromotionRecord, 'run_id' | 'timestamp'>): string {
  return `the promotion of run ${record.run_id} recorded at ${record.timestamp} was left before its pointers were moved (an earlier process stopped); they now name that run`;
}

/**
 * Finishes a promotion an earlier process stopped between its history record and its pointers (an outage,
 * SIGKILL): the pointers are moved up to the history and, with a bus, the promotion is announced; otherwise
 * replicas would serve the previous run until a later promotion. Returns the promotion finished, if any.
 */
export async function completeInterruptedPromotion(settings: Settings, deps: { store: ObjectStore; bus?: MessageBus; logger?: Logger }): Promise<PromotionRecord | undefined> {
  const caughtUp = await catchUpPointers(deps.store, settings);
  if (!caughtUp) return undefined;
  (deps.logger ?? silentLogger).warn({ run_id: caughtUp.run_id, timestamp: caughtUp.timestamp, reason: caughtUpReason(caughtUp) }, 'promotion_pointers_caught_up');
  if (deps.bus) await announcePromotion(caughtUp, settings, deps.bus);
  return caughtUp;
}

/**
 * Announces a promotion just recorded; a bus that does not take it is reported, not thrown: the pointers stay the
 * source of truth. The result says the failure (`ok: false`, `error`); it is logged as well (promotion_publish_failed)
 * unless `saysPublishFailure`: a caller that prints the result to a person (a command's text report) says it once.
 */
export async function publishPromotion(record: PromotionRecord, settings: Settings, deps: { bus?: MessageBus; logger?: Logger; saysPublishFailure?: boolean }): Promise<PublishedPromotion | null> {
  if (!deps.bus) return null;
  const topic = settings.bus.topics.modelSelected;
  try {
    await announcePromotion(record, settings, deps.bus);
    return { topic, ok: true };
  } catch (error) {
    // Brokers away: by the code and reason, as the result says it again (published.error) and a daemon retries it.
    if (!deps.saysPublishFailure) (deps.logger ?? silentLogger).warn({ ...repeatedFailureFields(error), topic, run_id: record.run_id }, 'promotion_publish_failed');
    return { topic, ok: false, error: (error as Error).message };
  }
}
