import { DISTRIBUTED_SPECS } from '../config/specs/distributed.js';
import { FltsError, isFltsError } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { isTlsRefusal } from '../tls-files.js';
import type { ListenerMismatch } from './kafka-listener-watch.js';

/** Broker answers that a login was refused or is impossible on that listener. */
const SASL_TYPES = new Set(['SASL_AUTHENTICATION_FAILED', 'UNSUPPORTED_SASL_MECHANISM']);

/** What the connections of a bus showed beside the error kafkajs reports. */
export interface ConnectionEvidence {
  /** A listener of another protocol: definite (FLTS_BUS_PROTOCOL_MISMATCH) or suspected (said with an outage). */
  listener?: ListenerMismatch;
  /** The certificate refusal that stopped the bus's connections. */
  tlsRefusal?: Error;
  /** Why each bootstrap address set aside is unusable (kafka-connections.ts), said with the failure. */
  setAside?: readonly string[];
  /** The message a publish sent, named when the broker refuses it as too large. */
  sent?: SentMessage;
  /** bus.kafka.sasl.mechanism as set, named when the listener does not enable it. */
  saslMechanism?: string;
  /** Advertised addresses (not bootstrap ones) whose connections failed (kafka-connections.ts), named with an outage. */
  advertisedAway?: readonly string[];
  /** bus.kafka.ssl.caFile as set ('' or undefined: Node's public CAs), named when the broker's certificate does not chain to it. */
  caFile?: string;
}

/** Node's codes for a certificate that does not chain to a CA the client trusts. */
const UNTRUSTED_CODES = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED']);

/**
 * Node's text of a refused certificate, less its advice to run Node with --use-system-ca (flts trusts a CA by
 * FLTS_KAFKA_SSL_CA_FILE), and for an untrusted one the CAs it was checked against.
 */
function tlsRefusalText(code: string, message: string | undefined, caFile: string | undefined): string {
  const text = (message ?? '').replace(/; if the root CA is installed locally, try running Node\.js with --use-system-ca$/, '');
  if (!UNTRUSTED_CODES.has(code)) return text;
  const trusted = caFile ? `the CA certificates of FLTS_KAFKA_SSL_CA_FILE (${caFile})` : "Node's public CAs and NODE_EXTRA_CA_CERTS (FLTS_KAFKA_SSL_CA_FILE is not set)";
  return `${text}: the broker's certificate does not chain to ${trusted}`;
}

interface KafkaErrorLike {
  name?: string;
  message?: string;
  type?: string;
  /** Node's error code (ECONNREFUSED, a certificate's), or a number: a broker's error code (KafkaJSProtocolError). */
  code?: string | number;
  cause?: unknown;
  errors?: unknown[];
}

/** What the user needs granted, by the broker's denial: said with the error, as the operation was refused. */
const ACL_NEEDED: Readonly<Record<string, string>> = {
  TOPIC_AUTHORIZATION_FAILED: 'the user needs Describe and Create on the topics (or them created beforehand), Read and Write on them',
  GROUP_AUTHORIZATION_FAILED: 'the user needs Read on the consumer group',
  CLUSTER_AUTHORIZATION_FAILED: 'the user needs a permission on the cluster itself for this request',
};

/** A setting as the user sets it: its environment name (its spec's first, the one the docs and the chart use) and path. */
export function settingNamed(path: string): string {
  const env = DISTRIBUTED_SPECS.find((spec) => spec.path === path)?.env?.[0];
  return env ? `${env} (setting ${path})` : path;
}

/** The bound a one-shot command has on reaching the brokers (flts preprocess, train, predict, promote, replay-offsets). */
export const COMMAND_CONNECT_PATH = 'bus.kafka.commandConnectTimeoutMs';

/**
 * How a one-shot command's wait for the brokers ended at its bound, in the words every command uses: `not connected`
 * when no bootstrap broker answered the connect, `no answer` when the first call after it (to the addresses the
 * cluster advertises) got none.
 */
export function commandConnectWait(limitMs: number, ended: 'not connected' | 'no answer'): string {
  return `${ended} within ${limitMs} ms, the wait ${settingNamed(COMMAND_CONNECT_PATH)} allows a command, retries included`;
}

