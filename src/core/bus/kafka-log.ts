import type { logCreator } from 'kafkajs';
import type { Logger } from '../logger.js';
import { BUS_CLOSED_REASON } from './kafka-connections.js';
import { isGroupLookupDenial } from './kafka-failure.js';
import { kafkajs } from './kafkajs-module.js';
import { lazyRequire } from '../lazy-require.js';
import { snakeCaseKeys } from '../snake-case-keys.js';

/** One row of kafkajs' table of Kafka's error codes: the text it gives an error answer, and whether it retries it. */
interface KafkaErrorCode {
  type: string;
  message: string;
  retriable: boolean;
}

/** kafkajs 2.2.4's own table (protocol/error.js), which its public API does not export: the one list of what it retries. */
const kafkajsErrorCodes = lazyRequire<{ errorCodes: KafkaErrorCode[] }>('kafkajs/src/protocol/error');
let retriedAnswers: Set<string> | undefined;

/** An error answer kafkajs retries by itself (a coordinator or leader not there yet): its caller fails coded if the retries run out. */
function retriedAnswer(error: unknown): boolean {
  // A kafkajs without that file (a later release) leaves every error answer a warning, as before.
  retriedAnswers ??= new Set(retriableMessages());
  return typeof error === 'string' && retriedAnswers.has(error);
}

let tooLargeTexts: Set<string> | undefined;

/**
 * kafkajs' text of a produce refused as too large (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE): the broker's answer and
 * the producer's error say it, and the publish throws it, which kafkaFailure codes FLTS_BUS_MESSAGE_TOO_LARGE naming
 * the topic and the size.
 */
function tooLargeText(text: unknown): boolean {
  tooLargeTexts ??= new Set(errorTexts((entry) => entry.type === 'MESSAGE_TOO_LARGE' || entry.type === 'RECORD_LIST_TOO_LARGE'));
  return typeof text === 'string' && tooLargeTexts.has(text);
}

let rebalancingTexts: Set<string> | undefined;

/**
 * kafkajs' text of REBALANCE_IN_PROGRESS, the answer to a member's heartbeat, sync or commit while its group
 * rebalances: a replica joining or leaving, a daemon restarted. kafkajs rejoins by itself (its Runner says so,
 * REJOINING), and a commit refused meanwhile is made at the next join (bus_commit_deferred): two warnings per member
 * and group at every scale-up or rollout, in a pipeline that was working as it should.
 */
function rebalancingText(text: unknown): boolean {
  rebalancingTexts ??= new Set(errorTexts((entry) => entry.type === 'REBALANCE_IN_PROGRESS'));
  return typeof text === 'string' && rebalancingTexts.has(text);
}

/** kafkajs' Runner line as it rejoins a group that rebalances (runner.js), which says nothing a rebalance does not. */
const REJOINING = 'The group is rebalancing, re-joining';

let unsupportedMechanismTexts: Set<string> | undefined;

/**
 * kafkajs' text of a SASL handshake answered UNSUPPORTED_SASL_MECHANISM, which its seed loop logs as it is, without
 * the "SASL " of the authenticator's own refusals.
 */
function unsupportedMechanismText(text: string): boolean {
  unsupportedMechanismTexts ??= new Set(errorTexts((entry) => entry.type === 'UNSUPPORTED_SASL_MECHANISM'));
  return unsupportedMechanismTexts.has(text);
}

function errorTexts(which: (entry: KafkaErrorCode) => boolean): string[] {
  try {
    return kafkajsErrorCodes().errorCodes.filter(which).map((entry) => entry.message);
  } catch {
    return [];
  }
}

function retriableMessages(): string[] {
  return errorTexts((entry) => entry.retriable);
}

/**
 * How often a broker that stays away is logged again, with how many attempts failed meanwhile: as often as a consumer
 * that keeps crashing through the same outage (consumer-recovery.ts).
 */
const REPEAT_EVERY_MS = 300_000;
/** kafkajs' line when its connect moves to the next bootstrap broker (BrokerPool.connect): it names none. */
const SEED_FAILURE = 'Failed to connect to seed broker';
/** kafkajs' line of a broker's error answer to creating topics, whatever the reason (one error answer lists them per topic). */
const TOPIC_CREATION_ANSWER = 'Response CreateTopics';
/** kafkajs' lines of a broker's answer to a SASL handshake or login: an error in it is thrown to the caller as well. */
const SASL_ANSWERS = ['Response SaslHandshake', 'Response SaslAuthenticate'];
/** The start of every KafkaJSSASLAuthenticationError's message (kafkajs' broker/saslAuthenticator). */
const SASL_FAILURE = 'SASL ';
/** The distinct errors one outage keeps for its last line: the text of an error can vary (ports, addresses). */
const ERRORS_KEPT = 5;

