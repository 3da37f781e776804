import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaBus } from '../../src/core/bus/kafka-bus.js';
import { deadlineIn } from '../../src/core/retry.js';
import { infraSkipReason } from './infra-env.js';
import { recordingLogger, startPrivateKafka, type PrivateKafka } from './private-kafka.js';

const skipReason = infraSkipReason();

if (skipReason) {
  describe('integration > kafka-bus > close with the broker away', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > kafka-bus > close with the broker away', () => {
    let kafka: PrivateKafka | undefined;
    beforeAll(async () => {
      kafka = await startPrivateKafka();
    }, 240_000);
    afterAll(async () => {
      await kafka?.down();
    }, 240_000);

    it('gives up after bus.kafka.closeTimeoutMs instead of waiting out its consumers\' disconnect and its groups\' deletion, in one coded warning without a stack', async () => {
      const { logger, entries } = recordingLogger();
      // Refused connections while closing: kafkajs' consumer disconnect alone retries 26 times (about 25 s) before it
      // gives up, and a group's deletion waits 5 s more; a close bounded at 1 s sees a few at most.
      let refusedWhileClosing = 0;
      let closing = false;
      const metrics = { subscribed() {}, delivered() {}, retried() {}, deadLetterRefused() {}, consumerCrashed() {}, consumerRestarted() {}, crashing() {}, connectionFailed: () => void (closing && refusedWhileClosing++) };
      const bus = createKafkaBus({ brokers: [kafka!.brokers], clientId: 'it-close-away', logger, metrics, closeTimeoutMs: 1_000, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 });
      const id = randomUUID().slice(0, 8);
      // Two per-replica groups, as flts serve has (its promotions and its actuals).
      for (const name of ['promotions', 'actuals']) await bus.subscribe({ group: `it-close-${name}-${id}`, topics: [`it-close-${id}`], ephemeral: true }, async () => {});
      await kafka!.stop();
      closing = true;
      await bus.close();
      closing = false;
      // What the close said at warn and above.
      const lines = entries.filter((line) => line.level !== 'info');
      expect(refusedWhileClosing).toBeLessThan(10);
      expect(lines.map((line) => line.msg)).toContain('bus_close_gave_up');
      const gaveUp = lines.find((line) => line.msg === 'bus_close_gave_up')!;
      expect(gaveUp).toMatchObject({ level: 'warn', fields: { code: 'FLTS_BUS_UNAVAILABLE', close_timeout_ms: 1_000 } });
      // Expected failures of a stop with the broker away are said in a line each, with no error object (its stack).
      expect(lines.filter((line) => line.fields.err !== undefined)).toEqual([]);
    }, 120_000);

    it("gives up at the deadline of a stop begun before the close, not bus.kafka.closeTimeoutMs after it: a replica's follower already waited for the same broker", async () => {
      await kafka!.restart();
      const { logger, entries } = recordingLogger();
      // Long enough that a close waiting its own timeout outlasts this test.
      const bus = createKafkaBus({ brokers: [kafka!.brokers], clientId: 'it-close-deadline', logger, closeTimeoutMs: 600_000, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 });
      const id = randomUUID().slice(0, 8);
      await bus.subscribe({ group: `it-close-deadline-${id}`, topics: [`it-close-deadline-${id}`], ephemeral: true }, async () => {});
      await kafka!.stop();
      // The stop's deadline passed already (its follower waited it out): the close waits for nothing more.
      await bus.close({ deadline: deadlineIn(0) });
      const gaveUp = entries.find((line) => line.msg === 'bus_close_gave_up');
      expect(gaveUp).toMatchObject({ level: 'warn', fields: { code: 'FLTS_BUS_UNAVAILABLE', close_timeout_ms: 600_000, waited_ms: 0 } });
    }, 120_000);
  });
}