const REPLICATION = settingNamed('bus.replicationFactor');
const PARTITIONS = settingNamed('bus.partitions');

/**
 * Refusals of a topic creation that answer the topic as asked (its replication factor, partitions, name), by the
 * broker's error: the setting that decides it and what to change. The broker refuses the same request every time, so
 * these are settings to fix, never outages to wait for (a daemon's startup would retry them forever). Refusals of
 * the moment (NOT_CONTROLLER, REQUEST_TIMED_OUT, a broker away) are not here: retried as the outages they are.
 */
const TOPIC_SETTING_REFUSALS: Readonly<Record<string, { setting: string; fix: string }>> = {
  INVALID_REPLICATION_FACTOR: { setting: 'bus.replicationFactor', fix: `set ${REPLICATION} to at most the number of brokers, or -1 for the brokers' default.replication.factor` },
  INVALID_REPLICA_ASSIGNMENT: { setting: 'bus.replicationFactor', fix: `set ${REPLICATION} to at most the number of brokers, or -1 for the brokers' default.replication.factor` },
  INVALID_PARTITIONS: { setting: 'bus.partitions', fix: `set ${PARTITIONS} to a count the brokers accept` },
  INVALID_CONFIG: { setting: 'bus.replicationFactor', fix: `set ${REPLICATION} and ${PARTITIONS} to what the brokers' topic settings named in the reason allow, or create the topics beforehand` },
  POLICY_VIOLATION: { setting: 'bus.replicationFactor', fix: `the brokers' topic creation policy (create.topic.policy.class.name) refuses them: set ${REPLICATION} and ${PARTITIONS} to what it allows, or create the topics beforehand` },
  INVALID_TOPIC_EXCEPTION: { setting: 'bus.topics.*', fix: 'name a valid topic (at most 249 letters, digits, ".", "_" and "-") in the bus.topics.* or bus.dlq.* setting that gives it (docs/config.md)' },
};

/**
 * Broker answers refusing a produce as larger than the topic's max.message.bytes (or the broker's message.max.bytes):
 * the same message is refused every time, so it is never an outage.
 */
const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** A message a publish sent, as a refusal of it names it. */
export interface SentMessage {
  topic: string;
  /** Its key, value and headers, in bytes: what the broker weighs, but for the batch's own overhead (about 70 bytes). */
  bytes: number;
}

/** Node's codes for a TLS handshake answered by something that is not TLS (a plain listener that wrote back). */
const NOT_TLS_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST']);

/** The name of the error of a connect that a one-shot command gave up on (connectGivenUp). */
const CONNECT_GIVEN_UP = 'FltsKafkaConnectGivenUp';

/** Failures of a connection itself, as opposed to a broker's coded answer. */
const CONNECTION_ERRORS = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', CONNECT_GIVEN_UP]);

/**
 * A connect that a one-shot command stopped waiting for (bus.kafka.commandConnectTimeoutMs) while kafkajs still retried
 * it: a failure of the connection as kafkajs' own are, so kafkaFailure names a listener suspected of another protocol
 * with it as with theirs.
 */
export function connectGivenUp(reason: string): Error {
  return Object.assign(new Error(reason), { name: CONNECT_GIVEN_UP });
}

/**
 * The one account of a wait for the bootstrap brokers that ended with none of them answering, however it ended (a
 * command's bus.kafka.commandConnectTimeoutMs, a service's bound, kafkajs' own retries given up, replay-offsets'
 * shorter retries): `wait` says how long and whether the caller goes on, then the bootstrap list is named (an entry's
 * user:password@ masked) with what to check, then the latest connection error. A connection failure as
 * connectGivenUp's, so kafkaFailure codes it FLTS_BUS_UNAVAILABLE and adds what the connections suspected.
 */
