import type { ClaimReads } from '../batch/claim-reads.js';
import { decodePromotion } from '../bus/messages.js';
import type { MessageBus, ReceivedMessage, Subscription } from '../bus/message-bus.js';
import { isOutage } from '../bus/delivery.js';
import { ensureTopicsWithinReach } from '../bus/reach.js';
import { roleDlq, servingGroupId } from '../bus/topics.js';
import type { Settings } from '../config/settings.js';
import { isServiceRefusal, toFltsError, type FltsError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LiveMonitor } from '../serve/live-monitor.js';
import type { ObjectStore } from '../storage/object-store.js';
import { deadlineIn, msLeft, retryWithBackoff, UNTIL_AVAILABLE, withTimeout, type Deadline, type RetryPolicy } from '../retry.js';
import type { ModelHolder } from '../serve/model-holder.js';
import type { PointerTarget } from '../serve/model-source.js';
import { servingReplicaId } from '../serve/replica-id.js';
import { claimActualsGroup, followClaimActuals } from './claim-actuals-follower.js';
import { isInvalidMessage } from '../bus/delivery.js';
import type { StepResult } from './daemon-metrics.js';

export { servingReplicaId };

export interface ServingCompanionDeps {
  settings: Settings;
  bus: MessageBus;
  holder: ModelHolder;
  logger: Logger;
  /** With both (and `live.claimActuals`), the replica also scores its forecasts with the actuals of `inference-data` claims. */
  live?: LiveMonitor;
  store?: ObjectStore;
  /** A batch role in this process reads the claims too: the follower takes the actuals from its read (see ClaimReads). */
  claimReads?: ClaimReads;
  /** Each `model-selected` notice's outcome, for the daemon's flts_daemon_steps_total (role serving, step reload). */
  countStep?: (result: StepResult) => void;
}

/** The promotion subscription; `stop` also stops the claim actuals one. */
export interface ServingCompanion extends Subscription {
  /** The replica's own group on `inference-data`, when it follows claims for their actual values. */
  readonly actuals?: Subscription;
}

/**
 * Keeps one serving replica on the promoted model. Every replica consumes `model-selected` in a group of
 * its own, from the latest offset, so every replica receives every promotion (a shared group would reach
 * one replica only, F11); the group is deleted when the replica stops. A message is only a wake-up: the replica reloads from the promotion POINTER,
 * which is the durable truth, so an old, replayed or out-of-order message can never install a stale model, and only
 * when the pointer names a run other than the one it serves (or it serves none), so a flood of copies reloads nothing. The
 * pointer is read again whenever the group (re)joins, so a promotion published while it was out is not missed.
 * With live scoring it also follows `inference-data` for the claims' actual values (see followClaimActuals): the
 * one way they reach the replica's scorer, whether the batch role runs in this process or another.
 */
