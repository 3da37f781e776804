import type { Admin } from 'kafkajs';
import { kafkaClientConfig, type KafkaConnectionOptions } from '../bus/kafka-client-config.js';
import { createKafkaConnections } from '../bus/kafka-connections.js';
import { commandConnectWait, COMMAND_CONNECT_PATH, connectGivenUp } from '../bus/kafka-failure.js';
import { createKafkaLog } from '../bus/kafka-log.js';
import { kafkajs } from '../bus/kafkajs-module.js';
import { ignoreKafkajsNegativeTimeouts } from '../bus/kafkajs-warnings.js';
import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { redactSecrets } from '../redact.js';
import { withTimeout } from '../retry.js';
import { commitAsSoleMember } from './commit-as-sole-member.js';

export interface GroupMember {
  memberId: string;
  clientId: string;
  host: string;
}

export interface GroupDescription {
  group: string;
  /** Kafka's group state: Empty, Stable, PreparingRebalance, CompletingRebalance, Dead. */
  state: string;
  members: GroupMember[];
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** null when the group has committed nothing for this partition. */
  offset: number | null;
}

export interface TopicPartitionRange {
  partition: number;
  logStart: number;
  logEnd: number;
}

/** The few broker calls an offset reset needs, behind an interface so planning can be tested without Kafka. */
export interface OffsetsAdmin {
  describeGroup(group: string): Promise<GroupDescription>;
  /** The group's committed offsets for `topics`, or for every topic it has committed to when omitted. */
  committedOffsets(group: string, topics?: string[]): Promise<CommittedOffset[]>;
  /** Throws FLTS_OFFSETS_TOPIC_NOT_FOUND for a topic the cluster does not have. */
  topicRanges(topic: string): Promise<TopicPartitionRange[]>;
  /** Per partition, the first offset whose timestamp is >= `timestampMs` (the log end when none is). */
  offsetsForTimestamp(topic: string, timestampMs: number): Promise<Map<number, number>>;
  /** Commits real offsets for an empty group. */
  commitOffsets(group: string, topic: string, offsets: Array<{ partition: number; offset: number }>): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaOffsetsAdminOptions extends KafkaConnectionOptions {
  /** Client retries of retriable broker errors; kept low so an unreachable broker is reported quickly. */
  retries?: number;
  /** Hears kafkajs' warnings and errors and a bootstrap broker set aside, as the bus's logger does. */
  logger?: Logger;
  /**
   * Longest wait for the brokers' first answer, the connect and the first call after it (to the addresses the cluster
   * advertises), retries included, as every one-shot command's bus is bound (bus.kafka.commandConnectTimeoutMs).
   */
  commandConnectTimeoutMs?: number;
}

/**
 * The admin `flts replay-offsets` resets a group's offsets with, from the settings. The file bus keeps its groups'
 * offsets in files this command does not change: said as such, since the Kafka admin's own refusal ("offsets live
 * in Kafka") would send a user of the file bus after a broker they do not run.
 */
export function createReplayOffsetsAdmin(settings: Settings, logger?: Logger): OffsetsAdmin {
  const { kafka } = settings.bus;
  if (settings.bus.kind === 'fs' && kafka.brokers.length === 0) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', `FLTS_BUS is fs: its groups keep their offsets in ${settings.home}/bus/groups/<group>/<topic>.offset, which replay-offsets does not change; it resets the offsets of a Kafka group (KAFKA_BOOTSTRAP_SERVERS).`, { details: { setting: 'bus.kafka.brokers' } });
  }
  return createKafkaOffsetsAdmin({ ...kafka, clientId: `${kafka.clientId}-replay-offsets`, logger, commandConnectTimeoutMs: kafka.commandConnectTimeoutMs });
}

/**
 * The kafkajs implementation. Offsets are computed here and committed as real values, never through
 * `admin.resetOffsets` (which commits the -1/-2 sentinels).
 */