export function bootstrapUnanswered(brokers: readonly string[], wait: string, latest?: string): Error {
  const shown = brokers.map(redactSecrets);
  const which = shown.length > 1 ? `the bootstrap brokers (${shown.join(', ')})` : `the bootstrap broker (${shown[0]})`;
  return connectGivenUp(`${wait}: ${which} refused the connection or did not answer; KAFKA_BOOTSTRAP_SERVERS must name brokers this host can reach (a listener's host and port, up, with no firewall between)${latest ? `; latest error: ${redactSecrets(latest)}` : ''}`);
}

/** kafkajs' text for the broker's error code 30, GROUP_AUTHORIZATION_FAILED. */
const GROUP_DENIED_TEXT = 'Group authorization failed';

/** The error and every error it wraps (kafkajs nests causes in retry and bail errors, and lists per-topic errors). */
function chain(error: unknown): KafkaErrorLike[] {
  const seen: KafkaErrorLike[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.length < 20) {
    const next = queue.shift();
    if (next === null || typeof next !== 'object' || seen.includes(next as KafkaErrorLike)) continue;
    const found = next as KafkaErrorLike;
    seen.push(found);
    queue.push(found.cause, ...(Array.isArray(found.errors) ? found.errors : []));
  }
  return seen;
}

/** A topic the broker refused to create, and why (kafkajs lists one KafkaJSCreateTopicError per topic). */
export interface TopicRefusal {
  topic: string;
  /** The broker's error code as kafkajs names it (TOPIC_ALREADY_EXISTS, INVALID_REPLICATION_FACTOR, ...). */
  type: string;
  reason: string;
  /**
   * A refusal of the moment (NOT_CONTROLLER while the controller moves, REQUEST_TIMED_OUT, a leader not yet elected):
   * the broker's code is one Kafka calls retriable. Asked again shortly, the broker may well create the topic.
   */
  temporary: boolean;
}

/** The per-topic refusals of a failed createTopics; none when the failure is not the broker's answer (an outage). */
export function topicRefusals(error: unknown): TopicRefusal[] {
  const errors = (error as KafkaErrorLike | undefined)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.map((e) => {
    const refusal = e as KafkaErrorLike & { topic?: string; retriable?: boolean };
    const type = String(refusal.type);
    const temporary = refusal.retriable === true && TOPIC_SETTING_REFUSALS[type] === undefined && !type.endsWith('_AUTHORIZATION_FAILED');
    return { topic: String(refusal.topic), type, reason: String(refusal.message), temporary };
  });
}

/**
 * What `ensureTopics` throws for a creation the broker refused (TOPIC_ALREADY_EXISTS left out): its own sentence
 * naming each topic and why, the broker's answer as the cause, and retriable only when every refusal is of the moment
 * (TopicRefusal.temporary), so the bus asks again within its retries. One refusal for what was asked makes the whole
 * answer final: kafkaFailure codes it FLTS_BUS_TOPIC_REFUSED, and asking again would only be refused again.
 */
export function topicCreationRefused(refused: readonly TopicRefusal[], cause: unknown): Error & { retriable: boolean } {
  const error = new Error(`the broker refused to create ${refused.map(({ topic, type, reason }) => `${topic} (${type}: ${reason})`).join(', ')}`, { cause });
  return Object.assign(error, { retriable: refused.length > 0 && refused.every((refusal) => refusal.temporary) });
}

/**
 * A kafkajs failure as a coded error. A refused login (FLTS_BUS_AUTH_FAILED), a refused permission
 * (FLTS_BUS_ACCESS_DENIED), a refused certificate (FLTS_BUS_TLS_FAILED) and a listener that certainly speaks another
 * protocol (FLTS_BUS_PROTOCOL_MISMATCH, from `evidence.listener`) and a topic creation refused for what was asked
 * (FLTS_BUS_TOPIC_REFUSED: a replication factor above the brokers, partitions or a policy) are settings to fix, and a
 * message the broker refuses as too large (FLTS_BUS_MESSAGE_TOO_LARGE, `evidence.sent` naming it) one to change, not
 * outages: they are not retriable, so a command fails at once and the daemon's startup stops instead of waiting
 * forever. Anything else is FLTS_BUS_UNAVAILABLE (retriable), saying when connections were closed as a listener of
 * another protocol would close them. `evidence`: what the bus's connections showed (kafka-connections.ts), the
 * bootstrap addresses set aside named with any of these.
 */
