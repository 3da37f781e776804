import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKafkaBus } from '../../src/core/bus/kafka-bus.js';
import { waitFor } from '../../src/core/bus/message-bus.contract.js';
import type { MessageBus, MessageHandler } from '../../src/core/bus/message-bus.js';
import { infraSkipReason, loadInfraEnv } from './infra-env.js';
import { recordingLogger } from './private-kafka.js';

const skipReason = infraSkipReason();
const infra = loadInfraEnv();
/** kafkajs' rebalance timeout (60 s) is how long a member that does not rejoin holds up the group: a bound above it. */
const REJOIN_WITHIN_MS = 90_000;

/** A member's trace of what went wrong in its consumer: crashes, failed commits, the coordinator forgetting it. */
function troubles(lines: string[]): string[] {
  return lines.filter((line) => /bus_consumer_crash|bus_commit_deferred|not aware of this member|Crash: /.test(line));
}

if (skipReason) {
  describe('integration > kafka-bus > rebalance during a long handler', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('integration > kafka-bus > rebalance during a long handler', () => {
    it('lets a second member join while the first one\'s handler still runs: no consumer crash, no failed commit, the effect once, and both consume on', async () => {
      const id = randomUUID().slice(0, 8);
      const topic = `it-long-handler-${id}`;
      const group = `it-long-handler-${id}`;
      const first = recordingLogger();
      const second = recordingLogger();
      const options = { clientId: 'it-long-handler', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, joinTimeoutMs: 1_000 };
      const buses: MessageBus[] = [createKafkaBus({ ...options, brokers: infra.kafkaBrokers, logger: first.logger }), createKafkaBus({ ...options, brokers: infra.kafkaBrokers, logger: second.logger })];
      try {
        await buses[0].ensureTopics([topic], 1);
        // What a daemon's handler decides from: durable state (what is done) read under a lease, so a message another
        // member handles meanwhile waits, then finds its effect done (the trainer's run registry and work leases).
        const done = new Set<string>();
        const applied: string[] = [];
        const deliveries: string[] = [];
        let lease: Promise<void> = Promise.resolve();
        let training: () => void = () => {};
        const trainingStarted = new Promise<void>((resolve) => (training = resolve));
        let finish: () => void = () => {};
        const trainingEnds = new Promise<void>((resolve) => (finish = resolve));
        const handlerOf = (member: string): MessageHandler => async (message) => {
          deliveries.push(`${member}:${message.value}`);
          const turn = lease.then(async () => {
            if (done.has(message.value)) return;
            if (message.value === 'long') {
              training();
              await trainingEnds;
            }
            applied.push(message.value);
            done.add(message.value);
          });
          lease = turn.catch(() => {});
          await turn;
        };
        let secondJoins = 0;
        await buses[0].subscribe({ group, topics: [topic], fromBeginning: true }, handlerOf('first'));
        await buses[0].publish(topic, { key: 'k', value: 'long' });
        await trainingStarted;

        // A replica starting while the training runs: the group rebalances around the handler still running.
        await buses[1].subscribe({ group, topics: [topic], fromBeginning: true, onJoin: () => void (secondJoins += 1) }, handlerOf('second'));
        await waitFor(() => secondJoins > 0, 'the second member\'s join', REJOIN_WITHIN_MS);
        finish();
        await waitFor(async () => (await buses[0].lag(group, [topic]))[0]?.committedOffset === 1, 'the long message committed', REJOIN_WITHIN_MS);

        // Both members consume on afterwards: whichever holds the partition now handles the next message.
        await buses[0].publish(topic, { key: 'k', value: 'next' });
        await waitFor(async () => (await buses[0].lag(group, [topic]))[0]?.committedOffset === 2, 'the next message committed', REJOIN_WITHIN_MS);

        expect(applied).toEqual(['long', 'next']);
        // The first member had the long message once (no crash brought it back); the second had it only if the partition
        // moved to it, and the next message went to one member once.
        expect(deliveries.filter((delivery) => delivery === 'first:long')).toHaveLength(1);
        expect(deliveries.filter((delivery) => delivery.endsWith(':next'))).toHaveLength(1);
        expect(troubles(first.lines)).toEqual([]);
        expect(troubles(second.lines)).toEqual([]);
      } finally {
        await Promise.all(buses.map((bus) => bus.close()));
      }
    }, 4 * REJOIN_WITHIN_MS);
  });
}
