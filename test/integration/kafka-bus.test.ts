import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { createMessageBus } from '../../src/core/bus/index.js';
import { createKafkaBus } from '../../src/core/bus/kafka-bus.js';
import { describeMessageBusContract, waitFor } from '../../src/core/bus/message-bus.contract.js';
import type { MessageBus, MessageHandler } from '../../src/core/bus/message-bus.js';
import { decodeTrainClaim, decodeTrainingEvent, encodeTrainClaim, encodeTrainingEvent } from '../../src/core/bus/messages.js';
import { isolatedStack } from '../../src/core/config/isolated-stack.js';
import { resolveSettings } from '../../src/core/config/settings.js';
import type { Logger } from '../../src/core/logger.js';
import { rawKafka } from '../helpers/raw-kafka.js';
import { runCli } from '../helpers/run-cli.js';
import { INFRA_HINT, infraSkipReason, loadInfraEnv } from './infra-env.js';

const skipReason = infraSkipReason();
const infra = loadInfraEnv();
const FAST = { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 40 };

async function reachableBus(): Promise<MessageBus> {
  const bus = createKafkaBus({ brokers: infra.kafkaBrokers, clientId: 'flts-it', retry: FAST, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 });
  try {
    await bus.ensureTopics(['flts-it-probe']);
  } catch (error) {
    await bus.close();
    throw new Error(`Kafka not reachable at ${infra.kafkaBrokers.join(',')}: ${(error as Error).message}; ${INFRA_HINT}`);
  }
  return bus;
}