export async function startServingCompanion(deps: ServingCompanionDeps): Promise<ServingCompanion> {
  const { settings, bus, holder } = deps;
  const group = promotionGroup(settings);
  const logger = deps.logger.child({ component: 'serving-companion', group });
  const countStep = deps.countStep ?? (() => undefined);
  let subscribed = false;
  // A group that rejoins (after a broker restart, up to half a minute after the broker is back) starts at the end
  // of the topic again, past any promotion published while it was out: the pointer says what that missed.
  const onJoin = (): void => {
    if (!subscribed) return; // the read below, once subscribed, covers the first join
    void holder.reloadFromPointer({ force: false }).then(
      (outcome) => logger.info({ outcome: outcome.result, run_id: 'runId' in outcome ? outcome.runId : undefined }, 'serve_promotion_group_joined'),
      (error: unknown) => logger.warn({ err: error }, 'serve_promotion_reread_failed'),
    );
  };
  /** The promotion (pointed run and time) a reload past the holder's wait after a failed load was last made for. */
  let forcedFor: string | undefined;
  /** What one notice came to: the pointer's run loaded (done), nothing to load (skipped), or a load or read that failed. */
  const follow = async (message: ReceivedMessage): Promise<StepResult> => {
    const notice = decodePromotion(message);
    const pinned = holder.status().pinnedRunId;
    if (pinned) {
      logger.info({ notice_run_id: notice.run_id, pinned_run_id: pinned }, 'serve_promotion_ignored_pinned');
      return 'skipped';
    }
    // The message only wakes the replica; the pointer decides. One that names the run served (a replay, a flood of
    // copies, a notice about another scope) costs one pointer read, never a reload.
    const pointed = await readPointerOrSkip(holder, logger);
    const served = holder.status().current?.runId;
    if (pointed === null) return 'failed';
    if (!pointed || pointed.runId === served) {
      logger.info({ notice_run_id: notice.run_id, outcome: pointed ? 'unchanged' : 'no_pointer', run_id: served }, 'serve_promotion_received');
      return 'skipped';
    }
    // Forced (past the wait after a failed load) once per promotion: copies of a notice about a run that fails to
    // load must not load it again each, while a new promotion of it is tried at once.
    const promotion = `${pointed.runId}@${pointed.timestamp ?? ''}`;
    const outcome = await holder.reloadFromPointer({ force: promotion !== forcedFor });
    logger.info({ notice_run_id: notice.run_id, outcome: outcome.result, run_id: 'runId' in outcome ? outcome.runId : undefined }, 'serve_promotion_received');
    // A store outage is retried by the bus (forced again); a broken run stays "degraded" in the holder and is retried by its poll.
    if (outcome.result === 'failed' && outcome.error.retriable) throw outcome.error;
    forcedFor = promotion;
    return outcome.result === 'loaded' ? 'done' : outcome.result === 'failed' ? 'failed' : 'skipped';
  };
  const subscription = await bus.subscribe({ group, topics: [settings.bus.topics.modelSelected], fromBeginning: false, ephemeral: true, dlqOperation: 'Promotion Load', dlq: promotionDlq(settings), onJoin }, async (message, { signal }) => {
    let result: StepResult;
    try {
      result = await follow(message);
    } catch (error) {
      // Counted as the other roles count theirs: a store that is down is waited out, a broken notice dead-lettered.
      countStep(signal.aborted ? 'aborted' : isInvalidMessage(error) ? 'invalid' : isOutage(error) ? 'waiting' : 'failed');
      throw error;
    }
    countStep(result);
  });
  // Promotions made between the service's first pointer read and the group join are covered by reading again.
  subscribed = true;
  await holder.reloadFromPointer({ force: false });
  logger.info({ topic: settings.bus.topics.modelSelected }, 'serve_promotion_subscribed');
  const { live, store } = deps;
  if (!live || !store || !settings.live.claimActuals) return subscription;
  let actuals: Subscription;
  try {
    actuals = await followClaimActuals({ settings, bus, store, holder, live, logger: deps.logger, claimReads: deps.claimReads }, claimActualsGroup(group));
  } catch (error) {
    // Scoring claims is an extra: brokers that refuse the follower what the promotion subscription did not need
    // (ACLs that keep the serve principal off inference-data or the replica's actuals group; an inference-data topic
    // they refuse to create as asked) leave the replica serving, scored by requests and POST /actuals only, and it
    // says so. Waiting would not mend a refusal, and the model it serves does not depend on it.
    if (isServiceRefusal(error)) {
      const refusal = toFltsError(error);
      logger.warn({ topic: settings.bus.topics.inferenceData, group: claimActualsGroup(group), code: refusal.code, err: refusal.message }, 'live_claims_denied');
      return subscription;
    }
    await subscription.stop();
    throw error;
  }
  return {
    group: subscription.group,
    topics: subscription.topics,
    actuals,
    async stop() {
      // Each waits for a broker that went away on its own (disconnect, group deletion): side by side, not in turn.
      await Promise.all([actuals.stop(), subscription.stop()]);
    },
  };
}

/**
 * The pointer, for a notice to be checked against; a store that is down is thrown for the bus to wait out. One that
 * refuses the read (credentials, permissions) is logged and the notice skipped (null): the holder's poll reports it.
 */
async function readPointerOrSkip(holder: ModelHolder, logger: Logger): Promise<PointerTarget | undefined | null> {
  try {
    return await holder.readPointer();
  } catch (error) {
    const flts = toFltsError(error);
    if (flts.retriable) throw flts;
    logger.warn({ code: flts.code, err: flts.message }, 'serve_promotion_pointer_unreadable');
    return null;
  }
}

/** Where the promotion subscription dead-letters. */
function promotionDlq(settings: Settings): { topic: string; role: string } {
  return roleDlq(settings, 'serving');
}

/** The topics the promotion subscription uses: `model-selected` and its dead letters. */
function promotionTopics(settings: Settings): string[] {
  return [settings.bus.topics.modelSelected, promotionDlq(settings).topic];
}

function promotionGroup(settings: Settings): string {
  return servingGroupId(servingReplicaId(settings), settings.bus.groups.servingPrefix);
}

