import type { Settings } from '../config/settings.js';
import type { MessageBus } from './message-bus.js';

/**
 * How a service that must say why it waits for the brokers reaches them, `flts daemon` before its roles start and
 * `flts serve`'s promotion follower before it subscribes: its topics are ensured, the wait for the cluster's first
 * answer ending after bus.kafka.commandConnectTimeoutMs with FLTS_BUS_UNAVAILABLE (retriable), counted from before the
 * connect: Kafka's bootstrap brokers, which kafkajs retries for about 25 s when they refuse or do not answer (named as
 * such), then the addresses they advertise, which it retries for minutes (details.advertised naming what did not
 * answer). The caller says why and tries again; the connect or request goes on, and the next attempt waits for that
 * same one.
 * The calls after it find the cluster answered and its topics known, so nothing else needs a bound of its own. The
 * file bus has no brokers to wait for.
 */
export function ensureTopicsWithinReach(bus: MessageBus, settings: Settings, topics: string[]): Promise<void> {
  return bus.ensureTopics(topics, undefined, bus.kind === 'kafka' ? { reachWithinMs: settings.bus.kafka.commandConnectTimeoutMs } : undefined);
}
