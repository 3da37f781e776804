import type { Admin, Consumer, IHeaders, KafkaMessage, Producer } from 'kafkajs';
import { FltsError, isServiceRefusal } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { maxTotalBackoffMs, msLeft, retryWithBackoff, sleep, withTimeout, type RetryPolicy as BackoffRetryPolicy } from '../retry.js';
import { redactSecrets } from '../redact.js';
import { BUS_CLOSE_END_MS } from '../stop-budget.js';
import { createConsumerRecovery, type ConsumerCrash } from './consumer-recovery.js';
import { DEFAULT_RETRY_POLICY, deliverToGroup } from './delivery.js';
import { kafkaClientConfig, kafkaSettingDefault, type KafkaConnectionOptions } from './kafka-client-config.js';
import { commandConnectWait, COMMAND_CONNECT_PATH, connectGivenUp, groupLookupDenied, settingNamed, topicCreationRefused, topicRefusals, type SentMessage } from './kafka-failure.js';
import { createKafkaLog } from './kafka-log.js';
import { kafkajs } from './kafkajs-module.js';
import { ignoreKafkajsNegativeTimeouts } from './kafkajs-warnings.js';
import type { BusCloseOptions, BusMetrics, DeliveryListener, EnsureTopicsOptions, MessageBus, MessageHandler, OutgoingMessage, PartitionLag, ReceivedMessage, RetryPolicy, SubscribeOptions, Subscription } from './message-bus.js';
import { createSubscriptionSet, tellJoined, tellReadTo } from './subscription-set.js';
import { BUS_CLOSED_REASON, createKafkaConnections } from './kafka-connections.js';
import { dlqTopic } from './topics.js';

/** Errors kafkajs marks retriable (leader elections, a broker still starting): five more tries, 200 ms doubling. */
const BROKER_RETRY: BackoffRetryPolicy = { retries: 5, baseDelayMs: 200, maxDelayMs: 3_200, jitter: false };
/**
 * kafkajs' backoff between its own retries: 300 ms, doubling to at most BUS_CLOSE_END_MS (1 s). A connect retrying when
 * the bus closes fails at its next try, so this cap is how long a close takes past its deadline, which a stop's budget
 * counts (stop-budget.ts).
 */
const KAFKAJS_RETRY = { initialRetryTime: 300, maxRetryTime: BUS_CLOSE_END_MS } as const;

/**
 * kafkajs' retries for as long as `retries` of a 300 ms backoff doubling to 5 s would take (8: about 25 s).
 * Its backoff is capped at 1 s instead, since nothing can cut one short: a connect retrying when the bus closes
 * (a daemon stopped while it waits for a broker) fails at its next try, and a 5 s timer held the process that long.
 */
export function kafkajsRetries(retries: number): number {
  const budgetMs = maxTotalBackoffMs({ retries, baseDelayMs: KAFKAJS_RETRY.initialRetryTime, maxDelayMs: 5_000 });
  let count = 0;
  for (let waited = 0; waited < budgetMs; count += 1) waited += Math.min(KAFKAJS_RETRY.initialRetryTime * 2 ** count, KAFKAJS_RETRY.maxRetryTime);
  return count;
}

/** How long a stopping ephemeral subscription waits for the broker to delete its group. */
const GROUP_DELETE_TIMEOUT_MS = 5_000;
/** bus.kafka.sessionTimeoutMs' default. */
export const SESSION_TIMEOUT_MS = kafkaSettingDefault('sessionTimeoutMs');

/**
 * Heartbeats go every third of the session timeout, at most every 3 s (Kafka's heartbeat.interval.ms default): two
 * can be lost before the coordinator drops a member that is alive.
 */
export function heartbeatIntervalFor(sessionTimeoutMs: number): number {
  return Math.min(3_000, Math.floor(sessionTimeoutMs / 3));
}

/**
 * How long a handler runs inside kafkajs' message callback before the subscription's topics are paused and it goes on
 * outside it. Meanwhile the member neither heartbeats nor answers a rebalance: far less than a session (bus.kafka.
 * sessionTimeoutMs, at least 6 s) and than a heartbeat interval's delay that a join tolerates.
 */
export const INLINE_HANDLER_MS = 500;

/** Refusals of a commit by a member the group no longer counts in its current generation (a rebalance under way or done). */
const GROUP_MEMBERSHIP_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID']);

const TOPIC_CREATION_SETTING = settingNamed('bus.kafka.topicCreationTimeoutMs');

/** bus.kafka.closeTimeoutMs' default. */
const CLOSE_TIMEOUT_MS = kafkaSettingDefault('closeTimeoutMs');

/** Brokers, timeouts and the security settings (TLS, SASL), as `kafkaClientConfig` turns them into kafkajs options. */
export interface KafkaBusOptions extends KafkaConnectionOptions {
  /** Partitions of topics this bus creates. */
  partitions?: number;
  /** -1 = the broker's default.replication.factor. */
  replicationFactor?: number;
  retry?: RetryPolicy;
  logger?: Logger;
  /** A member silent for this long is dropped from its group (its partitions move to another member); default SESSION_TIMEOUT_MS. */
  sessionTimeoutMs?: number;
  /** Default: heartbeatIntervalFor(sessionTimeoutMs). */
  heartbeatIntervalMs?: number;
  /** Longest fetch long-poll; also bounds how long stop() waits for an idle consumer. */
  maxWaitTimeMs?: number;
  /** How long `subscribe` waits for the group join before returning anyway. */
  joinTimeoutMs?: number;
  onDelivery?: DeliveryListener;
  /** Hears of deliveries, consumer crashes and restarts, and failed broker connections (the daemon's /metrics). */
  metrics?: BusMetrics;
  /** Longest time close() waits for the brokers (groups left and deleted, clients disconnected) before it gives up. */
  closeTimeoutMs?: number;
  /**
   * A one-shot command's bound on connecting its producer or admin, kafkajs' retries included (bus.kafka.
   * commandConnectTimeoutMs): past it the connect fails with FLTS_BUS_UNAVAILABLE naming it. Unset (a service), a
   * connect lasts as long as those retries (a service's ensureTopics says why after its reachWithinMs meanwhile), and
   * the service's own retries go on after it.
   */
  commandConnectTimeoutMs?: number;
  /**
   * A one-shot command's bound on creating its topics once the cluster answered (bus.kafka.topicCreationTimeoutMs):
   * past it the creation fails with FLTS_BUS_UNAVAILABLE naming it. Unset (a service), the creation lasts as long as
   * the broker retries.
   */
  topicCreationTimeoutMs?: number;
  /** Client-level retries of retriable broker errors, counted as a 300 ms backoff doubling to 5 s (default 8: about 25 s of a broker being away); see kafkajsRetries. */
  brokerRetries?: number;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

function toReceived(topic: string, partition: number, message: KafkaMessage): ReceivedMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString('utf8') : null,
    value: message.value ? message.value.toString('utf8') : '',
    headers: headersToStrings(message.headers),
    timestamp: Number(message.timestamp),
  };
}

