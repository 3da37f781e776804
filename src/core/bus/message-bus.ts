/**
 * The message bus the pipeline talks through: Kafka in distributed mode, durable local files otherwise.
 * Delivery is at-least-once: a message's offset is committed only after its handler returned (or after
 * it was dead-lettered), so a crash or a stop mid-handler redelivers it. Handlers must be idempotent.
 */

import type { Deadline } from '../retry.js';

export interface OutgoingMessage {
  /** Partitioning key; `null` for the reference's key-less messages (RUNNING, DLQ envelopes). */
  key: string | null;
  /** The message body, normally JSON text produced by an encoder in messages.ts. */
  value: string;
  headers?: Record<string, string>;
}

export interface ReceivedMessage {
  topic: string;
  partition: number;
  /** Offset of this message within its partition (decimal string, as Kafka reports it). */
  offset: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
  /** Broker (or append) time, epoch milliseconds. */
  timestamp: number;
}

export interface HandlerContext {
  /** 1 on the first delivery attempt within this process. */
  attempt: number;
  /** Aborted when the subscription stops; a handler may give up early (the message is then redelivered later). */
  signal: AbortSignal;
}

export type MessageHandler = (message: ReceivedMessage, context: HandlerContext) => Promise<void>;

export interface RetryPolicy {
  /** Attempts before a failing message is dead-lettered (reference FAILURE_MAX_RETRIES = 3). */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export interface SubscribeOptions {
  /** Consumer group; see topics.ts for the per-role names. */
  group: string;
  topics: string[];
  /** Where a group with no committed offset starts: true (default, the reference's `earliest`) or the end. */
  fromBeginning?: boolean;
  /**
   * Where a group with no committed offset starts, as a time (epoch milliseconds): at each partition's first message
   * stamped at or after it (at the end when there is none); overrides `fromBeginning`. A group with committed offsets
   * resumes from them as always. The stamp is the publisher's clock, so a subscriber that must not miss a message
   * starts early enough to cover its clock skew, and checks each message's `timestamp` if an earlier one matters.
   */
  fromTimestamp?: number;
  /** Overrides the bus-wide retry policy for this subscription. */
  retry?: Partial<RetryPolicy>;
  /** `operation` written into DLQ envelopes; default `consume <topic>`. */
  dlqOperation?: string;
  /**
   * Where this subscription dead-letters, and the role named in the envelope. The reference's services write
   * `DLQ-<the topic they produce>` (trainer DLQ-model-training, eval DLQ-model-selected, inference
   * DLQ-performance-eval); without it, `DLQ-<consumed topic>`.
   */
  dlq?: { topic: string; role: string };
  /**
   * The group belongs to this subscription alone (a serving replica's own group): its committed offsets are
   * deleted when the subscription stops, so replicas that come and go leave no groups behind on the broker.
   */
  ephemeral?: boolean;
  /**
   * Called each time the subscription's consumer joins its group: the first time and after every rejoin (a broker
   * restart, a rebalance, a consumer the bus replaced). A group with nothing committed that starts at the end
   * (`fromBeginning: false`) never receives what was published while it was out of its group, so a subscriber that
   * must not miss that re-reads its durable state here: what is published after the call is delivered. Kafka calls
   * it once the first fetch after the join is done (within its fetch wait, a second by default); the file bus, which
   * has no membership to lose, calls it once, as the subscription starts. It should return at once (work it starts
   * runs beside the consumer); what it throws is logged.
   */
  onJoin?: () => void;
  /**
   * Called as the subscription's reading of a partition reaches an offset with nothing before it left to deliver:
   * every message before it was delivered already, or is one no consumer is given (a transaction's marker, an aborted
   * record). A subscriber waiting for a partition's end learns it so where the last offset before the end holds no
   * message (the end of a transactional producer's partition is its marker). Kafka calls it for each partition a join
   * moves to an offset of its own (fromTimestamp's start, a handled message's commit the group refused), and after a
   * fetch of a partition that held only records it does not deliver; the file bus, whose every offset is a message,
   * never. It should return at once; what it throws is logged.
   */
  onReadTo?: (position: { topic: string; partition: number; offset: string }) => void;
}

export interface Subscription {
  readonly group: string;
  readonly topics: readonly string[];
  /** Stops fetching, aborts the running handler's signal, waits for it, disconnects. Idempotent. */
  stop(): Promise<void>;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Next offset to consume (committed), or -1 when the group has committed nothing. */
  committedOffset: number;
  endOffset: number;
  lag: number;
}

export type DeliveryOutcome = 'handled' | 'dead-lettered' | 'abandoned';

/** Observes every message's fate, for metrics and logs. */
export type DeliveryListener = (event: { group: string; message: ReceivedMessage; outcome: DeliveryOutcome; attempts: number; error?: unknown }) => void;

/**
 * What a bus tells its operator's metrics (flts daemon and flts serve turn it into Prometheus series, bus-metrics.ts): an
 * interface of the port, so the bus depends on no metrics library. Every call must return at once and never throw.
 */
export interface BusMetrics {
  /** A subscription started: its series exist from now on (at 0), so the first increase after a start is seen. */
  subscribed(group: string, topics: readonly string[]): void;
  /** A message the bus is done with, and how. */
  delivered(group: string, topic: string, outcome: DeliveryOutcome): void;
  /** The handler failed on a message and is about to be tried again (also while a store or broker outage is waited out). */
  retried(group: string, topic: string): void;
  /** The DLQ refused a message's dead letter: the message stays uncommitted and the consumer fails on it. */
  deadLetterRefused(group: string, topic: string): void;
  /** A subscription's consumer crashed (Kafka's CRASH event, the file bus's poll failing), with the failure's code. */
  consumerCrashed(group: string, code: string): void;
  /** The bus ran a consumer afresh in place of one that crashed and was not restarted otherwise. */
  consumerRestarted(group: string): void;
  /** A crash episode of the subscription began (true), or ended with the consumer back in its group or stopped (false). */
  crashing(group: string, active: boolean): void;
  /** A connection to a broker (host:port as the client dials it) failed or timed out. */
  connectionFailed(broker: string): void;
  /**
   * The file bus's retention removed `count` messages the group had not consumed: it resumed at the first offset left,
   * as a Kafka consumer whose offset fell out of range resets to the earliest.
   */
  lostToRetention?(group: string, topic: string, count: number): void;
}

export interface EnsureTopicsOptions {
  /**
   * A service's wait for the brokers' first answer (Kafka: the connect to a bootstrap broker, then the first call to
   * the addresses they advertise) before it fails with FLTS_BUS_UNAVAILABLE (retriable) naming what does not answer,
   * so that it can say why it waits and try again; the connect or request itself goes on, and the next call waits for
   * the same one. The services set it through
   * ensureTopicsWithinReach (reach.ts); a one-shot command's bus is bound by bus.kafka.commandConnectTimeoutMs
   * instead. Unset: as long as the broker retries take.
   */
  reachWithinMs?: number;
}

export interface MessageBus {
  readonly kind: 'fs' | 'kafka';
  /** Creates missing topics with `partitions` partitions (default: the configured count); existing ones are kept. */
  ensureTopics(names: string[], partitions?: number, options?: EnsureTopicsOptions): Promise<void>;
  /** Resolves once the message is durably stored (Kafka: acknowledged by all in-sync replicas). */
  publish(topic: string, message: OutgoingMessage): Promise<void>;
  /** Resolves once the consumer is running (Kafka: it joined its group). */
  subscribe(options: SubscribeOptions, handler: MessageHandler): Promise<Subscription>;
  /** Committed position vs end of every partition of `topics` for `group`. */
  lag(group: string, topics: string[]): Promise<PartitionLag[]>;
  /**
   * Stops every subscription and releases every connection, so that the process can exit: a Kafka call still
   * retrying gives up at its next try (within one retry interval), and a closed Kafka bus fails every later call.
   */
  close(options?: BusCloseOptions): Promise<void>;
  /**
   * The groups a subscribe is waiting to join, for a readiness that says why it is not ready yet: a Kafka group with a
   * member that did not leave (a process killed) lets no one in until that member's session times out.
   */
  joining?(): readonly string[];
}

export interface BusCloseOptions {
  /**
   * The stop's deadline, when the stop began before the close (a daemon's roles, a replica's promotion follower,
   * already leaving their groups): the Kafka bus waits for the brokers until then at most, instead of its whole
   * bus.kafka.closeTimeoutMs from now on top of what the stop already waited.
   */
  deadline?: Deadline;
}