if (skipReason) {
  describe('integration > kafka-bus', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describeMessageBusContract('integration > kafka-bus', reachableBus);

  describe('integration > kafka-bus topics and settings', () => {
    const admin = rawKafka({ clientId: 'flts-it-admin', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    afterAll(() => admin.disconnect());

    it('creates topics explicitly with the configured partition count, and keeps existing ones', async () => {
      const { settings } = resolveSettings({ env: { ...infra.vars, FLTS_BUS: 'kafka', FLTS_BUS_PARTITIONS: '3' } });
      const bus = createMessageBus(settings)!;
      try {
        const topic = `it-partitions-${randomUUID().slice(0, 8)}`;
        await bus.publish(topic, encodeTrainClaim({ bucket: 'processed-data', object: 'o', size: 1, configHash: 'h', identifier: '' }));
        await bus.ensureTopics([topic], 5);
        await admin.connect();
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        expect(metadata.topics[0].partitions).toHaveLength(3);
      } finally {
        await bus.close();
      }
    });

    it('lets several buses create the same topics at once: each proceeds, one says it created them and none warns; a creation the broker refuses still warns and fails coded, naming the topic, why and the setting', async () => {
      const lines: Array<[string, string]> = [];
      const record = (level: string) => (_fields: object, msg?: string) => void lines.push([level, msg ?? '']);
      const logger: Logger = { trace: record('trace'), debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), child: () => logger };
      const buses = Array.from({ length: 3 }, () => createKafkaBus({ brokers: infra.kafkaBrokers, clientId: 'flts-it', retry: FAST, logger }));
      const suffix = randomUUID().slice(0, 8);
      const topics = Array.from({ length: 4 }, (_, i) => `it-race-${suffix}-${i}`);
      try {
        // Connected first: each bus then lists the topics missing before the broker has created any of them, as
        // daemons starting together on a fresh cluster do.
        await Promise.all(buses.map((bus) => bus.ensureTopics(['flts-it-probe'])));
        lines.length = 0;
        await Promise.all(buses.map((bus) => bus.ensureTopics(topics, 2)));
        expect(lines.filter(([level]) => level === 'warn' || level === 'error')).toEqual([]);
        expect(lines.filter(([, message]) => message === 'bus_topics_created')).toHaveLength(1);
        // The others were told the topics exist already: the race this is about took place.
        expect(lines.filter(([, message]) => message === 'bus_topics_created_meanwhile').length).toBeGreaterThan(0);
        await admin.connect();
        const metadata = await admin.fetchTopicMetadata({ topics });
        expect(metadata.topics.map((topic) => topic.partitions.length)).toEqual([2, 2, 2, 2]);

        // More replicas than the one broker: refused for a reason of its own, which no other process can mend.
        const unplaceable = createKafkaBus({ brokers: infra.kafkaBrokers, clientId: 'flts-it', retry: FAST, logger, replicationFactor: 3 });
        buses.push(unplaceable);
        lines.length = 0;
        const refused = `it-refused-${suffix}`;
        await expect(unplaceable.ensureTopics([refused])).rejects.toMatchObject({ code: 'FLTS_BUS_TOPIC_REFUSED', retriable: false, details: { setting: 'bus.replicationFactor', topics: [refused] }, message: expect.stringContaining(`${refused} (INVALID_REPLICATION_FACTOR: `) });
        expect(lines.filter(([level]) => level === 'warn' || level === 'error')).toEqual([['warn', 'bus_topics_not_created']]);
      } finally {
        await Promise.all(buses.map((bus) => bus.close()));
      }
    });

    it('asks again for a topic the broker refused to create only for the moment (NOT_CONTROLLER while its controller moves), instead of failing the call', async () => {
      const lines: Array<[string, string]> = [];
      const record = (level: string) => (_fields: object, msg?: string) => void lines.push([level, msg ?? '']);
      const logger: Logger = { trace: record('trace'), debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), child: () => logger };
      const topic = `it-not-controller-${randomUUID().slice(0, 8)}`;
      const answerAgain = refuseCreatingOnce(topic, 41);
      const bus = createKafkaBus({ brokers: infra.kafkaBrokers, clientId: 'flts-it', retry: FAST, logger });
      try {
        await bus.ensureTopics([topic]);
        expect(answerAgain.refused()).toBe(1);
        expect(lines.filter(([level]) => level === 'warn' || level === 'error')).toEqual([]);
        expect(lines).toContainEqual(['info', 'bus_topics_not_created']);
        await admin.connect();
        expect((await admin.fetchTopicMetadata({ topics: [topic] })).topics.map((t) => t.name)).toEqual([topic]);
      } finally {
        answerAgain.restore();
        await bus.close();
      }
    });

    it('ends flts daemon at once with exit code 2 and FLTS_BUS_TOPIC_REFUSED when the brokers refuse its topics for a replication factor above their count, instead of retrying', async () => {
      const stack = isolatedStack('it-replicas');
      const home = await mkdtemp(path.join(os.tmpdir(), 'flts-it-replicas-'));
      try {
        const env = { ...stack.env, FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: infra.kafkaBrokers.join(','), FLTS_BUS_REPLICATION_FACTOR: '3', FLTS_HOME: home, FLTS_DAEMON_PORT: '0', FLTS_DAEMON_ROLES: 'promoter' };
        // A daemon that retries instead is ended by the timeout (SIGTERM: it then exits 0).
        const run = await runCli(['daemon', '--json'], { env, timeoutMs: 30_000 });
        expect(run.exitCode, run.stdout + run.stderr).toBe(2);
        expect(run.json.error).toMatchObject({ code: 'FLTS_BUS_TOPIC_REFUSED', kind: 'usage', details: { setting: 'bus.replicationFactor', kafka_error_type: 'INVALID_REPLICATION_FACTOR' } });
        expect(run.json.error.message).toContain(`${stack.prefix}-training-data (INVALID_REPLICATION_FACTOR: `);
        expect(run.json.error.message).toContain('set FLTS_BUS_REPLICATION_FACTOR (setting bus.replicationFactor) to at most the number of brokers');
        expect(run.stdout + run.stderr).not.toContain('daemon_startup_retrying');
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    });

    it('keeps a model type’s status messages in order on one partition (keyed by the reference keys)', async () => {
      const bus = await reachableBus();
      try {
        const topic = `it-model-training-${randomUUID().slice(0, 8)}`;
        await bus.ensureTopics([topic], 4);
        const base = { modelType: 'GRU', experiment: 'Default', configHash: 'h' };
        await bus.publish(topic, encodeTrainingEvent({ ...base, status: 'SUCCESS', runId: 'r1' }));
        await bus.publish(topic, encodeTrainingEvent({ ...base, status: 'SUCCESS', runId: 'r2' }));
        const seen: Array<{ partition: number; runId: string }> = [];
        await bus.subscribe({ group: `it-eval-${randomUUID().slice(0, 8)}`, topics: [topic] }, async (message) => {
          const event = decodeTrainingEvent(message);
          if (event.status === 'SUCCESS') seen.push({ partition: message.partition, runId: event.runId });
        });
        await waitFor(() => seen.length === 2, 'both SUCCESS messages');
        expect(seen.map((s) => s.runId)).toEqual(['r1', 'r2']);
        expect(seen[0].partition).toBe(seen[1].partition);
      } finally {
        await bus.close();
      }
    });

    it('creates a topic again when it was deleted after the bus created it, instead of failing every publish', async () => {
      // Few client-level retries: the deleted topic is noticed after them rather than after half a minute.
      const bus = createKafkaBus({ brokers: infra.kafkaBrokers, clientId: 'flts-it', retry: FAST, brokerRetries: 1 });
      try {
        const topic = `it-deleted-${randomUUID().slice(0, 8)}`;
        await bus.publish(topic, encodeTrainClaim({ bucket: 'processed-data', object: 'o', size: 1, configHash: 'first', identifier: '' }));
        await admin.connect();
        await admin.deleteTopics({ topics: [topic] });
        await waitFor(async () => !(await admin.listTopics()).includes(topic), 'the topic to be deleted');
        await bus.publish(topic, encodeTrainClaim({ bucket: 'processed-data', object: 'o', size: 1, configHash: 'second', identifier: '' }));
        const seen: string[] = [];
        await bus.subscribe({ group: `it-deleted-${randomUUID().slice(0, 8)}`, topics: [topic] }, async (message) => void seen.push(decodeTrainClaim(message).configHash));
        await waitFor(() => seen.length === 1, 'the message published after the deletion');
        expect(seen).toEqual(['second']);
      } finally {
        await bus.close();
      }
    });

    it('goes from one handled message to the next at once, not after a fetch\'s whole long poll each (bus.kafka.maxWaitTimeMs)', async () => {
      // Each message waited out a whole long poll before: four of them at least three times 12 s, here a few milliseconds each.
      const bus = createKafkaBus({ brokers: infra.kafkaBrokers, clientId: 'flts-it', retry: FAST, maxWaitTimeMs: 12_000 });
      try {
        const topic = `it-backlog-${randomUUID().slice(0, 8)}`;
        for (const configHash of ['a', 'b', 'c', 'd']) await bus.publish(topic, encodeTrainClaim({ bucket: 'processed-data', object: 'o', size: 1, configHash, identifier: '' }));
        const seen: string[] = [];
        await bus.subscribe({ group: topic, topics: [topic] }, async (message) => void seen.push(decodeTrainClaim(message).configHash));
        await waitFor(() => seen.length === 4, 'the four messages, within one long poll', 8_000);
        expect(seen).toEqual(['a', 'b', 'c', 'd']);
        // Each committed after its handler, the last one too.
        await waitFor(async () => (await bus.lag(topic, [topic]))[0]?.committedOffset === 4, 'the last message committed', 8_000);
      } finally {
        await bus.close();
      }
    }, 60_000);

    it('creates a subscribed topic again when it is deleted under its consumer, which then takes what is published there', async () => {
      const bus = createKafkaBus({ brokers: infra.kafkaBrokers, clientId: 'flts-it', retry: FAST, brokerRetries: 1 });
      const producer = rawKafka({ clientId: 'flts-it-producer', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING }).producer({ allowAutoTopicCreation: false });
      try {
        const topic = `it-deleted-consumed-${randomUUID().slice(0, 8)}`;
        const seen: string[] = [];
        await bus.subscribe({ group: topic, topics: [topic] }, async (message) => void seen.push(decodeTrainClaim(message).configHash));
        await bus.publish(topic, encodeTrainClaim({ bucket: 'processed-data', object: 'o', size: 1, configHash: 'first', identifier: '' }));
        await waitFor(() => seen.length === 1, 'the message published before the deletion');
        await admin.connect();
        await admin.deleteTopics({ topics: [topic] });
        // Created again by the bus, not by a publisher: this producer may not create topics, as a reference service's.
        await waitFor(async () => (await admin.listTopics()).includes(topic), 'the topic created again');
        await producer.connect();
        await producer.send({ topic, acks: -1, messages: [encodeTrainClaim({ bucket: 'processed-data', object: 'o', size: 1, configHash: 'second', identifier: '' })] });
        await waitFor(() => seen.length === 2, 'the message published after the deletion');
        expect(seen).toEqual(['first', 'second']);
      } finally {
        await producer.disconnect();
        await bus.close();
      }
    }, 90_000);

    it('tells a subscriber again when its group rejoins (a rebalance), after which nothing published is missed', async () => {
      const bus = await reachableBus();
      try {
        const topic = `it-rejoin-${randomUUID().slice(0, 8)}`;
        const group = `it-rejoin-${randomUUID().slice(0, 8)}`;
        await bus.ensureTopics([topic], 1);
        let joins = 0;
        const seen: string[] = [];
        const record: MessageHandler = async (message) => void seen.push(decodeTrainClaim(message).object);
        await bus.subscribe({ group, topics: [topic], fromBeginning: false, onJoin: () => void (joins += 1) }, record);
        await waitFor(() => joins === 1, 'the first join');
        // A second member makes the group rebalance: the first one leaves and joins again.
        await bus.subscribe({ group, topics: [topic], fromBeginning: false }, record);
        await waitFor(() => joins === 2, 'the rejoin after the rebalance');
        await bus.publish(topic, encodeTrainClaim({ bucket: 'processed-data', object: 'after', size: 1, configHash: 'h', identifier: '' }));
        await waitFor(() => seen.length === 1, 'the message published after the rejoin');
        expect(seen).toEqual(['after']);
      } finally {
        await bus.close();
      }
    });

    it('reports an unreachable broker as retriable FLTS_BUS_UNAVAILABLE', async () => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as net.AddressInfo;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const bus = createKafkaBus({ brokers: [`127.0.0.1:${port}`], clientId: 'flts-it', brokerRetries: 0, connectionTimeoutMs: 500 });
      await expect(bus.publish('training-data', { key: null, value: '{}' })).rejects.toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', retriable: true });
      await bus.close();
    });
  });
}

/**
 * The broker's answer to the next CreateTopics naming `topic`, as kafkajs reads it, turned into a refusal of that topic
 * with the broker's error `code` (after the broker did create it, as a create answered late by a controller that just
 * moved was): what a cluster whose controller moves answers, which a single broker of the suite never does.
 */
function refuseCreatingOnce(topic: string, code: number): { refused: () => number; restore: () => void } {
  const require = createRequire(import.meta.url);
  type Parser = { parse: (data: { topicErrors: Array<{ topic: string }> }) => Promise<unknown> };
  const versions = [0, 1, 2, 3].map((version) => require(`kafkajs/src/protocol/requests/createTopics/v${version}/response.js`) as Parser);
  const { KafkaJSAggregateError, KafkaJSCreateTopicError } = require('kafkajs/src/errors.js') as Record<string, new (...args: unknown[]) => Error>;
  const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as { createErrorFromCode: (code: number) => unknown };
  const originals = versions.map((version) => version.parse);
  let refused = 0;
  versions.forEach((version, i) => {
    version.parse = async (data) => {
      const parsed = await originals[i](data);
      if (refused > 0 || !data.topicErrors.some((answer) => answer.topic === topic)) return parsed;
      refused += 1;
      throw new KafkaJSAggregateError('Topic creation errors', [new KafkaJSCreateTopicError(createErrorFromCode(code), topic)]);
    };
  });
  return { refused: () => refused, restore: () => versions.forEach((version, i) => (version.parse = originals[i])) };
}