export function kafkaFailure(action: string, brokers: string[], error: unknown, evidence: ConnectionEvidence = {}): FltsError {
  if (isFltsError(error)) return error;
  const { listener, tlsRefusal, setAside = [] } = evidence;
  // A refused certificate that stopped the bus (kafka-connections.ts) ends kafkajs' retries with "brokers array is
  // empty", which no longer names it.
  const errors = [...chain(error), ...chain(tlsRefusal)];
  // A bootstrap entry written as user:password@host:port (no Kafka client reads one so) names no password here.
  const shown = brokers.map(redactSecrets);
  const where = `Kafka ${action} failed (brokers ${shown.join(',')})`;
  const aside = setAside.length > 0 ? `; set aside: ${setAside.join('; ')}` : '';
  const details = { brokers: shown, kafkaError: (error as Error)?.name };
  if (listener?.definite) return new FltsError('FLTS_BUS_PROTOCOL_MISMATCH', `${where}: ${listener.message}${aside}`, { cause: error, details: { ...details, listener: listener.kind, broker: listener.broker } });
  const notTls = errors.find((e) => typeof e.code === 'string' && NOT_TLS_CODES.has(e.code));
  if (notTls) return new FltsError('FLTS_BUS_PROTOCOL_MISMATCH', `${where}: the broker's answer to the TLS handshake is not TLS (${notTls.code}): its listener expects PLAINTEXT or SASL_PLAINTEXT, but FLTS_KAFKA_SECURITY_PROTOCOL is SSL or SASL_SSL${aside}`, { cause: error, details: { ...details, tlsCode: notTls.code } });
  // A listener without SASL answers the handshake so (its state never allows one); a SASL listener answers it with the mechanisms.
  const noSasl = errors.find((e) => e.type === 'ILLEGAL_SASL_STATE');
  if (noSasl) return new FltsError('FLTS_BUS_PROTOCOL_MISMATCH', `${where}: the broker answered the SASL handshake with ILLEGAL_SASL_STATE (${noSasl.message}): its listener expects no SASL login (PLAINTEXT or SSL), but FLTS_KAFKA_SECURITY_PROTOCOL is SASL_PLAINTEXT or SASL_SSL`, { cause: error, details: { ...details, kafkaErrorType: noSasl.type } });
  // kafkajs drops the mechanisms the listener enables from its handshake answer: the setting is what can be named.
  const unsupported = errors.find((e) => e.type === 'UNSUPPORTED_SASL_MECHANISM');
  if (unsupported) {
    const mechanism = evidence.saslMechanism ? `${evidence.saslMechanism} ` : '';
    return new FltsError('FLTS_BUS_AUTH_FAILED', `${where}: the broker's listener does not enable the SASL mechanism ${mechanism}(UNSUPPORTED_SASL_MECHANISM): set FLTS_KAFKA_SASL_MECHANISM to one of its sasl.enabled.mechanisms, or use the listener that enables it`, { cause: error, details: { ...details, kafkaErrorType: unsupported.type } });
  }
  const login = errors.find((e) => e.name === 'KafkaJSSASLAuthenticationError' || SASL_TYPES.has(e.type ?? ''));
  if (login) return new FltsError('FLTS_BUS_AUTH_FAILED', `${where}: the broker refused the SASL login: ${login.message}`, { cause: error, details });
  const denied = errors.find((e) => e.type?.endsWith('_AUTHORIZATION_FAILED'));
  if (denied) {
    const needed = ACL_NEEDED[denied.type!] ? `; ${ACL_NEEDED[denied.type!]}` : '';
    return new FltsError('FLTS_BUS_ACCESS_DENIED', `${where}: the broker denied it (${denied.type}): ${denied.message}${needed}`, { cause: error, details: { ...details, kafkaErrorType: denied.type } });
  }
  const settingRefusals = errors.filter((e): e is KafkaErrorLike & { topic: string } => e.name === 'KafkaJSCreateTopicError' && TOPIC_SETTING_REFUSALS[e.type ?? ''] !== undefined);
  if (settingRefusals.length > 0) {
    const answers = settingRefusals.map((e) => TOPIC_SETTING_REFUSALS[e.type!]);
    const fix = [...new Set(answers.map((answer) => answer.fix))].join('; ');
    const { setting } = answers[0];
    const refused = settingRefusals.map((e) => `${e.topic} (${e.type}: ${e.message})`).join(', ');
    const topics = settingRefusals.map((e) => e.topic);
    return new FltsError('FLTS_BUS_TOPIC_REFUSED', `${where}: the broker refused to create ${refused}, and will refuse it again: ${fix}`, { cause: error, details: { ...details, setting, topics, kafkaErrorType: settingRefusals[0].type } });
  }
  const tooLarge = errors.find((e) => TOO_LARGE_TYPES.has(e.type ?? ''));
  if (tooLarge) {
    const { sent } = evidence;
    const what = sent ? `the message of ${sent.bytes} bytes to ${sent.topic}` : 'the message';
    const limit = sent ? `topic ${sent.topic}'s max.message.bytes` : "the topic's max.message.bytes";
    return new FltsError('FLTS_BUS_MESSAGE_TOO_LARGE', `${where}: the broker refused ${what} as too large (${tooLarge.type}: ${tooLarge.message}); it will refuse it every time: raise ${limit}, or send less`, { cause: error, details: { ...details, kafkaErrorType: tooLarge.type, ...(sent ? { topic: sent.topic, messageBytes: sent.bytes } : {}) } });
  }
  const tls = errors.find((e) => typeof e.code === 'string' && isTlsRefusal(e.code));
  if (tls) return new FltsError('FLTS_BUS_TLS_FAILED', `${where}: TLS with the broker failed (${tls.code}): ${tlsRefusalText(String(tls.code), tls.message, evidence.caFile)}${aside}`, { cause: error, details: { ...details, tlsCode: tls.code } });
  const reason = error instanceof Error ? error.message : String(error);
  const closedEarly = listener && errors.some((e) => CONNECTION_ERRORS.has(e.name ?? '')) ? `; ${listener.message}` : '';
  const advertised = evidence.advertisedAway ?? [];
  const plural = advertised.length > 1 ? 'es' : '';
  const elsewhere = advertised.length > 0 ? `; the brokers answered at their bootstrap address, but not at the address${plural} they advertise for the cluster (${advertised.join(', ')}): their advertised.listeners must name addresses this host can reach` : '';
  return new FltsError('FLTS_BUS_UNAVAILABLE', `${where}: ${reason}${closedEarly}${elsewhere}${aside}`, { cause: error, details: advertised.length > 0 ? { ...details, advertised: [...advertised] } : details });
}