/**
 * kafkajs' lines on a consumer's crash and its restart (onCrash in kafkajs' consumer/index.js), which come with its
 * CRASH event: the bus reports each crash from that event, coded, once per episode (consumer-recovery.ts).
 */
function consumerCrashLine(namespace: string, message: string): boolean {
  return namespace === 'Consumer' && (message.startsWith('Crash: ') || message.startsWith('Restarting the consumer in '));
}

/**
 * kafkajs' lines on a refused SASL login or handshake: the broker's answer (Connection), the authenticator's error
 * (SaslAuthenticator-<mechanism>) and the seed loop's repeat of it (BrokerPool). The same failure is thrown to the
 * caller, which kafkaFailure codes (FLTS_BUS_AUTH_FAILED, or FLTS_BUS_PROTOCOL_MISMATCH for a listener without
 * SASL) and flts reports once, with its hint: three raw lines around it told the operator nothing more.
 */
function saslRefusalLine(namespace: string, message: string): boolean {
  if (namespace.startsWith('SaslAuthenticator-')) return true;
  if (namespace === 'BrokerPool') return message.startsWith(SASL_FAILURE) || unsupportedMechanismText(message);
  return namespace === 'Connection' && SASL_ANSWERS.some((answer) => message.startsWith(answer));
}

export interface KafkaLogOptions {
  /** Hears of a coordinator lookup the broker's ACLs refused, which kafkajs reports only in its log (see isGroupLookupDenial). */
  onGroupLookupDenied?: () => void;
  /**
   * Hears of each failed connection attempt to a named broker (host:port), logged or not. kafkajs' seed loop repeats a
   * seed broker's failure without naming it: that line is not counted again.
   */
  onConnectionFailed?: (broker: string) => void;
  /**
   * A broker (host:port) whose failure the bus reports itself, coded (a bootstrap address set aside for a refused
   * certificate or a listener of another protocol, kafka-connections.ts): its outage is kept, told at debug.
   */
  reportedElsewhere?: (broker: string) => boolean;
  /**
   * A broker (host:port) the brokers' metadata named, none of the bootstrap list: its outage's lines say
   * `advertised: true`, since the address to check is then the brokers' advertised.listeners, not KAFKA_BOOTSTRAP_SERVERS.
   */
  advertised?: (broker: string) => boolean;
  /** The clock of the repeat window. */
  now?: () => number;
  repeatEveryMs?: number;
}

export interface KafkaLog {
  /** For `new Kafka({ logCreator })`. */
  logCreator: logCreator;
  /** A connection to `broker` (host:port) was answered: ends its outage, if it had one, with a line saying so. */
  answered(broker: string): void;
  /** The error of the latest failed connection attempt, if any failed: what a connect given up on names. */
  latestFailure(): string | undefined;
}