/** An admin connect under way or ended: when it began (performance.now()) and the connections to bootstrap brokers that failed since. */
interface AdminConnect {
  began: number;
  failed: number;
}

/** How long a caller waits for the cluster's first answer: until `deadline` (performance.now()), `limitMs` after it began. */
interface ReachBound {
  deadline: number;
  limitMs: number;
  /** A service's wait, which goes on after it says why (true), or a command's, which gives up. */
  service: boolean;
}

/** The broker's answer to creating a topic another client created first: kafkajs does not retry it, and it is no failure. */
const TOPIC_ALREADY_EXISTS = 'TOPIC_ALREADY_EXISTS';

/** The broker's error code, as kafkajs names it: on the error itself, or on its cause once kafkajs gave up retrying. */
function brokerErrorType(error: unknown): string | undefined {
  return (error as { type?: string })?.type ?? (error as { cause?: { type?: string } })?.cause?.type;
}

/** The broker does not know the topic (any more): deleted since this bus created or saw it. */
function isUnknownTopic(error: unknown): boolean {
  return brokerErrorType(error) === 'UNKNOWN_TOPIC_OR_PARTITION';
}

/** A message's key, value and headers in bytes, as a refusal of it as too large names it. */
function messageBytes(message: OutgoingMessage): number {
  const headers = Object.entries(message.headers ?? {}).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0);
  return Buffer.byteLength(message.value) + (message.key === null ? 0 : Buffer.byteLength(message.key)) + headers;
}

/**
 * The bus on Kafka (kafkajs). Topics are created explicitly (publishing or subscribing creates missing
 * ones with the configured partition count; brokers may keep auto-creation off). Consumers commit each
 * offset after its handler returned or the message was dead-lettered, never before.
 */