/**
 * A broker's answer, as kafkajs logs it, that refused a group coordinator lookup (FindCoordinator needs Describe on
 * the group). kafkajs drops that answer (BrokerPool.withBroker swallows each broker's error and tries the next) and
 * crashes the consumer with "Failed to find group coordinator", which reads like an outage: its connection's log
 * line is the one place the denial shows.
 */
export function isGroupLookupDenial(message: string, error: unknown): boolean {
  return message.startsWith('Response GroupCoordinator') && typeof error === 'string' && error.includes(GROUP_DENIED_TEXT);
}

/**
 * A consumer's crash after its group's coordinator lookup was refused (isGroupLookupDenial) as the denial it is; any
 * other error as it is.
 */
export function groupLookupDenied(action: string, brokers: string[], group: string, error: unknown): unknown {
  if (!chain(error).some((e) => e.name === 'KafkaJSGroupCoordinatorNotFound')) return error;
  const shown = brokers.map(redactSecrets);
  const message = `Kafka ${action} failed (brokers ${shown.join(',')}): the broker denied looking up the coordinator of group ${group} (GROUP_AUTHORIZATION_FAILED); ${ACL_NEEDED.GROUP_AUTHORIZATION_FAILED}`;
  return new FltsError('FLTS_BUS_ACCESS_DENIED', message, { cause: error, details: { brokers: shown, group, kafkaErrorType: 'GROUP_AUTHORIZATION_FAILED' } });
}
