import { randomUUID } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageBus } from '../../src/core/bus/index.js';
import { resolveSettings } from '../../src/core/config/settings.js';
import { freePort } from '../helpers/free-port.js';
import { infraSkipReason } from './infra-env.js';
import { startPrivateKafka, type PrivateKafka } from './private-kafka.js';

/** Kafka's API key of CreateTopics. */
const CREATE_TOPICS = 19;

/**
 * A relay to the broker at `port` that holds the broker's answers to CreateTopics for `delayMs` (and what follows them
 * on that connection, so the order stays the broker's): a cluster slow to create topics, as one whose controller is
 * moving or loaded. The broker advertises the relay, so every connection after the bootstrap goes through it.
 */
async function slowCreationRelay(port: number): Promise<{ port: number; delayMs: number; setDelay: (ms: number) => void; close: () => Promise<void> }> {
  let delayMs = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const broker = net.connect(port, '127.0.0.1');
    for (const socket of [client, broker]) open.add(socket.once('close', () => open.delete(socket)));
    client.on('error', () => broker.destroy()).on('close', () => broker.destroy());
    broker.on('error', () => client.destroy()).on('close', () => client.destroy());
    const creations = new Set<number>();
    let fromClient = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      // Requests: size, api key, api version, correlation id.
      fromClient = Buffer.concat([fromClient, chunk]);
      while (fromClient.length >= 12 && fromClient.length >= 4 + fromClient.readInt32BE(0)) {
        if (fromClient.readInt16BE(4) === CREATE_TOPICS) creations.add(fromClient.readInt32BE(8));
        fromClient = fromClient.subarray(4 + fromClient.readInt32BE(0));
      }
      broker.write(chunk);
    });
    // Responses: size, correlation id. Held ones and those after them go out in order.
    let fromBroker = Buffer.alloc(0);
    let sending = Promise.resolve();
    broker.on('data', (chunk: Buffer) => {
      fromBroker = Buffer.concat([fromBroker, chunk]);
      while (fromBroker.length >= 8 && fromBroker.length >= 4 + fromBroker.readInt32BE(0)) {
        const size = 4 + fromBroker.readInt32BE(0);
        const frame = fromBroker.subarray(0, size);
        fromBroker = fromBroker.subarray(size);
        const hold = creations.delete(frame.readInt32BE(4)) ? delayMs : 0;
        sending = sending.then(() => new Promise<void>((resolve) => setTimeout(resolve, hold))).then(() => void client.write(frame));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get delayMs() {
      return delayMs;
    },
    setDelay: (ms) => (delayMs = ms),
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      for (const socket of open) socket.destroy();
    }),
  };
}

const skipReason = infraSkipReason();

describe.skipIf(skipReason !== undefined)(`integration > kafka > a cluster slow to create topics${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let kafka: PrivateKafka | undefined;
  let relay: Awaited<ReturnType<typeof slowCreationRelay>>;
  beforeAll(async () => {
    // The relay listens before the broker starts: it advertises the relay's address, which its readiness probe uses.
    const brokerPort = await freePort();
    relay = await slowCreationRelay(brokerPort);
    kafka = await startPrivateKafka([`advertised.listeners=PLAINTEXT://127.0.0.1:${relay.port}`], { kafkaPort: brokerPort });
  }, 240_000);
  afterAll(async () => {
    await kafka?.down();
    await relay?.close();
  });

  /** A one-shot command's bus (bound by bus.kafka.commandConnectTimeoutMs) on the private broker. */
  function commandBus(env: Record<string, string>) {
    const { settings } = resolveSettings({ env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: kafka!.brokers, FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '2000', ...env } });
    return createMessageBus(settings, { oneShot: true })!;
  }

  it('has a command wait for topics the brokers create more slowly than bus.kafka.commandConnectTimeoutMs', async () => {
    relay.setDelay(5_000);
    const bus = commandBus({});
    const topic = `it-slow-${randomUUID().slice(0, 8)}`;
    try {
      // Before, the command's bound on reaching the brokers (2 s here) covered the creation as well and failed it.
      await expect(bus.publish(topic, { key: 'k', value: '{}' })).resolves.toBeUndefined();
    } finally {
      await bus.close();
    }
  }, 60_000);

  it('fails a command whose topics are not created within bus.kafka.topicCreationTimeoutMs, naming it', async () => {
    relay.setDelay(8_000);
    const bus = commandBus({ FLTS_KAFKA_TOPIC_CREATION_TIMEOUT_MS: '2500' });
    const topic = `it-slow-${randomUUID().slice(0, 8)}`;
    try {
      await expect(bus.publish(topic, { key: 'k', value: '{}' })).rejects.toMatchObject({
        code: 'FLTS_BUS_UNAVAILABLE',
        message: expect.stringContaining('the brokers answered, but did not create the topics within 2500 ms'),
        details: { setting: 'bus.kafka.topicCreationTimeoutMs', waitedMs: 2_500 },
      });
    } finally {
      await bus.close();
    }
  }, 60_000);
});