export function createKafkaBus(options: KafkaBusOptions): MessageBus {
  if (options.brokers.length === 0) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', 'KAFKA_BOOTSTRAP_SERVERS (setting bus.kafka.brokers) is empty: expected host:port[,host:port...] when the bus is kafka.', { details: { setting: 'bus.kafka.brokers' } });
  }
  const logger = options.logger ?? silentLogger;
  const policy = options.retry ?? DEFAULT_RETRY_POLICY;
  const partitions = options.partitions ?? 1;
  const replicationFactor = options.replicationFactor ?? -1;
  const sessionTimeout = options.sessionTimeoutMs ?? SESSION_TIMEOUT_MS;
  const heartbeatInterval = options.heartbeatIntervalMs ?? heartbeatIntervalFor(sessionTimeout);
  /** Coordinator lookups the broker refused so far: a consumer that then fails to find its coordinator was denied. */
  let groupLookupDenials = 0;
  const metrics = options.metrics;
  const kafkaLog = createKafkaLog(logger, {
    onGroupLookupDenied: () => groupLookupDenials++,
    onConnectionFailed: (broker) => {
      metrics?.connectionFailed(broker);
      connections.connectionFailed(broker);
      if (adminConnect && !connections.isAdvertised(broker)) adminConnect.failed++;
    },
    reportedElsewhere: (broker) => connections.isSetAside(broker),
    advertised: (broker) => connections.isAdvertised(broker),
  });
  const connections = createKafkaConnections(options.brokers, {
    securityProtocol: options.securityProtocol,
    saslMechanism: options.sasl?.mechanism || undefined,
    caFile: options.ssl?.caFile,
    logger,
    onAnswered: kafkaLog.answered,
  });
  /** Aborted by close(): a pause between flts' own retries of a broker call ends at once. */
  const closing = new AbortController();
  /**
   * Set once close() gave up waiting for the brokers: a handler still running then commits nothing (its message is
   * delivered again), since the process is about to end without knowing whether the commit got through.
   */
  let gaveUp = false;
  let closed: Promise<void> | undefined;
  // kafkajs' idle request queues arm negative timers, which Node reports on stderr (see kafkajs-warnings.ts).
  ignoreKafkajsNegativeTimeouts();
  const { Kafka, Partitioners, logLevel: KafkaLogLevel } = kafkajs();
  const kafka = new Kafka({
    ...kafkaClientConfig(options),
    brokers: connections.brokers,
    // Retriable broker errors (leader moves, a restarting broker) are retried before they surface.
    retry: { ...KAFKAJS_RETRY, retries: kafkajsRetries(options.brokerRetries ?? 8) },
    logLevel: KafkaLogLevel.INFO,
    logCreator: kafkaLog.logCreator,
    socketFactory: connections.socketFactory,
  });
  const knownTopics = new Set<string>();
  /** Groups whose subscribe waits for their join, each counted once per subscribe waiting. */
  const joining: string[] = [];
  const subscriptions = createSubscriptionSet();
  let admin: Promise<Admin> | undefined;
  /** The admin's latest connect: when it began and how many connections to a bootstrap broker failed since. */
  let adminConnect: AdminConnect | undefined;
  let producer: Promise<Producer> | undefined;
  /** Producer and admin once connected: close() lets them finish their requests and leave (one still connecting is not waited for). */
  const connected: { producer?: Producer; admin?: Admin } = {};
  /** Connects a command gave up on that kafkajs still retries: close() ends them with the rest. */
  const givenUp = new Set<Promise<void>>();

  async function disconnect(role: 'producer' | 'admin'): Promise<void> {
    const client = connected[role];
    connected[role] = undefined;
    await client?.disconnect().catch(() => {});
  }

  /** After close() every attempt fails; saying so beats kafkajs' account of it ("brokers array is empty"). */
  function failed(action: string, error: unknown, sent?: SentMessage): FltsError {
    return connections.failure(action, connections.closed ? new Error(BUS_CLOSED_REASON, { cause: error }) : error, sent);
  }

  /**
   * `client.connect()`, within options.commandConnectTimeoutMs when set. kafkajs' connect cannot be cancelled: one given
   * up on goes on retrying until the bus closes (kafka-connections.ts ends it at its next try), and a client that
   * connects after all is let go, since nothing uses it.
   */
  async function connectWithin(role: 'producer' | 'admin', client: Admin | Producer): Promise<void> {
    const limitMs = options.commandConnectTimeoutMs;
    const began = performance.now();
    const connecting = client.connect();
    if (limitMs === undefined) {
      return connecting.catch((error: unknown) => {
        throw connections.isBootstrapGiveUp(error) ? bootstrapGaveUp(role, error, Math.round(performance.now() - began)) : error;
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(gaveUpConnecting(role, limitMs)), limitMs);
    });
    try {
      await Promise.race([connecting, late]);
    } catch (error) {
      if (connections.isBootstrapGiveUp(error)) throw bootstrapGaveUp(role, error, Math.round(performance.now() - began));
      const abandoned: Promise<void> = connecting.then(() => client.disconnect()).catch(() => {}).finally(() => givenUp.delete(abandoned));
      givenUp.add(abandoned);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The bootstrap brokers named as unanswered, after `wait` (what the caller waited and whether it goes on): the same
   * words whether a command's bound, a service's or kafkajs' own retries ended the wait (connections.bootstrapUnanswered),
   * so an outage reads the same all along.
   */
  function bootstrapUnanswered(role: 'producer' | 'admin', wait: string, details: object, cause?: unknown): FltsError {
    return connections.bootstrapUnanswered(`${role} connect`, wait, { latest: kafkaLog.latestFailure(), cause, details });
  }

  /**
   * The error of a connect kafkajs gave up on (connections.isBootstrapGiveUp) after `waitedMs`, within a command's bound or with
   * none. A service's bounded wait words it as its bound's end would (adminWithin).
   */
  function bootstrapGaveUp(role: 'producer' | 'admin', error: unknown, waitedMs: number): FltsError {
    const failure = bootstrapUnanswered(role, `not connected after ${waitedMs} ms, kafkajs' retries given up`, { waitedMs }, error);
    kafkajsGaveUp.set(failure, error);
    return failure;
  }

  /** kafkajs' own error behind each bootstrapGaveUp error. */
  const kafkajsGaveUp = new WeakMap<object, unknown>();

  /** The error of a connect a command gave up on at its bound: the bootstrap brokers, the setting that bounded the wait, and the latest connection error. */
  function gaveUpConnecting(role: 'producer' | 'admin', limitMs: number): FltsError {
    return bootstrapUnanswered(role, commandConnectWait(limitMs, 'not connected'), { setting: COMMAND_CONNECT_PATH, waitedMs: limitMs });
  }

  /**
   * Set once the cluster answered at the addresses it advertises (a listing of its topics, the first call sent there):
   * a command's bound on reaching the brokers is over (a publish after minutes of training is not bound by it).
   */
  let reached = false;
  /**
   * The first listing of the topics while it is under way. Every caller waiting for the cluster's first answer waits
   * for this one request: a daemon's startup attempt that stopped waiting for it (reachWithinMs) leaves it running,
   * and the next attempt waits for it again rather than sending another beside it, kafkajs retrying each for minutes.
   */
  let reaching: Promise<string[]> | undefined;

  function listTopics(client: Admin): Promise<string[]> {
    if (reached) return withBrokerRetries(() => client.listTopics());
    if (reaching) return reaching;
    const listing = withBrokerRetries(() => client.listTopics());
    reaching = listing;
    listing.then(() => (reached = true), () => {}).finally(() => {
      if (reaching === listing) reaching = undefined;
    });
    return listing;
  }

  /**
   * The first answer of the cluster at the addresses it advertises, waited for until `deadline` (performance.now());
   * none: as long as the broker retries take. A connect only reaches the bootstrap broker; the calls after it go to
   * the addresses its metadata advertises, which kafkajs and the bus retry for minutes when nothing answers there.
   */
  async function untilReached<T>(action: string, bound: ReachBound | undefined, call: Promise<T>): Promise<T> {
    if (bound === undefined || reached) return call;
    return withTimeout(call, Math.max(0, bound.deadline - performance.now()), () => gaveUpReaching(action, bound));
  }

  /**
   * The error of a wait for the cluster's first answer that ended at its bound: the latest connection error, and the
   * advertised addresses that did not answer (kafkaFailure). A command gives up; a service says why it still waits.
   */
  function gaveUpReaching(action: string, bound: ReachBound): FltsError {
    const latest = kafkaLog.latestFailure();
    const wait = bound.service ? `no answer yet after ${bound.limitMs} ms (still waiting)` : commandConnectWait(bound.limitMs, 'no answer');
    const failure = failed(action, connectGivenUp(`${wait}${latest ? `; latest error: ${latest}` : ''}`));
    if (failure.code !== 'FLTS_BUS_UNAVAILABLE') return failure;
    return new FltsError(failure.code, failure.message, { cause: failure.cause, details: { ...failure.details, ...(bound.service ? {} : { setting: COMMAND_CONNECT_PATH }), waitedMs: bound.limitMs } });
  }

  /**
   * The admin connected, for a service within its bound (ReachBound.service): a connect waits for a bootstrap broker's
   * answer, which kafkajs retries for about 25 s when the address refuses or does not answer, and only then would the
   * bound on the first call after it begin. Past the bound the service hears FLTS_BUS_UNAVAILABLE naming the bootstrap
   * brokers; the connect goes on, and the next call waits for that same one (connectAdmin keeps it until it ends), so
   * no attempt opens a connection of its own. A command's connect has its own bound (connectWithin).
   */
  function adminWithin(bound: ReachBound | undefined, began: number): Promise<Admin> {
    const connecting = connectAdmin();
    if (bound === undefined || !bound.service || reached) return connecting;
    // The connect waited for may be one an earlier attempt began: its wait and its failed tries are counted from its start.
    const connect = adminConnect;
    // kafkajs giving up the connect (about 25 s of retries) within the bound is told as the bound's end would be: the
    // same outage, and the next attempt opens a connect of its own.
    const told = connecting.catch((error: unknown) => {
      const given = kafkajsGaveUp.get(error as object);
      throw given === undefined ? error : gaveUpBootstrap(connect, Math.round(performance.now() - (connect?.began ?? began)), given);
    });
    // Timers may fire a little early: this attempt's bound is counted as its whole length, plus what the connect had waited before it.
    return withTimeout(told, Math.max(0, bound.deadline - performance.now()), () => gaveUpBootstrap(connect, bound.limitMs + Math.max(0, Math.round(began - (connect?.began ?? began)))));
  }

  /**
   * The error of a service's wait for its admin's connect that ended at its bound, or when kafkajs gave the connect up
   * (its retries over) before it: no bootstrap broker answered, which the address in KAFKA_BOOTSTRAP_SERVERS (or the
   * broker behind it) decides, unlike brokers that answered there and advertise an address that does not
   * (gaveUpReaching). `waitedMs` is the connect's whole wait, over every attempt that waited for it, and its failed
   * connection tries are counted (kafkajs retries each for itself): this attempt's share alone read as one try of that length.
   */
  function gaveUpBootstrap(connect: AdminConnect | undefined, waitedMs: number, cause?: unknown): FltsError {
    const failed = connect?.failed ?? 0;
    const tries = failed > 0 ? ` and ${failed} failed connection ${failed === 1 ? 'try' : 'tries'}` : '';
    return bootstrapUnanswered('admin', `not connected yet after ${waitedMs} ms${tries} (still waiting)`, { waitedMs, ...(failed > 0 ? { failedConnections: failed } : {}) }, cause);
  }

  /**
   * A command's topic creation, once the cluster answered, within options.topicCreationTimeoutMs. A creation given up
   * on goes on until the bus closes, its outcome ignored (a topic it creates meanwhile is found by the next listing).
   */
  async function withinTopicCreation(action: string, creating: Promise<void>): Promise<void> {
    const limitMs = options.topicCreationTimeoutMs;
    if (limitMs === undefined) return creating;
    return withTimeout(creating, limitMs, () => {
      const failure = failed(action, connectGivenUp(`the brokers answered, but did not create the topics within ${limitMs} ms, the wait ${TOPIC_CREATION_SETTING} allows a command`));
      return failure.code === 'FLTS_BUS_UNAVAILABLE' ? new FltsError(failure.code, failure.message, { cause: failure.cause, details: { ...failure.details, setting: 'bus.kafka.topicCreationTimeoutMs', waitedMs: limitMs } }) : failure;
    });
  }

  function connectAdmin(): Promise<Admin> {
    admin ??= (async () => {
      const client = kafka.admin();
      adminConnect = { began: performance.now(), failed: 0 };
      await connectWithin('admin', client);
      connected.admin = client;
      return client;
    })().catch((error: unknown) => {
      admin = undefined;
      throw failed('admin connect', error);
    });
    return admin;
  }

  function connectProducer(): Promise<Producer> {
    producer ??= (async () => {
      const client = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      await connectWithin('producer', client);
      connected.producer = client;
      return client;
    })().catch((error: unknown) => {
      producer = undefined;
      throw failed('producer connect', error);
    });
    return producer;
  }

  function withBrokerRetries<T>(action: () => Promise<T>): Promise<T> {
    return retryWithBackoff(action, BROKER_RETRY, {
      signal: closing.signal,
      isRetriable: (error) => !connections.closed && !connections.mismatch()?.definite && !connections.tlsRefusal() && ((error as { retriable?: boolean }).retriable === true || (error as { cause?: { retriable?: boolean } }).cause?.retriable === true),
      onRetry: ({ attempt, error }) => logger.debug({ attempt, err: error }, 'bus_kafka_retry'),
    });
  }

  /** Creates the `missing` topics of `wanted` and waits until their metadata is served. */
  async function createTopics(client: Admin, wanted: string[], count: number, listed: string[]): Promise<void> {
    let existing: string[] | undefined = listed;
    await withBrokerRetries(async () => {
      // The first try uses the listing that reached the cluster; a retry lists again (another client may have created some).
      const known = new Set(existing ?? (await client.listTopics()));
      existing = undefined;
      const missing = wanted.filter((name) => !known.has(name));
      if (missing.length === 0) return;
      const created = await client.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions: count, replicationFactor })) }).catch((error: unknown) => {
        const refusals = topicRefusals(error);
        if (refusals.length === 0) throw error;
        // kafkajs answers false itself when another client created every topic refused; it throws when one of
        // them was refused for another reason.
        const refused = refusals.filter((refusal) => refusal.type !== TOPIC_ALREADY_EXISTS);
        if (refused.length === 0) return false;
        // kafkajs' own line of this answer says only "Topic creation errors" (kafka-log.ts leaves it to debug). It
        // bails on any per-topic refusal, even one of the moment (NOT_CONTROLLER while the controller moves): those
        // are asked again here, within the broker retries, as the outages they are; the others end the call.
        const refusedNow = topicCreationRefused(refused, error);
        logger[refusedNow.retriable ? 'info' : 'warn']({ refused, partitions: count, replication_factor: replicationFactor, retrying: refusedNow.retriable }, 'bus_topics_not_created');
        throw refusedNow;
      });
      // false: another client (another daemon starting beside this one) created them, or some of them, since they
      // were listed; kafkajs does not say which. The topics exist either way, as wanted.
      if (created) logger.info({ topics: missing, partitions: count }, 'bus_topics_created');
      else logger.debug({ topics: missing }, 'bus_topics_created_meanwhile');
    });
    // A broker can answer "does not host this topic-partition" for a moment after creating a topic, even with
    // waitForLeaders; consumers subscribing then would fail, so wait until the metadata is served.
    await withBrokerRetries(() => client.fetchTopicMetadata({ topics: wanted }));
  }

  async function ensureTopics(names: string[], count = partitions, ensureOptions: EnsureTopicsOptions = {}): Promise<void> {
    const wanted = [...new Set(names)].filter((name) => !knownTopics.has(name));
    if (wanted.length === 0) return;
    const action = `creating topics ${wanted.join(',')}`;
    // The bound on reaching the brokers, a command's or a service's, covers the admin's connect and the first call after it.
    const began = performance.now();
    const { commandConnectTimeoutMs } = options;
    const { reachWithinMs } = ensureOptions;
    const bound: ReachBound | undefined = commandConnectTimeoutMs !== undefined
      ? { deadline: began + commandConnectTimeoutMs, limitMs: commandConnectTimeoutMs, service: false }
      : reachWithinMs !== undefined ? { deadline: began + reachWithinMs, limitMs: reachWithinMs, service: true } : undefined;
    const client = await adminWithin(bound, began);
    try {
      const listed = await untilReached(action, bound, listTopics(client));
      await withinTopicCreation(action, createTopics(client, wanted, count, listed));
    } catch (error) {
      throw failed(action, error);
    }
    wanted.forEach((name) => knownTopics.add(name));
  }

  async function publish(topic: string, message: OutgoingMessage): Promise<void> {
    await ensureTopics([topic]);
    const client = await connectProducer();
    try {
      await withBrokerRetries(async () => {
        try {
          await client.send({ topic, acks: -1, messages: [{ key: message.key, value: message.value, headers: message.headers }] });
        } catch (error) {
          // A topic deleted after this bus created it (an operator purging it, brokers without auto-creation) is
          // created again before the next try; remembered as existing, it would fail every publish until a restart.
          if (isUnknownTopic(error)) {
            knownTopics.delete(topic);
            await ensureTopics([topic]);
          }
          throw error;
        }
      });
    } catch (error) {
      throw failed(`publish to ${topic}`, error, { topic, bytes: messageBytes(message) });
    }
  }

  async function subscribe(subscribeOptions: SubscribeOptions, handler: MessageHandler): Promise<Subscription> {
    const { group, topics } = subscribeOptions;
    await ensureTopics([...topics, ...(subscribeOptions.dlq ? [subscribeOptions.dlq.topic] : topics.map(dlqTopic))]);
    const retry: RetryPolicy = { ...policy, ...subscribeOptions.retry };
    /** Where the group starts on each partition it had nothing committed on (fromTimestamp), until that start is committed. */
    const startAt = subscribeOptions.fromTimestamp === undefined ? new Map<string, string>() : await startOffsets(group, topics, subscribeOptions.fromTimestamp);
    metrics?.subscribed(group, topics);
    const controller = new AbortController();
    const createConsumer = (): Consumer => kafka.consumer({
      groupId: group,
      sessionTimeout,
      heartbeatInterval,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
      allowAutoTopicCreation: false,
      // kafkajs restarts a consumer crashed by a retriable error until stop(); the bus recovers from the others.
      retry: { ...KAFKAJS_RETRY, retries: kafkajsRetries(options.brokerRetries ?? 8), restartOnFailure: async () => !controller.signal.aborted },
    });
    let consumer: Consumer = createConsumer();
    let joined: () => void = () => {};
    const joinedOnce = new Promise<void>((resolve) => (joined = resolve));
    let refused: (error: FltsError) => void = () => {};
    const refusedOnce = new Promise<FltsError>((resolve) => (refused = resolve));
    /** Until subscribe returns, a refusal (a login, a certificate, an ACL) fails it instead of being recovered from. */
    let subscribing = true;
    let deniedBefore = groupLookupDenials;
    const recovery = createConsumerRecovery({ group, topics, brokers: options.brokers, logger, metrics, restartDelayMs: KAFKAJS_RETRY.initialRetryTime });
    /** A re-creation of the subscription's topics under way, after its consumer found one of them gone. */
    let recreating: Promise<void> | undefined;
    const crashed = (crash: ConsumerCrash): void => {
      // A topic deleted under the consumer (an operator purging it) fails each of its restarts until something
      // publishes there and so creates it again: created again here as publish does, the group resumes at once, and
      // the daemon is ready again, instead of restarting its consumer a few times a second meanwhile.
      if (isUnknownTopic(crash.error) && !controller.signal.aborted && !recreating) {
        topics.forEach((topic) => knownTopics.delete(topic));
        recreating = ensureTopics(topics)
          .catch((error: unknown) => logger.debug({ group, topics, err: error }, 'bus_topics_recreate_failed'))
          .finally(() => (recreating = undefined));
      }
      if (groupLookupDenials > deniedBefore) crash = { ...crash, error: groupLookupDenied(`subscribing group ${group} to ${topics.join(',')}`, options.brokers, group, crash.error) };
      if (subscribing && !controller.signal.aborted) {
        const failure = connections.failure(`subscribing group ${group} to ${topics.join(',')}`, crash.error);
        if (isServiceRefusal(failure)) return refused(failure);
      }
      let delayMs: number | undefined;
      try {
        delayMs = recovery.crashed(crash, !controller.signal.aborted && !connections.closed);
      } catch (error) {
        // Thrown inside kafkajs's event emitter, this would end the process; a consumer run afresh is the safe side.
        logger.error({ err: error, group }, 'bus_consumer_crash_unhandled');
        delayMs = controller.signal.aborted || connections.closed ? undefined : 1000;
      }
      if (delayMs !== undefined) void recover(delayMs);
    };
    /** A fresh consumer in place of one kafkajs gave up on; the same for as long as that one fails too. */
    const recover = async (delayMs: number): Promise<void> => {
      if (!(await sleep(delayMs, controller.signal))) return;
      metrics?.consumerRestarted(group);
      const dead = consumer;
      consumer = createConsumer();
      await dead.disconnect().catch(() => {});
      try {
        await startConsumer();
      } catch (error) {
        await consumer.disconnect().catch(() => {});
        crashed({ error, restart: false });
        return;
      }
      // Stopped while it started: stop() may have disconnected it before it was connected.
      if (controller.signal.aborted) await consumer.disconnect().catch(() => {});
    };
    /** Starts sought at the latest join, committed as the fetch after it begins (kafkajs commits nothing before it runs). */
    let sought: Array<{ topic: string; partition: number; offset: string }> = [];
    /** Offsets of handled messages whose commit the group refused while it rebalanced, by `topic:partition`. */
    const unsettled = new Map<string, string>();
    /**
     * Called as the group is joined, before the first fetch: the assigned partitions still to start at fromTimestamp's
     * offsets are moved there (kafkajs applies a seek at the next fetch).
     */
    const startAssigned = (current: Consumer, assigned: Record<string, number[]>): void => {
      const starts = Object.entries(assigned).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition, offset: unsettled.get(`${topic}:${partition}`) ?? startAt.get(`${topic}:${partition}`) })));
      // A partition not assigned now is its new owner's: an offset kept for it would move that owner's progress back later.
      unsettled.clear();
      sought = starts.filter((start): start is { topic: string; partition: number; offset: string } => start.offset !== undefined);
      try {
        for (const start of sought) current.seek(start);
      } catch (error) {
        // Thrown inside kafkajs's event emitter, this would end the process: the group starts where kafkajs starts it.
        sought = [];
        logger.error({ group, err: error }, 'bus_group_start_failed');
      }
    };
    /**
     * The start is committed so that the group's lag counts from there and a rejoin resumes there. Sent as the fetch
     * begins, it reaches the coordinator ahead of the commit of any message that fetch brings.
     */
    const commitStarts = (current: Consumer): void => {
      if (sought.length === 0) return;
      const starts = sought;
      sought = [];
      if (gaveUp) return;
      current.commitOffsets(starts).then(
        () => starts.forEach(({ topic, partition }) => startAt.delete(`${topic}:${partition}`)),
        // Not committed: the next join seeks again, and the first message handled commits past it anyway.
        (error: unknown) => logger.warn({ group, err: error }, 'bus_group_start_commit_failed'),
      );
    };
    /**
     * The message whose handler runs, if any. It runs outside kafkajs' eachMessage, the subscription's topics paused
     * meanwhile: kafkajs rejoins a rebalance only between two eachMessage calls, so a handler running inside one (a
     * training) kept the member from rejoining until the group dropped it, its commit failed and its consumer crashed.
     * Paused, the member keeps fetching nothing, heartbeating and rejoining, and handles one message at a time as before.
     */
    let inFlight: { topic: string; partition: number; offset: string; done: Promise<void> } | undefined;
    /**
     * `topic:partition` of a message neither handled nor dead-lettered (the DLQ refused it), until this member settles a
     * message of that partition or the partition is no longer its own. The fresh consumer's join is no recovery then: it
     * is handed the same message, which fails the same way, and ending the episode at each join restarted the consumer
     * every second, a rebalance of its group each time and two lines a second, for as long as the DLQ refused. Nor is a
     * message settled on another of its partitions, which the fresh consumer may be handed first.
     */
    let failedDelivery: string | undefined;
    /** `topic:partition` of the current consumer's assignment at its latest join. */
    let assignment = new Set<string>();
    /** Joins of this subscription's consumers so far: a commit refused across one is retried in the new generation. */
    let joins = 0;
    const pauseTopics = (current: Consumer): void => current.pause(topics.map((topic) => ({ topic })));
    /**
     * Commits a handled message's offset and moves the consumer past it. A partition that moved to another member
     * meanwhile is not committed: its new owner commits it (the message is delivered there too, and the handler finds
     * its effect done in durable state); a commit from here could move that owner's progress back. A commit refused as
     * the group rebalances is made at the next join (startAssigned), if the partition is still this member's; when that
     * join was told before the refusal came, at once.
     */
    const settle = async (topic: string, partition: number, offset: string): Promise<void> => {
      if (gaveUp) return;
      const key = `${topic}:${partition}`;
      if (!assignment.has(key)) {
        logger.info({ group, topic, partition, offset }, 'bus_partition_moved_uncommitted');
        return;
      }
      const current = consumer;
      const next = (BigInt(offset) + 1n).toString();
      const joinsBefore = joins;
      try {
        await current.commitOffsets([{ topic, partition, offset: next }]);
        current.seek({ topic, partition, offset: next });
        // Committed past any offset a refusal left for the next join: seeking there would move the member back.
        unsettled.delete(key);
      } catch (error) {
        // A commit sent while the member waited for its assignment is answered after it, refused as the old
        // generation's, once the join it belonged to was told: that join resumed the partition at the last commit (the
        // message would come again), and an offset kept for the next one would move the member back to it then.
        const joinedSince = joins !== joinsBefore;
        const then = !joinedSince ? 'next-join' : assignment.has(key) ? 'commit-again' : 'moved';
        // kafkajs does not retry these: the refusal comes as the cause of a KafkaJSNonRetriableError.
        const rebalancing = GROUP_MEMBERSHIP_ERRORS.has(brokerErrorType(error) ?? '');
        logger[rebalancing ? 'info' : 'warn']({ group, topic, partition, offset, reason: (error as Error).message, then }, 'bus_commit_deferred');
        if (then === 'next-join') unsettled.set(key, next);
        // Committed in the generation just joined.
        else if (then === 'commit-again') await settle(topic, partition, offset);
      }
    };
    /** The consumer in use fetches again once no handler runs. */
    const resumeTopics = (): void => {
      if (controller.signal.aborted) return;
      try {
        consumer.resume(topics.map((topic) => ({ topic })));
      } catch (error) {
        // A fresh consumer still starting has nothing paused.
        logger.debug({ group, err: error }, 'bus_resume_failed');
      }
    };
    /** Dead letters the DLQ refused as too large even bare (delivery.ts): sent again when their message comes again, not handled again. */
    const refusedForGood = new Map<string, { topic: string; letter: OutgoingMessage }>();
    const handle = async (topic: string, partition: number, message: KafkaMessage): Promise<void> => {
      const received = toReceived(topic, partition, message);
      const result = await deliverToGroup(
        received,
        handler,
        { policy: retry, signal: controller.signal, logger, dlqOperation: subscribeOptions.dlqOperation ?? `consume ${topic}`, group, dlq: subscribeOptions.dlq, publishDlq: publish, refusedForGood },
        { onDelivery: options.onDelivery, metrics },
      );
      if (result.outcome === 'abandoned') return;
      await settle(topic, partition, message.offset);
      // The failure is behind the consumer once a message of its partition is settled: the episode is over.
      if (failedDelivery === `${topic}:${partition}`) {
        failedDelivery = undefined;
        recovery.joined();
      }
    };
    const startConsumer = async (): Promise<void> => {
      const current = consumer;
      deniedBefore = groupLookupDenials;
      // The subscriber hears of a join once the first fetch after it is done: a fetch needs the offset it reads
      // from, so by then a group with nothing committed has fixed where it starts, and nothing published later is missed.
      let fetchedSinceJoin = true;
      current.on(current.events.GROUP_JOIN, ({ payload }) => {
        if (current !== consumer) return;
        joins += 1;
        assignment = new Set(Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => `${topic}:${partition}`)));
        startAssigned(current, payload.memberAssignment);
        // Nothing before an offset sought is delivered: a partition with no message since fromTimestamp is read to its end.
        for (const start of sought) tellReadTo(subscribeOptions, logger, start);
        if (failedDelivery !== undefined && !assignment.has(failedDelivery)) failedDelivery = undefined;
        if (failedDelivery === undefined) recovery.joined();
        joined();
        fetchedSinceJoin = false;
      });
      current.on(current.events.FETCH_START, () => {
        if (current === consumer) commitStarts(current);
      });
      current.on(current.events.FETCH, () => {
        if (fetchedSinceJoin || current !== consumer || controller.signal.aborted) return;
        fetchedSinceJoin = true;
        tellJoined(subscribeOptions, logger);
      });
      // A fetch that held only records kafkajs does not deliver (a transaction's marker, an aborted record) reports its
      // batch all the same: the partition is read past them. While a handler runs, a message may wait to be fetched
      // again below them (seeked back); the fetch after that message is settled tells it instead.
      current.on(current.events.END_BATCH_PROCESS, ({ payload }) => {
        if (current !== consumer || controller.signal.aborted || inFlight || payload.batchSize !== 0 || payload.firstOffset === null) return;
        tellReadTo(subscribeOptions, logger, { topic: payload.topic, partition: payload.partition, offset: (BigInt(payload.lastOffset) + 1n).toString() });
      });
      current.on(current.events.CRASH, ({ payload }) => {
        // Only the consumer in use counts: one replaced since may still report its end.
        if (current === consumer) crashed({ error: payload.error, restart: payload.restart });
      });
      await current.connect();
      await current.subscribe({ topics, fromBeginning: subscribeOptions.fromBeginning ?? true });
      await current.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          if (controller.signal.aborted) return;
          if (inFlight) {
            pauseTopics(current);
            // The message in flight itself comes again to a fresh consumer (after a crash): its handler commits it.
            // Any other waits for it: fetched again from its offset once the topics resume.
            if (inFlight.topic !== topic || inFlight.partition !== partition || inFlight.offset !== message.offset) current.seek({ topic, partition, offset: message.offset });
            return;
          }
          const done = handle(topic, partition, message).then(
            () => {
              inFlight = undefined;
              resumeTopics();
            },
            (error: unknown) => {
              // Neither handled nor dead-lettered (the DLQ refused it): this consumer stays paused, and a fresh one
              // starts again from the last commit, so that nothing after the message is committed past it.
              try {
                pauseTopics(current);
              } catch (pauseError) {
                // One that crashed or was stopped meanwhile fetches nothing more anyway.
                logger.debug({ group, err: pauseError }, 'bus_pause_failed');
              }
              inFlight = undefined;
              failedDelivery = `${topic}:${partition}`;
              crashed({ error, restart: false });
            },
          );
          inFlight = { topic, partition, offset: message.offset, done };
          // A handler done within INLINE_HANDLER_MS never pauses the topics: kafkajs goes on at once from the offset
          // its commit sought. Paused, the consumer's next fetch waits out a whole maxWaitTimeMs before it looks again
          // (kafkajs sleeps when every partition is paused), which made one message a second the most any group took:
          // a backlog, a flood of copies or of messages dead-lettered at once took as many seconds as messages.
          const quick = await withTimeout(done, INLINE_HANDLER_MS).then(() => true, () => false);
          // Only while this message is still in flight: a handler that ended just after the wait has resumed already.
          if (!quick && inFlight?.done === done) pauseTopics(current);
        },
      });
    };
    // The group is joining from here until the race below ends. kafkajs' run() awaits its consumer's first join and
    // sync (a join the broker holds until a dead member's session times out) and returns once joined, GROUP_JOIN told
    // already. A join that fails (not retriable, or kafkajs' retries spent) it does not throw: it reports a CRASH and
    // returns, the consumer restarted later by kafkajs or by the recovery (a refusal ends the subscribe instead). The
    // wait for the join then runs on after run() in the race, whose timeout starts only once run() returned.
    joining.push(group);
    const joinWaitOver = (): void => void joining.splice(joining.indexOf(group), 1);
    try {
      // A retriable failure while starting (topic metadata not yet served, coordinator still loading) gets a
      // fresh consumer and another try instead of failing the caller, e.g. a daemon starting with the broker.
      await withBrokerRetries(async () => {
        try {
          await startConsumer();
        } catch (error) {
          const failedOne = consumer;
          consumer = createConsumer();
          await failedOne.disconnect().catch(() => {});
          throw error;
        }
      });
    } catch (error) {
      // No subscription to recover: a crash the failed consumer still reports must not start another.
      joinWaitOver();
      controller.abort();
      await consumer.disconnect().catch(() => {});
      throw failed(`subscribing group ${group} to ${topics.join(',')}`, error);
    }
    const joinTimeout = options.joinTimeoutMs ?? sessionTimeout;
    let timer: NodeJS.Timeout | undefined;
    // kafkajs reports a failed join only as a crash of the consumer it runs in the background: a refused one ends
    // the subscribe here, since no retry mends an ACL (a daemon's startup stops at once rather than waiting forever).
    // A bus closed meanwhile (a process stopping while it starts) ends the wait too: the subscription would be added
    // after the close stopped every other, its consumer left in the group and its timer holding the process for the
    // rest of the join timeout (a minute behind a dead member's session of bus.kafka.sessionTimeoutMs).
    let onClose: () => void = () => {};
    const closedMeanwhile = new Promise<FltsError>((resolve) => {
      onClose = () => resolve(connections.failure(`subscribing group ${group} to ${topics.join(',')}`, new Error(BUS_CLOSED_REASON)));
      if (closing.signal.aborted) onClose();
      else closing.signal.addEventListener('abort', onClose, { once: true });
    });
    const joinedInTime = await Promise.race([joinedOnce.then(() => true), refusedOnce, closedMeanwhile, new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), joinTimeout)))]);
    clearTimeout(timer);
    closing.signal.removeEventListener('abort', onClose);
    joinWaitOver();
    subscribing = false;
    if (joinedInTime instanceof FltsError) {
      controller.abort();
      await consumer.disconnect().catch(() => {});
      throw joinedInTime;
    }
    if (!joinedInTime) logger.warn({ group, topics, join_timeout_ms: joinTimeout }, 'bus_group_join_slow');

    return subscriptions.add(group, topics, async () => {
      controller.abort();
      // Its handler ends (aborted) and commits what it finished before the member leaves the group.
      await inFlight?.done;
      // A crash episode ends with its subscription: the gauge must not stay up for a group nobody consumes.
      metrics?.crashing(group, false);
      const left = await consumer.disconnect().then(
        () => true,
        (error: unknown) => brokerAway(`leaving group ${group}`, error, { group }, 'bus_consumer_disconnect_failed'),
      );
      if (left && subscribeOptions.ephemeral && !gaveUp) await deleteGroup(group);
    });
  }

  /**
   * The offset of each partition's first message stamped at or after `timestamp` (its end when there is none), keyed
   * `topic:partition`, for the partitions of `topics` where the group has committed nothing. Looked up with the admin
   * client and applied by the consumer as it joins (a seek): kafkajs' admin.setOffsets would run a consumer of its own
   * through a join and a 5 s fetch wait first.
   */
  async function startOffsets(group: string, topics: string[], timestamp: number): Promise<Map<string, string>> {
    const client = await connectAdmin();
    try {
      return await withBrokerRetries(async () => {
        const starts = new Map<string, string>();
        const committed = await client.fetchOffsets({ groupId: group, topics });
        for (const topic of topics) {
          const fresh = new Set(committed.find((entry) => entry.topic === topic)?.partitions.filter((p) => Number(p.offset) < 0).map((p) => p.partition));
          if (fresh.size === 0) continue;
          for (const { partition, offset } of await client.fetchTopicOffsetsByTimestamp(topic, timestamp)) {
            if (fresh.has(partition)) starts.set(`${topic}:${partition}`, offset);
          }
        }
        return starts;
      });
    } catch (error) {
      throw failed(`looking up where group ${group} starts (${new Date(timestamp).toISOString()})`, error);
    }
  }

  /** Best effort and bounded: a broker gone by now must not hold up a shutdown; its offset retention removes the group later. */
  async function deleteGroup(group: string): Promise<void> {
    try {
      await withTimeout(connectAdmin().then((client) => client.deleteGroups([group])), GROUP_DELETE_TIMEOUT_MS);
    } catch (error) {
      brokerAway(`deleting group ${group}`, error, { group }, 'bus_group_delete_failed');
    }
  }

  /**
   * A step of a stop that the brokers did not answer: expected with them away, and said in one coded line (no stack,
   * which would only show kafkajs' insides); once the bus itself ended the connections, not worth a warning.
   */
  function brokerAway(action: string, error: unknown, fields: Record<string, unknown>, message: string): void {
    const failure = failed(action, error);
    if (connections.closed) logger.debug({ ...fields, code: failure.code, reason: failure.message }, message);
    else logger.warn({ ...fields, code: failure.code, reason: failure.message }, message);
  }

  async function lag(group: string, topics: string[]): Promise<PartitionLag[]> {
    const client = await connectAdmin();
    try {
      const committed = await client.fetchOffsets({ groupId: group, topics });
      const out: PartitionLag[] = [];
      for (const topic of topics) {
        const ends = await client.fetchTopicOffsets(topic);
        const groupTopic = committed.find((entry) => entry.topic === topic);
        for (const end of ends) {
          const committedOffset = Number(groupTopic?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
          const endOffset = Number(end.high);
          const from = committedOffset >= 0 ? committedOffset : Number(end.low);
          out.push({ topic, partition: end.partition, committedOffset, endOffset, lag: Math.max(0, endOffset - from) });
        }
      }
      return out;
    } catch (error) {
      throw failed(`reading the lag of group ${group}`, error);
    }
  }

  async function closeOnce(closeOptions: BusCloseOptions): Promise<void> {
    closing.abort(new Error(BUS_CLOSED_REASON));
    const connecting = [producer, admin];
    // The subscriptions side by side, then the producer and the admin: a handler still running may yet publish its
    // outcome or dead-letter its message, and the groups are deleted through the admin.
    const orderly = subscriptions.stopAll().then(() => Promise.all([disconnect('producer'), disconnect('admin')]));
    // With the brokers away each step waits for answers that never come (a consumer's disconnect retries for
    // about 25 s, a group's deletion 5 s more): a process stopping within an orchestrator's grace period cannot.
    // A stop that began before this close (its subscriptions already leaving) waited for them already: the close waits
    // what is left of that stop's deadline, so the two share one bound.
    const timeoutMs = options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS;
    const waitMs = closeOptions.deadline ? Math.min(timeoutMs, msLeft(closeOptions.deadline)) : timeoutMs;
    const done = await withTimeout(orderly.then(() => true, () => true), waitMs).catch(() => false);
    if (!done) {
      gaveUp = true;
      logger.warn({ code: 'FLTS_BUS_UNAVAILABLE', close_timeout_ms: timeoutMs, waited_ms: Math.round(waitMs), brokers: options.brokers.map(redactSecrets) }, 'bus_close_gave_up');
    }
    producer = undefined;
    admin = undefined;
    // What is still open now is a connection kafkajs no longer tracks, or, after giving up, one waiting for a broker
    // that does not answer: ending it fails what waits on it. A connect still retrying (a broker away) fails at its
    // next try from here on, so it is awaited only now (awaited first, it ran its whole retry budget).
    connections.closeAll();
    await Promise.allSettled([...connecting, ...givenUp]);
  }

  return {
    kind: 'kafka',
    ensureTopics,
    publish,
    subscribe,
    lag,
    joining: () => [...new Set(joining)],
    close(closeOptions = {}) {
      // Closed once: a second close (a daemon's stop, then its command's end) waits for the first within its bound.
      closed ??= closeOnce(closeOptions);
      return closed;
    },
  };
}