/** One broker away, from its first failed connection attempt until it answers again. */
interface Outage {
  /** '' for the seed broker kafkajs does not name. */
  broker: string;
  since: number;
  loggedAt: number;
  /** Failures since the line logged last. */
  unlogged: number;
  failures: number;
  /** The distinct errors (at most ERRORS_KEPT), the latest last. */
  errors: string[];
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
 * well, which retries it or fails coded: one kafkajs retries by itself (a coordinator or leader still being elected,
 * as on every fresh cluster: "The group coordinator is not available") goes to debug, and so does the answer to a
 * topic creation, which says only "Topic creation errors": the bus judges the answer per topic (kafka-bus.ts'
 * ensureTopics), a topic another process created first being no failure and any other refusal a warning that names
 * the topic and the reason. Any other error answer (a denial) is a warning, not an error. The bus ending its own
 * connections when it closes is no failure at all: debug. A refused SASL login goes to debug too, each of its three
 * lines (see saslRefusalLine): flts reports it coded, with what to check; so do the two lines of a message refused as
 * too large (see tooLargeText), and so do the two of a member answered that its group rebalances (see rebalancingText).
 *
 * A broker away is tried again about once a second (kafkajs' retry wait is capped at 1 s, see kafkajsRetries in
 * kafka-bus.ts), and each attempt logs its connection error, then kafkajs' seed loop the same error again ("Failed
 * to connect to seed broker, trying another broker from the list"). Logged every 30 s that was still four lines a
 * minute per client for as long as the outage lasted, beside the bus's own coded line of each consumer's crash. Each
 * outage of a broker is told as one episode instead: `bus_kafka_connection_lost` at its first failure, with the
 * error; `bus_kafka_connection_still_failing` at most once per `repeatEveryMs`, with how many attempts failed since
 * and the latest error; `bus_kafka_connection_restored` at the first answer from that broker afterwards, with the
 * count, how long it lasted and its errors. Every attempt, and every seed loop line of a broker already away, goes to
 * debug. A seed loop line alone (an attempt that failed before a connection could log it, as a SASL handshake in the
 * wrong state) opens an outage of the seed broker, which any broker's answer ends. A consumer's crash and restart
 * lines go to debug: during an outage each consumer crashed every ~25 s, three lines each time, and the bus logs the
 * crash itself (see consumerCrashLine). Any other error is logged at once, each time.
 */
export function createKafkaLog(logger: Logger, options: KafkaLogOptions = {}): KafkaLog {
  const { onGroupLookupDenied = () => {}, onConnectionFailed = () => {}, reportedElsewhere = () => false, advertised = () => false, now = Date.now, repeatEveryMs = REPEAT_EVERY_MS } = options;
  /** By broker: a broker fails in one way or another until it answers. */
  const away = new Map<string, Outage>();
  let latestFailure: string | undefined;

  function connectionFailed(broker: string, message: string, fields: object): void {
    if (broker !== '') onConnectionFailed(broker);
    const entry = broker !== '' && advertised(broker) ? { ...fields, advertised: true } : fields;
    // The seed loop's line only repeats the connection's, behind its own words.
    if (broker !== '' || latestFailure === undefined) latestFailure = message;
    // kafkajs' seed loop repeats the failure its connection just logged, naming no broker.
    const told = broker === '' && [...away.keys()].some((named) => named !== '');
    const outage = away.get(broker);
    if (told || outage) logger.debug(entry, message);
    if (told) return;
    const at = now();
    if (!outage) {
      away.set(broker, { broker, since: at, loggedAt: at, unlogged: 0, failures: 1, errors: [message] });
      // Kept as an outage all the same, so the seed loop's repeat of it is told as one too.
      logger[broker !== '' && reportedElsewhere(broker) ? 'debug' : 'error']({ ...entry, error: message }, 'bus_kafka_connection_lost');
      return;
    }
    outage.failures += 1;
    outage.unlogged += 1;
    outage.errors = [...outage.errors.filter((error) => error !== message), message].slice(-ERRORS_KEPT);
    if (at - outage.loggedAt < repeatEveryMs) return;
    logger.error({ ...entry, error: message, failures: outage.unlogged, since_ms: at - outage.since }, 'bus_kafka_connection_still_failing');
    outage.loggedAt = at;
    outage.unlogged = 0;
  }

  function answered(broker: string): void {
    // The seed broker's outage ends with any seed answering.
    const ended = [away.get(broker), broker === '' ? undefined : away.get('')].filter((outage) => outage !== undefined);
    if (ended.length === 0) return;
    for (const outage of ended) away.delete(outage.broker);
    const failures = ended.reduce((sum, outage) => sum + outage.failures, 0);
    const outageMs = now() - Math.min(...ended.map((outage) => outage.since));
    logger.info({ kafka: 'Connection', broker, failures, outage_ms: outageMs, errors: [...new Set(ended.flatMap((outage) => outage.errors))] }, 'bus_kafka_connection_restored');
  }

  const logCreator: logCreator = () => {
    const { logLevel: KafkaLogLevel } = kafkajs();
    return ({ namespace, level, log }) => {
      const { message, stack: _stack, ...fields } = log as typeof log & { stack?: unknown };
      // kafkajs' own fields (clientId, retryCount) in flts's field style, so a log query spells each one way.
      const entry = { kafka: namespace, ...(snakeCaseKeys(fields) as object) };
      const brokerAnswer = namespace === 'Connection' && message.startsWith('Response ');
      if (brokerAnswer && isGroupLookupDenial(message, fields.error)) onGroupLookupDenied();
      const failed = level === KafkaLogLevel.ERROR ? failedConnection(namespace, message, fields.broker) : undefined;
      const refusedAsTooLarge = (brokerAnswer && tooLargeText(fields.error)) || (namespace === 'Producer' && tooLargeText(message));
      const rebalancing = (brokerAnswer && rebalancingText(fields.error)) || (namespace === 'Runner' && message === REJOINING);
      if (message.includes(BUS_CLOSED_REASON) || consumerCrashLine(namespace, message) || saslRefusalLine(namespace, message) || refusedAsTooLarge || rebalancing) logger.debug(entry, message);
      else if (failed !== undefined) connectionFailed(failed, message, entry);
      else if (level === KafkaLogLevel.ERROR && !brokerAnswer) logger.error(entry, message);
      else if (brokerAnswer && (retriedAnswer(fields.error) || message.startsWith(TOPIC_CREATION_ANSWER))) logger.debug(entry, message);
      else if (level === KafkaLogLevel.ERROR || level === KafkaLogLevel.WARN) logger.warn(entry, message);
      else logger.debug(entry, message);
    };
  };
  return { logCreator, answered, latestFailure: () => latestFailure };
}
