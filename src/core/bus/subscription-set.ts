import type { Logger } from '../logger.js';
import type { SubscribeOptions, Subscription } from './message-bus.js';

export interface SubscriptionSet {
  /** A subscription whose `stop` runs `teardown` once, however often it is called, and then leaves the set. */
  add(group: string, topics: readonly string[], teardown: () => Promise<void>): Subscription;
  stopAll(): Promise<void>;
}

/** The subscriptions a bus has open, so closing the bus stops every one of them. */
export function createSubscriptionSet(): SubscriptionSet {
  const open = new Set<Subscription>();
  return {
    add(group, topics, teardown) {
      let stopping: Promise<void> | undefined;
      const subscription: Subscription = {
        group,
        topics: [...topics],
        stop() {
          stopping ??= teardown().finally(() => open.delete(subscription));
          return stopping;
        },
      };
      open.add(subscription);
      return subscription;
    },
    async stopAll() {
      await Promise.all([...open].map((subscription) => subscription.stop()));
    },
  };
}

/** Runs a subscriber's `onJoin`; what it throws must not fail the consumer that joined. */
export function tellJoined(options: SubscribeOptions, logger: Logger): void {
  try {
    options.onJoin?.();
  } catch (error) {
    logger.warn({ group: options.group, err: error }, 'bus_on_join_failed');
  }
}

/** Runs a subscriber's `onReadTo`; what it throws must not fail the consumer that read. */
export function tellReadTo(options: SubscribeOptions, logger: Logger, position: { topic: string; partition: number; offset: string }): void {
  try {
    options.onReadTo?.(position);
  } catch (error) {
    logger.warn({ group: options.group, err: error }, 'bus_on_read_to_failed');
  }
}
