import { Counter, Gauge, type Registry } from 'prom-client';
import { redactSecrets } from '../redact.js';
import type { BusMetrics, DeliveryOutcome } from './message-bus.js';

/** Every fate of a message, each a series at 0 from the subscription's start. */
const DELIVERY_OUTCOMES: readonly DeliveryOutcome[] = ['handled', 'dead-lettered', 'abandoned'];

/** What a subscription's consumer went through, as its bus reports it to the BusMetrics of watchedBusMetrics. */
export interface ConsumerWatcher {
  crashed(group: string, code: string): void;
  /** The crash episode ended: its consumer back in its group, or its subscription stopped. */
  crashEnded(group: string): void;
}

/**
 * `series` as a bus reports to it, and who else hears of its consumers' crashes: a replica's promotion status (/healthz
 * `promotions`) turns on its group's, in `flts serve` and in a daemon's serving role alike.
 */
export function watchedBusMetrics(series: BusMetrics): { bus: BusMetrics; watchConsumers(listener: ConsumerWatcher): () => void } {
  const watchers = new Set<ConsumerWatcher>();
  return {
    bus: {
      ...series,
      consumerCrashed(group, code) {
        series.consumerCrashed(group, code);
        for (const watcher of watchers) watcher.crashed(group, code);
      },
      crashing(group, active) {
        series.crashing(group, active);
        if (!active) for (const watcher of watchers) watcher.crashEnded(group);
      },
    },
    watchConsumers(listener) {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
  };
}

/**
 * The flts_bus_* series on `registry`, as the BusMetrics a bus reports to (createMessageBus's `metrics`). Both
 * services that consume from the bus (flts daemon and flts serve) register them here, so the series and their
 * help texts, which the alerts and dashboards read alike from either, are defined once.
 */
export function createBusMetrics(registry: Registry): BusMetrics {
  const messages = new Counter({ name: 'flts_bus_messages_total', help: 'Messages the bus is done with, by consumer group, topic and outcome (handled, dead-lettered, abandoned: left uncommitted by a stop, redelivered later).', labelNames: ['group', 'topic', 'outcome'], registers: [registry] });
  const retries = new Counter({ name: 'flts_bus_message_retries_total', help: 'Handler attempts that failed and were tried again (also while a store or broker outage is waited out), by consumer group and topic.', labelNames: ['group', 'topic'], registers: [registry] });
  const refusals = new Counter({ name: 'flts_bus_dead_letter_refusals_total', help: 'Dead letters the DLQ refused to store, by consumer group and source topic: each message stays uncommitted and its consumer fails on it, to get it again (flts_bus_messages_total{outcome="dead-lettered"} counts those stored); one refused as too large even without its payload is counted once, and only it is sent again.', labelNames: ['group', 'topic'], registers: [registry] });
  const crashes = new Counter({ name: 'flts_bus_consumer_crashes_total', help: 'Crashes of a subscription\'s consumer, by consumer group and error code.', labelNames: ['group', 'code'], registers: [registry] });
  const restarts = new Counter({ name: 'flts_bus_consumer_restarts_total', help: 'Consumers the bus ran afresh in place of a crashed one that was not restarted otherwise, by consumer group.', labelNames: ['group'], registers: [registry] });
  const crashing = new Gauge({ name: 'flts_bus_consumer_crashing', help: '1 while a subscription\'s consumer is in a crash episode (from its first crash until it is back in its group), by consumer group.', labelNames: ['group'], registers: [registry] });
  const lost = new Counter({ name: 'flts_bus_messages_lost_to_retention_total', help: 'Messages the file bus\'s retention (bus.fs.retentionHours, bus.fs.retentionBytes) removed before the consumer group consumed them, by group and topic: the group resumed at the first offset left, as a Kafka consumer whose offset fell out of range resets to the earliest.', labelNames: ['group', 'topic'], registers: [registry] });
  const connectionFailures = new Counter({ name: 'flts_bus_connection_failures_total', help: 'Failed or timed-out connection attempts to a Kafka broker, by broker: host:port as the client connects, a bootstrap address (KAFKA_BOOTSTRAP_SERVERS) or one the brokers advertise, so as many series as the cluster has addresses; never credentials.', labelNames: ['broker'], registers: [registry] });
  return {
    subscribed(group, topics) {
      for (const topic of topics) {
        for (const outcome of DELIVERY_OUTCOMES) messages.inc({ group, topic, outcome }, 0);
        retries.inc({ group, topic }, 0);
        refusals.inc({ group, topic }, 0);
        lost.inc({ group, topic }, 0);
      }
      restarts.inc({ group }, 0);
      crashing.set({ group }, 0);
    },
    delivered: (group, topic, outcome) => messages.inc({ group, topic, outcome }),
    retried: (group, topic) => retries.inc({ group, topic }),
    deadLetterRefused: (group, topic) => refusals.inc({ group, topic }),
    consumerCrashed: (group, code) => crashes.inc({ group, code }),
    consumerRestarted: (group) => restarts.inc({ group }),
    crashing: (group, active) => crashing.set({ group }, active ? 1 : 0),
    // kafkajs names a broker host:port as it split the bootstrap entry; a user:password@ written there is masked all the same.
    connectionFailed: (broker) => connectionFailures.inc({ broker: redactSecrets(broker) }),
    lostToRetention: (group, topic, count) => lost.inc({ group, topic }, count),
  };
}
