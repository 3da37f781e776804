import type { logCreator } from 'kafkajs';
import type { Logger } from '../logger.js';
import { BUS_CLOSED_REASON } from './kafka-connections.js';
import { isGroupLookupDenial } from './kafka-failure.js';
import { kafkajs } from './kafkajs-module.js';

/** How often a connection error that keeps coming back is logged again, with how often it came meanwhile. */
const REPEAT_EVERY_MS = 30_000;
/** kafkajs' line when its connect moves to the next bootstrap broker (BrokerPool.connect): it names none. */
const SEED_FAILURE = 'Failed to connect to seed broker';

/**
 * kafkajs' lines on a consumer's crash and its restart (onCrash in kafkajs' consumer/index.js), which come with its
 * CRASH event: the bus reports each crash from that event, coded, once per episode (consumer-recovery.ts).
 */
function consumerCrashLine(namespace: string, message: string): boolean {
  return namespace === 'Consumer' && (message.startsWith('Crash: ') || message.startsWith('Restarting the consumer in '));
}

export interface KafkaLogOptions {
  /** Hears of a coordinator lookup the broker's ACLs refused, which kafkajs reports only in its log (see isGroupLookupDenial). */
  onGroupLookupDenied?: () => void;
  /**
   * Hears of each failed connection attempt to a named broker (host:port), logged or not. kafkajs' seed loop repeats a
   * seed broker's failure without naming it: that line is not counted again.
   */
  onConnectionFailed?: (broker: string) => void;
  /** The clock of the repeat window. */
  now?: () => number;
  repeatEveryMs?: number;
}

export interface KafkaLog {
  /** For `new Kafka({ logCreator })`. */
  logCreator: logCreator;
  /** A connection to `broker` (host:port) was answered: ends its outage, if it had one, with a line saying so. */
  answered(broker: string): void;
}

/** One connection error of one broker while it keeps failing. */
interface Repeats {
  broker: string;
  message: string;
  firstAt: number;
  loggedAt: number;
  /** Failures since the line logged last. */
  unlogged: number;
  total: number;
}

/** The broker a failed connection attempt is about ('' for the seed broker kafkajs does not name), or undefined for any other line. */
function failedConnection(namespace: string, message: string, broker: unknown): string | undefined {
  if (namespace === 'Connection' && (message.startsWith('Connection error') || message.startsWith('Connection timeout'))) return typeof broker === 'string' ? broker : '';
  if (namespace === 'BrokerPool' && message.startsWith(SEED_FAILURE)) return '';
  return undefined;
}

/**
 * kafkajs' own chatter goes to debug; its warnings and errors stay visible, without the stack it attaches to each
 * failed connection attempt: the reason is in the message, and flts reports the failure itself, coded. A broker's
 * error answer to one request ("Response GroupCoordinator", "Response CreateTopics") is thrown to its caller as
 * well, which retries it (a coordinator or leader still being elected, a topic another process created first) or
 * fails coded: a warning, not an error on every fresh start. The bus ending its own connections when it closes is
 * no failure at all: debug.
 *
 * A broker away is tried again about once a second (kafkajs' retry wait is capped at 1 s, see kafkajsRetries in
 * kafka-bus.ts), and each attempt logged its connection error: an outage of an hour filled the log with thousands of
 * the same line. The first failure of a broker is logged at once; the same failure again is logged at most once per
 * `repeatEveryMs`, saying how often it came since (the others go to debug); the first answer from that broker
 * afterwards logs `bus_kafka_connection_restored` with the count and how long it lasted. A consumer's crash and
 * restart lines go to debug: during an outage each consumer crashed every ~25 s, three lines each time, and the bus
 * logs the crash itself (see consumerCrashLine). Any other error is logged at once, each time.
 */
export function createKafkaLog(logger: Logger, options: KafkaLogOptions = {}): KafkaLog {
  const { onGroupLookupDenied = () => {}, onConnectionFailed = () => {}, now = Date.now, repeatEveryMs = REPEAT_EVERY_MS } = options;
  /** By broker and message: a broker failing in another way is logged at once. */
  const failing = new Map<string, Repeats>();

  function connectionFailed(broker: string, message: string, entry: object): void {
    if (broker !== '') onConnectionFailed(broker);
    const key = `${broker}\n${message}`;
    const at = now();
    const seen = failing.get(key);
    if (!seen) {
      failing.set(key, { broker, message, firstAt: at, loggedAt: at, unlogged: 0, total: 1 });
      logger.error(entry, message);
      return;
    }
    seen.total += 1;
    seen.unlogged += 1;
    if (at - seen.loggedAt < repeatEveryMs) {
      logger.debug(entry, message);
      return;
    }
    logger.error({ ...entry, repeated: seen.unlogged }, `${message} (repeated ${seen.unlogged} times in ${Math.round((at - seen.loggedAt) / 1000)} s)`);
    seen.loggedAt = at;
    seen.unlogged = 0;
  }

  function answered(broker: string): void {
    if (failing.size === 0) return;
    // The seed broker's failures end with any seed answering.
    const ended = [...failing].filter(([, repeats]) => repeats.broker === broker || repeats.broker === '');
    if (ended.length === 0) return;
    for (const [key] of ended) failing.delete(key);
    // Each failed seed connection is logged twice (by the connection, then by kafkajs' seed loop): counted once.
    const own = ended.filter(([, repeats]) => repeats.broker === broker);
    const failures = (own.length > 0 ? own : ended).reduce((sum, [, repeats]) => sum + repeats.total, 0);
    const outageMs = now() - Math.min(...ended.map(([, repeats]) => repeats.firstAt));
    logger.info({ kafka: 'Connection', broker, failures, outageMs, errors: [...new Set(ended.map(([, repeats]) => repeats.message))] }, 'bus_kafka_connection_restored');
  }

  const logCreator: logCreator = () => {
    const { logLevel: KafkaLogLevel } = kafkajs();
    return ({ namespace, level, log }) => {
      const { message, stack: _stack, ...fields } = log as typeof log & { stack?: unknown };
      const entry = { kafka: namespace, ...fields };
      const brokerAnswer = namespace === 'Connection' && message.startsWith('Response ');
      if (brokerAnswer && isGroupLookupDenial(message, fields.error)) onGroupLookupDenied();
      const failed = level === KafkaLogLevel.ERROR ? failedConnection(namespace, message, fields.broker) : undefined;
      if (message.includes(BUS_CLOSED_REASON) || consumerCrashLine(namespace, message)) logger.debug(entry, message);
      else if (failed !== undefined) connectionFailed(failed, message, entry);
      else if (level === KafkaLogLevel.ERROR && !brokerAnswer) logger.error(entry, message);
      else if (level === KafkaLogLevel.ERROR || level === KafkaLogLevel.WARN) logger.warn(entry, message);
      else logger.debug(entry, message);
    };
  };
  return { logCreator, answered };
}