export function createKafkaOffsetsAdmin(options: KafkaOffsetsAdminOptions): OffsetsAdmin {
  if (options.brokers.length === 0) {
    throw new FltsError('FLTS_CONFIG_INVALID_VALUE', 'KAFKA_BOOTSTRAP_SERVERS (setting bus.kafka.brokers) is empty: offsets live in Kafka, so replay-offsets needs the brokers.', { details: { setting: 'bus.kafka.brokers' } });
  }
  // As the bus's client: close() also ends what kafkajs' disconnects leave open (the coordinator connection of the
  // group joined to commit, after a broker restart), so the command's process exits once it is done.
  const logger = options.logger ?? silentLogger;
  const kafkaLog = createKafkaLog(logger, { reportedElsewhere: (broker) => connections.isSetAside(broker), onConnectionFailed: (broker) => connections.connectionFailed(broker), advertised: (broker) => connections.isAdvertised(broker) });
  const connections = createKafkaConnections(options.brokers, { securityProtocol: options.securityProtocol, saslMechanism: options.sasl?.mechanism || undefined, caFile: options.ssl?.caFile, logger, onAnswered: kafkaLog.answered });
  // kafkajs' idle request queues arm negative timers, which Node reports on stderr (see ../bus/kafkajs-warnings.ts).
  ignoreKafkajsNegativeTimeouts();
  const { Kafka, logLevel: KafkaLogLevel } = kafkajs();
  const kafka = new Kafka({
    ...kafkaClientConfig(options),
    brokers: connections.brokers,
    socketFactory: connections.socketFactory,
    retry: { initialRetryTime: 200, maxRetryTime: 2_000, retries: options.retries ?? 3 },
    logLevel: KafkaLogLevel.INFO,
    logCreator: kafkaLog.logCreator,
  });
  let connected: Promise<Admin> | undefined;
  /** Connects given up at the bound that kafkajs still retries: close() ends them with the rest. */
  const givenUp = new Set<Promise<void>>();
  /** When the wait for the brokers' first answer ends (performance.now()), from the first connect; undefined: unbound. */
  let deadline: number | undefined;
  /** Set once the cluster answered a call: the bound on reaching it is over (a --wait for the group is not bound by it). */
  let reached = false;
  const limitMs = options.commandConnectTimeoutMs;
  const admin = (): Promise<Admin> => {
    const began = performance.now();
    /** The error of a connect given up at the bound, told as it is. */
    let bound: FltsError | undefined;
    if (limitMs !== undefined && !reached) deadline ??= began + limitMs;
    connected ??= (async () => {
      const client = kafka.admin();
      const connecting = client.connect();
      if (deadline === undefined) {
        await connecting;
        return client;
      }
      try {
        await withTimeout(connecting, Math.max(0, deadline - performance.now()), () => {
          bound = connections.bootstrapUnanswered('admin connect', commandConnectWait(limitMs ?? 0, 'not connected'), { latest: kafkaLog.latestFailure(), details: { setting: COMMAND_CONNECT_PATH, waitedMs: limitMs } });
          return bound;
        });
      } catch (error) {
        const abandoned: Promise<void> = connecting.then(() => client.disconnect()).catch(() => {}).finally(() => givenUp.delete(abandoned));
        givenUp.add(abandoned);
        throw error;
      }
      return client;
    })().catch((error: unknown) => {
      connected = undefined;
      if (error === bound) throw error;
      // No bootstrap broker answered within kafkajs' retries: said as the bus says it, naming them and what to check.
      if (connections.isBootstrapGiveUp(error)) {
        const waitedMs = Math.round(performance.now() - began);
        throw connections.bootstrapUnanswered('admin connect', `not connected after ${waitedMs} ms, kafkajs' retries given up`, { latest: kafkaLog.latestFailure(), cause: error, details: { waitedMs } });
      }
      throw connections.failure('admin connect', error);
    });
    return connected;
  };
  /** The first call after the connect goes to the addresses the cluster advertises: bound by what is left of the wait. */
  const untilReached = <T>(action: string, calling: Promise<T>): Promise<T> => {
    if (reached || deadline === undefined) return calling;
    return withTimeout(calling, Math.max(0, deadline - performance.now()), () => {
      const latest = kafkaLog.latestFailure();
      const failure = connections.failure(action, connectGivenUp(`${commandConnectWait(limitMs ?? 0, 'no answer')}${latest ? `; latest error: ${latest}` : ''}`));
      return failure.code === 'FLTS_BUS_UNAVAILABLE' ? new FltsError(failure.code, failure.message, { cause: failure.cause, details: { ...failure.details, setting: COMMAND_CONNECT_PATH, waitedMs: limitMs } }) : failure;
    }).then((answer) => {
      reached = true;
      return answer;
    });
  };
  const call = async <T>(action: string, fn: (client: Admin) => Promise<T>): Promise<T> => {
    const client = await admin();
    const calling = (async () => {
      try {
        return await fn(client);
      } catch (error) {
        throw connections.failure(action, error);
      }
    })();
    return untilReached(action, calling);
  };

  return {
    describeGroup: (group) =>
      call(`describing group ${group}`, async (client) => {
        const described = (await client.describeGroups([group])).groups.find((g) => g.groupId === group);
        return {
          group,
          state: described?.state ?? 'Dead',
          members: (described?.members ?? []).map((m) => ({ memberId: m.memberId, clientId: m.clientId, host: m.clientHost.replace(/^\//, '') })),
        };
      }),
    committedOffsets: (group, topics) =>
      call(`reading the offsets of group ${group}`, async (client) => {
        const fetched = await client.fetchOffsets(topics ? { groupId: group, topics } : { groupId: group });
        return fetched.flatMap((entry) => entry.partitions.map((p) => ({ topic: entry.topic, partition: p.partition, offset: Number(p.offset) >= 0 ? Number(p.offset) : null })));
      }),
    async topicRanges(topic) {
      const exists = await call('listing topics', async (client) => (await client.listTopics()).includes(topic));
      if (!exists) throw new FltsError('FLTS_OFFSETS_TOPIC_NOT_FOUND', `Topic ${JSON.stringify(topic)} does not exist on ${options.brokers.map(redactSecrets).join(',')}.`, { details: { topic } });
      return call(`reading the offsets of topic ${topic}`, async (client) =>
        (await client.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, logStart: Number(p.low), logEnd: Number(p.high) })).sort((a, b) => a.partition - b.partition),
      );
    },
    offsetsForTimestamp: (topic, timestampMs) =>
      call(`looking up offsets of ${topic} by time`, async (client) => new Map((await client.fetchTopicOffsetsByTimestamp(topic, timestampMs)).map((p) => [p.partition, Number(p.offset)]))),
    async commitOffsets(group, topic, offsets) {
      await admin();
      try {
        await commitAsSoleMember(kafka, group, topic, offsets, async () => (await call(`describing group ${group}`, (client) => client.describeGroups([group]))).groups[0]?.members.length ?? 0);
      } catch (error) {
        if (/rebalanc|generation|unknown member/i.test((error as Error)?.message ?? '')) {
          throw new FltsError('FLTS_OFFSETS_GROUP_ACTIVE', `Group ${group} gained active members while its offsets were being written; nothing more was changed.`, { cause: error, details: { group, topic } });
        }
        throw connections.failure(`committing offsets of group ${group} on ${topic}`, error);
      }
    },
    async close() {
      const pending = connected;
      connected = undefined;
      if (pending) await pending.then((client) => client.disconnect()).catch(() => {});
      connections.closeAll();
      await Promise.allSettled([...givenUp]);
    },
  };
}
