import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { BUS_CLOSED_REASON } from '../../src/core/bus/kafka-connections.js';
import { createKafkaBus } from '../../src/core/bus/kafka-bus.js';
import { waitFor } from '../../src/core/bus/message-bus.contract.js';
import { infraSkipReason, loadInfraEnv } from './infra-env.js';

const skipReason = infraSkipReason();
const infra = loadInfraEnv();
/** Longer than the test: only the bus's close can end the subscribe's wait for its join. */
const JOIN_TIMEOUT_MS = 300_000;

if (skipReason) {
  describe('integration > kafka-bus > a subscribe waiting for its join when the bus closes', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > kafka-bus > a subscribe waiting for its join when the bus closes', () => {
    it('fails as closed at once, instead of adding a subscription to the closed bus once its join timeout passes', async () => {
      const id = randomUUID().slice(0, 8);
      const topic = `it-subscribe-closed-${id}`;
      const group = `it-subscribe-closed-${id}`;
      const kafka = new Kafka({ clientId: 'it-subscribe-closed-peer', brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
      // A member busy in its handler rejoins only once it returns (kafkajs rejoins between two messages): the group's
      // rebalance, and so the join of any member that comes, waits for it, as for a dead member's session to end.
      const busy = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1_000, rebalanceTimeout: JOIN_TIMEOUT_MS });
      let handling: () => void = () => {};
      const busyHandling = new Promise<void>((resolve) => (handling = resolve));
      let release: () => void = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      const bus = createKafkaBus({ brokers: infra.kafkaBrokers, clientId: 'it-subscribe-closed', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, joinTimeoutMs: JOIN_TIMEOUT_MS, closeTimeoutMs: 2_000 });
      const admin = kafka.admin();
      await admin.connect();
      try {
        await bus.ensureTopics([topic], 1);
        await busy.connect();
        await busy.subscribe({ topics: [topic], fromBeginning: true });
        await busy.run({ eachMessage: async () => (handling(), released) });
        await bus.publish(topic, { key: 'k', value: 'long' });
        await busyHandling;

        const subscribing = bus.subscribe({ group, topics: [topic] }, async () => {}).then(() => 'subscribed', (error: unknown) => error);
        // Its consumer asked to join: the group rebalances, and waits for the busy member.
        await waitFor(async () => (await admin.describeGroups([group])).groups[0]?.state === 'PreparingRebalance', 'the subscribe waiting for its join', 60_000);
        expect(bus.joining?.()).toEqual([group]);
        await bus.close();
        expect(await subscribing).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', message: expect.stringContaining(BUS_CLOSED_REASON) });
      } finally {
        release();
        await bus.close();
        await busy.disconnect().catch(() => {});
        await admin.deleteTopics({ topics: [topic, `DLQ-${topic}`] }).catch(() => {});
        await admin.disconnect();
      }
    }, 90_000);
  });
}