export interface PromotionFollower {
  /** The replica's own consumer group on `model-selected`. */
  readonly group: string;
  /** Resolves true once the replica's group has joined, false when stopped before. */
  readonly joined: Promise<boolean>;
  /**
   * Stops retrying, or unsubscribes, waiting for the broker until `deadline` at most (the stop's, which the bus's close
   * then shares), or `stopGraceMs` without one. Idempotent.
   */
  stop(deadline?: Deadline): Promise<void>;
}

/** How long a follower stopped without a deadline waits for its promotion subscription to stop. */
export const PROMOTION_FOLLOWER_STOP_GRACE_MS = 5_000;

export interface PromotionFollowerOptions {
  retry?: RetryPolicy;
  /** See PROMOTION_FOLLOWER_STOP_GRACE_MS. */
  stopGraceMs?: number;
  /** Each failed attempt to join that will be retried, with the wait before the next. */
  onUnavailable?: (error: FltsError, delayMs: number) => void;
  /** The error a retried attempt then failed with that no wait can fix: the follower gave up (joined is false). */
  onGaveUp?: (error: FltsError) => void;
}

/**
 * The serving companion of a replica that must serve even while the broker is away (`flts serve`): the bus only
 * wakes the replica early, the pointer poll (`serve.pollIntervalMs`) keeps it on the promoted model regardless.
 * So a broker that does not answer (a retriable error) is retried in the background instead of stopping the
 * server; an error that waiting cannot fix (a wrong setting) is thrown by the first attempt, as before.
 */
export async function followPromotions(deps: ServingCompanionDeps, options: PromotionFollowerOptions = {}): Promise<PromotionFollower> {
  const controller = new AbortController();
  let subscription: Subscription | undefined;
  let retrying!: () => void;
  const firstRetry = new Promise<'retrying'>((resolve) => (retrying = () => resolve('retrying')));
  // Each attempt reaches the brokers within the services' bound first (ensureTopicsWithinReach): brokers that answer
  // only at their bootstrap address held the subscribe for kafkajs' retries (minutes), unsaid. The subscribe after it
  // finds the cluster answered and the subscription's topics known.
  const attempt = async (): Promise<ServingCompanion> => {
    await ensureTopicsWithinReach(deps.bus, deps.settings, promotionTopics(deps.settings));
    return startServingCompanion(deps);
  };
  const attempts = retryWithBackoff(attempt, options.retry ?? UNTIL_AVAILABLE, {
    isRetriable: (error) => toFltsError(error).retriable,
    signal: controller.signal,
    onRetry: ({ delayMs, error }) => {
      options.onUnavailable?.(toFltsError(error), delayMs);
      retrying();
    },
  }).then(async (joined) => {
    subscription = joined;
    // Stopped while the last attempt was joining: that subscription is not wanted any more.
    if (controller.signal.aborted) await joined.stop();
    return !controller.signal.aborted;
  });
  const group = promotionGroup(deps.settings);
  const stop = async (deadline = deadlineIn(options.stopGraceMs ?? PROMOTION_FOLLOWER_STOP_GRACE_MS)): Promise<void> => {
    controller.abort();
    const stopping = subscription?.stop().catch((error: unknown) => deps.logger.warn({ group, err: toFltsError(error).message }, 'serve_promotion_stop_failed'));
    if (!stopping) return;
    // With the broker gone, the consumer's disconnect and its group's deletion wait for it (over half a minute): the
    // replica's own shutdown (requests in flight answered, prediction records written) must not queue behind them, or
    // an orchestrator's kill at the end of its grace period loses those records. The stop goes on meanwhile, until the
    // bus's close, which waits for the same disconnect within what is left of the same deadline, ends it.
    const graceMs = Math.round(msLeft(deadline));
    const inTime = await withTimeout(stopping, graceMs).then(() => true, () => false);
    if (!inTime) deps.logger.warn({ group, grace_ms: graceMs }, 'serve_promotion_stop_slow');
  };
  // The first attempt decides: joined, retrying in the background, or an error no wait can fix (thrown).
  if ((await Promise.race([attempts, firstRetry])) !== 'retrying') return { group, joined: attempts, stop };
  const joined = attempts.catch((error: unknown) => {
    if (controller.signal.aborted) return false;
    deps.logger.error({ err: toFltsError(error) }, 'serve_promotion_subscription_failed');
    options.onGaveUp?.(toFltsError(error));
    return false;
  });
  return { group, joined, stop };
}
