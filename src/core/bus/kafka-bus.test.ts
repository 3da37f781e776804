import net from 'node:net';
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../config/settings.js';
import type { Logger } from '../logger.js';
import { createMessageBus } from './index.js';
import { createKafkaBus, heartbeatIntervalFor, kafkajsRetries } from './kafka-bus.js';
import { createKafkaLog } from './kafka-log.js';
import { BUS_CLOSED_REASON } from './kafka-connections.js';
import { freePort } from '../free-port.fixture.js';

describe('core > bus > kafka-bus', () => {
  it('refuses to start without bootstrap servers, naming the variable', () => {
    const { settings } = resolveSettings({ env: { FLTS_BUS: 'kafka' } });
    expect(() => createMessageBus(settings)).toThrow(expect.objectContaining({ code: 'FLTS_CONFIG_INVALID_VALUE', message: expect.stringContaining('KAFKA_BOOTSTRAP_SERVERS') }));
  });

  it('builds no bus when bus.kind is none, and the file bus under <home>/bus for fs', () => {
    expect(createMessageBus(resolveSettings({ env: {} }).settings)).toBeUndefined();
    expect(createMessageBus(resolveSettings({ env: { FLTS_BUS: 'fs', FLTS_HOME: '/tmp/flts-home-x' } }).settings)?.kind).toBe('fs');
  });

  it('reports a broker that accepts connections and never answers as FLTS_BUS_UNAVAILABLE after bus.kafka.requestTimeoutMs', async () => {
    const sockets = new Set<net.Socket>();
    const blackhole = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {}).on('close', () => sockets.delete(socket)).resume();
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const broker = `127.0.0.1:${(blackhole.address() as net.AddressInfo).port}`;
    const { settings } = resolveSettings({ env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: broker, FLTS_KAFKA_CONNECTION_TIMEOUT_MS: '200', FLTS_KAFKA_REQUEST_TIMEOUT_MS: '300' } });
    const bus = createMessageBus(settings)!;
    const started = Date.now();
    try {
      const error = await bus.publish('model-training', { key: 'k', value: '{}' }).then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', retriable: true, message: expect.stringContaining(broker) });
      // kafkajs' default, 30 s per request, would not be over by now.
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await bus.close();
      sockets.forEach((socket) => socket.destroy());
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    }
  }, 30_000);

  it('ends a connection attempt still retrying when closed: close() returns and the publish waiting on it fails as closed, each refusal counted for its broker', async () => {
    const refusing = net.createServer();
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const broker = `127.0.0.1:${(refusing.address() as net.AddressInfo).port}`;
    await new Promise((resolve) => refusing.close(resolve));
    let refused!: () => void;
    const firstRefusal = new Promise<void>((resolve) => (refused = resolve));
    const logger: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error: () => refused(), child: () => logger };
    // Retries enough to outlast the test: only closing the bus can end them.
    const failedTo: string[] = [];
    const metrics = { subscribed() {}, delivered() {}, retried() {}, deadLetterRefused() {}, consumerCrashed() {}, consumerRestarted() {}, crashing() {}, connectionFailed: (to: string) => void failedTo.push(to) };
    const bus = createKafkaBus({ brokers: [broker], clientId: 'flts-test', logger, brokerRetries: 1_000, metrics });
    const publishing = bus.publish('model-training', { key: 'k', value: '{}' }).then(() => undefined, (error: unknown) => error);
    await firstRefusal;
    await bus.close();
    expect(await publishing).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', message: expect.stringContaining(BUS_CLOSED_REASON) });
    // The daemon's flts_bus_connection_failures_total: the refusals before the close, none for the bus ending its own.
    expect(failedTo.length).toBeGreaterThan(0);
    expect(new Set(failedTo)).toEqual(new Set([broker]));
  }, 30_000);

  it('fails a one-shot command\'s publish to a closed port within bus.kafka.commandConnectTimeoutMs, coded and naming the brokers and that setting', async () => {
    const broker = `127.0.0.1:${await freePort()}`;
    const { settings } = resolveSettings({ env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: broker, FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '1000' } });
    const bus = createMessageBus(settings, { oneShot: true })!;
    const started = performance.now();
    try {
      const error = await bus.publish('model-training', { key: 'k', value: '{}' }).then(() => undefined, (e: unknown) => e);
      // kafkajs' own retries of a refused connection took about 25 s.
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(error).toMatchObject({
        code: 'FLTS_BUS_UNAVAILABLE',
        retriable: true,
        // The words of every wait for the bootstrap brokers that none answered, a service's or kafkajs' own give-up
        // alike: before, this one said the bound and the latest error only, naming no bootstrap broker nor what to check.
        message: `Kafka admin connect failed (brokers ${broker}): not connected within 1000 ms, the wait FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS (setting bus.kafka.commandConnectTimeoutMs) allows a command, retries included: the bootstrap broker (${broker}) refused the connection or did not answer; KAFKA_BOOTSTRAP_SERVERS must name brokers this host can reach (a listener's host and port, up, with no firewall between); latest error: Connection error: connect ECONNREFUSED ${broker}`,
        details: { brokers: [broker], setting: 'bus.kafka.commandConnectTimeoutMs', waitedMs: 1000 },
      });
    } finally {
      await bus.close();
    }
  }, 40_000);

  it('names a listener that closes every connection at once as suspected of another protocol when a command gives up on it', async () => {
    const closing = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closing.listen(0, '127.0.0.1', resolve));
    const broker = `127.0.0.1:${(closing.address() as net.AddressInfo).port}`;
    const { settings } = resolveSettings({ env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: broker, FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '1000' } });
    const bus = createMessageBus(settings, { oneShot: true })!;
    try {
      const error = await bus.publish('model-training', { key: 'k', value: '{}' }).then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', message: expect.stringMatching(/not connected within 1000 ms.*right after connect.*check the listener's protocol/) });
    } finally {
      await bus.close();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    }
  }, 40_000);

  it('bounds a command\'s connect at 10 s by default, and leaves a service\'s waiting for the brokers past that bound', async () => {
    expect(resolveSettings({ env: {} }).settings.bus.kafka.commandConnectTimeoutMs).toBe(10_000);
    const broker = `127.0.0.1:${await freePort()}`;
    const { settings } = resolveSettings({ env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: broker, FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '100' } });
    let failures = 0;
    let thirdFailure!: () => void;
    const failedThrice = new Promise<void>((resolve) => (thirdFailure = resolve));
    const metrics = { subscribed() {}, delivered() {}, retried() {}, deadLetterRefused() {}, consumerCrashed() {}, consumerRestarted() {}, crashing() {}, connectionFailed: () => void (++failures === 3 && thirdFailure()) };
    const bus = createMessageBus(settings, { metrics })!;
    let settled = false;
    const publishing = bus.publish('model-training', { key: 'k', value: '{}' }).then(() => undefined, (error: unknown) => error).finally(() => (settled = true));
    // Three refusals are two of kafkajs' backoffs apart (at least 240 + 480 ms with its jitter): far past the 100 ms a command waits.
    await failedThrice;
    expect(settled).toBe(false);
    await bus.close();
    expect(await publishing).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', message: expect.stringContaining(BUS_CLOSED_REASON) });
  }, 30_000);

  it('lets a member killed without leaving hold its groups 10 s by default, with heartbeats every third of the session, at most every 3 s', () => {
    const { settings } = resolveSettings({ env: { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:9' } });
    // A restarted daemon's groups let it in once its killed predecessor's session timed out: 30 s before.
    expect(settings.bus.kafka.sessionTimeoutMs).toBe(10_000);
    expect(heartbeatIntervalFor(10_000)).toBe(3_000);
    // The brokers' least session (group.min.session.timeout.ms): two heartbeats may still be lost, not one.
    expect(heartbeatIntervalFor(6_000)).toBe(2_000);
    expect(heartbeatIntervalFor(45_000)).toBe(3_000);
  });

  it('retries in kafkajs about as long as before with at most 1 s between tries: 8 retries still cover about 25 s', () => {
    expect(kafkajsRetries(0)).toBe(0);
    expect(kafkajsRetries(1)).toBe(1);
    // 300 + 600 + 1200 + 2400 + 4800 + 3 * 5000 ms = 24.3 s, now 300 + 600 + 24 * 1000 ms.
    expect(kafkajsRetries(8)).toBe(26);
  });

  it('logs a broker\'s error answer to one request as a warning, a failed connection as an error, a consumer\'s crash (the bus logs it, coded), a topic creation\'s answer (the bus judges it per topic) and the bus closing its own as debug', () => {
    const seen: Array<[string, string]> = [];
    const record = (level: string) => (_entry: object, msg?: string) => void seen.push([level, msg ?? '']);
    const logger: Logger = { trace: record('trace'), debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error'), child: () => logger };
    const log = createKafkaLog(logger).logCreator(logLevel.INFO);
    const at = (namespace: string, level: logLevel, message: string) => log({ namespace, level, label: '', log: { timestamp: '', logger: 'kafkajs', message } });
    at('Connection', logLevel.ERROR, 'Response GroupCoordinator(key: 10, version: 2)');
    at('Connection', logLevel.ERROR, 'Response CreateTopics(key: 19, version: 3)');
    at('Connection', logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    at('Consumer', logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded');
    at('Consumer', logLevel.INFO, 'Starting');
    at('Connection', logLevel.ERROR, `Connection error: ${BUS_CLOSED_REASON}`);
    expect(seen).toEqual([
      ['warn', 'Response GroupCoordinator(key: 10, version: 2)'],
      ['debug', 'Response CreateTopics(key: 19, version: 3)'],
      ['error', 'bus_kafka_connection_lost'],
      ['debug', 'Crash: KafkaJSNumberOfRetriesExceeded'],
      ['debug', 'Starting'],
      ['debug', `Connection error: ${BUS_CLOSED_REASON}`],
    ]);
  });
});

