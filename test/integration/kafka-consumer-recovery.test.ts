import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaBus } from '../../src/core/bus/kafka-bus.js';
import { waitFor } from '../../src/core/bus/message-bus.contract.js';
import type { MessageBus } from '../../src/core/bus/message-bus.js';
import { infraSkipReason } from './infra-env.js';
import { NO_COORDINATOR, recordingLogger, startPrivateKafka, type PrivateKafka } from './private-kafka.js';

const skipReason = infraSkipReason();
/** Generous bounds for a loaded machine: a broker restart alone can take a minute there. */
const CRASH_WITHIN_MS = 120_000;
const RECEIVED_WITHIN_MS = 180_000;

if (skipReason) {
  describe('integration > kafka-bus > consumer recovery', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > kafka-bus > consumer recovery', () => {
    let kafka: PrivateKafka | undefined;
    let bus: MessageBus | undefined;
    beforeAll(async () => {
      kafka = await startPrivateKafka(NO_COORDINATOR);
    });
    afterAll(async () => {
      await bus?.close();
      await kafka?.down();
    });

    it('runs a fresh consumer when kafkajs will not restart a crashed one, so the subscription consumes again once the coordinator is back', async () => {
      const { logger, lines, text: log } = recordingLogger();
      const id = randomUUID().slice(0, 8);
      // One client retry: the coordinator lookup gives up (and the consumer crashes) at once, not after minutes.
      bus = createKafkaBus({ brokers: [kafka!.brokers], clientId: 'it-recovery', logger, brokerRetries: 1, joinTimeoutMs: 1_000, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 });
      const seen: string[] = [];
      await bus.subscribe({ group: `it-recovery-${id}`, topics: [`it-recovery-${id}`] }, async (message) => void seen.push(message.value));
      const gaveUp = (): boolean => lines.some((line) => line.includes('bus_consumer_crashed') && line.includes('"restart":false'));
      await waitFor(gaveUp, 'a crash kafkajs does not restart', CRASH_WITHIN_MS).catch((error: Error) => {
        throw new Error(`${error.message}; bus log:\n${log()}`);
      });
      expect(lines.join('\n')).toContain('Failed to find group coordinator');

      await kafka!.restart();
      await bus.publish(`it-recovery-${id}`, { key: 'k', value: 'after the coordinator came back' });
      await waitFor(() => seen.length > 0, 'the message published once the coordinator was back', RECEIVED_WITHIN_MS).catch((error: Error) => {
        throw new Error(`${error.message}; bus log:\n${log()}`);
      });
      expect(seen).toEqual(['after the coordinator came back']);
      // One episode, logged once when it started and once when it ended, however many fresh consumers it took.
      expect(lines.filter((line) => line.includes('bus_consumer_crashed_recovering'))).toHaveLength(1);
      expect(lines.filter((line) => line.includes('bus_consumer_recovered'))).toHaveLength(1);
      // kafkajs' own lines, two per crash (its error level, the stack attached), stay at debug level.
      expect(lines.filter((line) => line.includes('"kafka":"Consumer"') && /Crash: |Restarting the consumer/.test(line))).toEqual([]);
    }, CRASH_WITHIN_MS + RECEIVED_WITHIN_MS + 240_000);
  });
}
