import path from 'node:path';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../logger.js';
import { createFsBus } from './fs-bus.js';
import { createKafkaBus } from './kafka-bus.js';
import type { BusMetrics, DeliveryListener, MessageBus, RetryPolicy } from './message-bus.js';

export type { BusCloseOptions, BusMetrics, DeliveryListener, DeliveryOutcome, EnsureTopicsOptions, HandlerContext, MessageBus, MessageHandler, OutgoingMessage, PartitionLag, ReceivedMessage, RetryPolicy, SubscribeOptions, Subscription } from './message-bus.js';
export { createFsBus, type FsBus, type FsBusOptions, type FsBusRetention, type RetentionTrim } from './fs-bus.js';
export { createKafkaBus, type KafkaBusOptions } from './kafka-bus.js';
export { DEFAULT_RETRY_POLICY, buildDlqEnvelope, dlqMessageFor, type DlqEnvelope } from './delivery.js';
export { invalidMessage } from './message-fields.js';
export { ensureTopicsWithinReach } from './reach.js';
export * from './messages.js';
export * from './topics.js';

/** The embedded bus keeps its topic logs and group offsets under `<home>/bus`. */
export function fsBusRoot(settings: Settings): string {
  return path.resolve(settings.home, 'bus');
}

export function retryPolicyFrom(settings: Settings): RetryPolicy {
  return { ...settings.bus.retry };
}

export interface MessageBusDeps {
  logger?: Logger;
  onDelivery?: DeliveryListener;
  metrics?: BusMetrics;
  /**
   * The bus of a one-shot command: with Kafka, reaching the brokers fails after bus.kafka.commandConnectTimeoutMs
   * instead of retrying as a service does, which waits for them as long as it takes.
   */
  oneShot?: boolean;
}

/** The configured bus, or undefined when `bus.kind` is none (commands then skip publishing). */
export function createMessageBus(settings: Settings, deps: MessageBusDeps = {}): MessageBus | undefined {
  const retry = retryPolicyFrom(settings);
  switch (settings.bus.kind) {
    case 'fs':
      return createFsBus({
        root: fsBusRoot(settings),
        retry,
        logger: deps.logger,
        onDelivery: deps.onDelivery,
        metrics: deps.metrics,
        retention: { ms: settings.bus.fs.retentionHours < 0 ? -1 : settings.bus.fs.retentionHours * 3_600_000, bytes: settings.bus.fs.retentionBytes, checkIntervalMs: settings.bus.fs.retentionCheckIntervalMs },
      });
    case 'kafka':
      return createKafkaBus({
        ...settings.bus.kafka,
        commandConnectTimeoutMs: deps.oneShot ? settings.bus.kafka.commandConnectTimeoutMs : undefined,
        topicCreationTimeoutMs: deps.oneShot ? settings.bus.kafka.topicCreationTimeoutMs : undefined,
        partitions: settings.bus.partitions,
        replicationFactor: settings.bus.replicationFactor,
        retry,
        logger: deps.logger,
        onDelivery: deps.onDelivery,
        metrics: deps.metrics,
      });
    default:
      return undefined;
  }
}
