import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageBus } from '../../src/core/bus/index.js';
import { createKafkaBus } from '../../src/core/bus/kafka-bus.js';
import { waitFor } from '../../src/core/bus/message-bus.contract.js';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { startDaemon } from '../../src/core/daemon/start-daemon.js';
import { FltsError } from '../../src/core/errors.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { createS3Store } from '../../src/core/storage/s3-store.js';
import { freePort } from '../helpers/free-port.js';
import { DATASETS } from '../helpers/poblesec-slice.js';
import { runCli } from '../helpers/run-cli.js';
import { skipNote, useServers } from '../helpers/servers.js';
import { waitUntil } from '../helpers/wait-until.js';
import { recordingLogger } from './private-kafka.js';

/**
 * A broker of its own (scripts/infra/infra.sh start kafka-secure, started once by the suite's setup): SASL_PLAINTEXT
 * and SASL_SSL listeners with SCRAM users, an SSL listener that requires a client certificate, and its internal
 * PLAINTEXT listener. The shared broker of the other tests stays PLAINTEXT.
 */
const secure = await useServers('kafka-secure');
const vars = secure.vars;

/** The environment a user sets for each listener, by the documented variable names. */
function listenerEnv(listener: 'SASL_PLAINTEXT' | 'SASL_SSL' | 'SSL', extra: Record<string, string> = {}): Record<string, string> {
  const login = { FLTS_KAFKA_SASL_USERNAME: vars.KAFKA_SECURE_SCRAM_USER, FLTS_KAFKA_SASL_PASSWORD: vars.KAFKA_SECURE_SCRAM_PASSWORD };
  const byListener: Record<string, string> = {
    SASL_PLAINTEXT: { KAFKA_BOOTSTRAP_SERVERS: vars.KAFKA_SECURE_SASL_PLAINTEXT_SERVERS, FLTS_KAFKA_SASL_MECHANISM: 'scram-sha-256', ...login },
    SASL_SSL: { KAFKA_BOOTSTRAP_SERVERS: vars.KAFKA_SECURE_SASL_SSL_SERVERS, FLTS_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', FLTS_KAFKA_SSL_CA_FILE: vars.KAFKA_SECURE_CA_FILE, ...login },
    SSL: { KAFKA_BOOTSTRAP_SERVERS: vars.KAFKA_SECURE_SSL_SERVERS, FLTS_KAFKA_SSL_CA_FILE: vars.KAFKA_SECURE_CA_FILE, FLTS_KAFKA_SSL_CERT_FILE: vars.KAFKA_SECURE_CLIENT_CERT_FILE, FLTS_KAFKA_SSL_KEY_FILE: vars.KAFKA_SECURE_CLIENT_KEY_FILE },
  }[listener];
  return { FLTS_BUS: 'kafka', FLTS_KAFKA_SECURITY_PROTOCOL: listener, FLTS_BUS_RETRY_BACKOFF_MS: '10', ...byListener, ...extra };
}

const settingsFor = (env: Record<string, string>): Settings => resolveSettings({ env }).settings;

/**
 * A relay on 127.0.0.1 to the broker at `target` that counts the connections made through it: each is one attempt
 * of a client's, so a client that gives up at once makes one or two, one that waits out kafkajs' retries many more.
 */
async function countingRelay(target: string): Promise<{ address: string; connections: () => number; close: () => Promise<void> }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  let connections = 0;
  const open = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    connections += 1;
    const broker = net.connect(port, host);
    for (const socket of [client, broker]) open.add(socket.once('close', () => open.delete(socket)));
    client.on('error', () => broker.destroy());
    broker.on('error', () => client.destroy());
    client.pipe(broker).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    address: `${host}:${(relay.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () => new Promise((resolve) => {
      relay.close(() => resolve());
      for (const socket of open) socket.destroy();
    }),
  };
}

/** Publishes one message and reads it back in a fresh group, through the bus the settings configure. */
async function roundTrip(env: Record<string, string>): Promise<string[]> {
  const bus = createMessageBus(settingsFor(env))!;
  const topic = `it-secure-${randomUUID().slice(0, 8)}`;
  const received: string[] = [];
  try {
    await bus.publish(topic, { key: 'k', value: '{"hello":"secure"}' });
    const subscription = await bus.subscribe({ group: `${topic}-group`, topics: [topic] }, async (message) => {
      received.push(message.value);
    });
    await waitFor(() => received.length > 0, `the message on ${topic}`);
    await subscription.stop();
    return received;
  } finally {
    await bus.close();
  }
}

/** The coded error of a topic creation through the bus the settings configure, with its retries as configured. */
async function ensureTopicsError(env: Record<string, string>): Promise<FltsError> {
  const bus = createMessageBus(settingsFor(env))!;
  try {
    return (await bus.ensureTopics([`it-secure-${randomUUID().slice(0, 8)}`]).then(() => undefined, (e: unknown) => e)) as FltsError;
  } finally {
    await bus.close();
  }
}

/** The coded error of the bus's first broker call (kafkajs retries kept at none: what is tested is flts's answer). */
async function firstCallError(env: Record<string, string>): Promise<FltsError> {
  const { kafka } = settingsFor(env).bus;
  const bus = createKafkaBus({ ...kafka, brokerRetries: 0 });
  try {
    const error = await bus.ensureTopics([`it-secure-${randomUUID().slice(0, 8)}`]).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(FltsError);
    return error as FltsError;
  } finally {
    await bus.close();
  }
}

describe.skipIf(secure.skip)(`integration > kafka-secure${skipNote(secure)}`, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'flts-kafka-secure-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes and consumes over SASL_PLAINTEXT with SCRAM-SHA-256', async () => {
    expect(await roundTrip(listenerEnv('SASL_PLAINTEXT'))).toEqual(['{"hello":"secure"}']);
  });

  it('publishes and consumes over SASL_SSL with SCRAM-SHA-512, trusting the CA file', async () => {
    expect(await roundTrip(listenerEnv('SASL_SSL'))).toEqual(['{"hello":"secure"}']);
  });

  it('publishes and consumes over SSL with a client certificate whose key is encrypted (mutual TLS)', async () => {
    const tls = path.dirname(vars.KAFKA_SECURE_CA_FILE);
    const passphrase = (await readFile(path.join(tls, 'client-key-password'), 'utf8')).trim();
    expect(await roundTrip(listenerEnv('SSL', { FLTS_KAFKA_SSL_KEY_FILE: path.join(tls, 'client-encrypted.key'), FLTS_KAFKA_SSL_KEY_PASSWORD: passphrase }))).toEqual(['{"hello":"secure"}']);
  });

  it('answers a wrong password with FLTS_BUS_AUTH_FAILED, not retried and without the password', async () => {
    const { kafka } = settingsFor(listenerEnv('SASL_PLAINTEXT', { FLTS_KAFKA_SASL_PASSWORD: 'wrong-password-42' })).bus;
    // The bus's own retries as configured: a refused login must not go through them.
    const bus = createKafkaBus(kafka);
    try {
      const error = (await bus.ensureTopics(['it-secure-auth']).catch((e: unknown) => e)) as FltsError;
      expect(error).toMatchObject({ code: 'FLTS_BUS_AUTH_FAILED', kind: 'usage', retriable: false });
      expect(error.message).toMatch(/refused the SASL login.*SCRAM SHA256/);
      expect(JSON.stringify(error.toJSON())).not.toContain('wrong-password-42');
    } finally {
      await bus.close();
    }
  });

  it('answers a broker certificate from another CA, and a missing client certificate, with FLTS_BUS_TLS_FAILED', async () => {
    const untrusted = await firstCallError(listenerEnv('SASL_SSL', { FLTS_KAFKA_SSL_CA_FILE: vars.KAFKA_SECURE_OTHER_CA_FILE }));
    expect(untrusted).toMatchObject({ code: 'FLTS_BUS_TLS_FAILED', retriable: false });
    const anonymous = await firstCallError(listenerEnv('SSL', { FLTS_KAFKA_SSL_CERT_FILE: '', FLTS_KAFKA_SSL_KEY_FILE: '' }));
    expect(anonymous).toMatchObject({ code: 'FLTS_BUS_TLS_FAILED', retriable: false });
  });

  it('ends a daemon startup on a refused login instead of waiting for the broker forever', async () => {
    const settings = settingsFor(listenerEnv('SASL_PLAINTEXT', { FLTS_KAFKA_SASL_PASSWORD: 'wrong-password-42', FLTS_HOME: dir, FLTS_DAEMON_PORT: '0', FLTS_DAEMON_ROLES: 'promoter' }));
    const bus = createMessageBus(settings)!;
    const store = createFsStore(path.join(dir, 'store'));
    await expect(startDaemon(settings, { store, bus })).rejects.toMatchObject({ code: 'FLTS_BUS_AUTH_FAILED' });
  });

  it('ends flts daemon with exit code 2 within seconds at a refused certificate, not after kafkajs\' retries', async () => {
    const untrusted = listenerEnv('SASL_SSL', { FLTS_KAFKA_SSL_CA_FILE: vars.KAFKA_SECURE_OTHER_CA_FILE });
    const anonymous = listenerEnv('SSL', { FLTS_KAFKA_SSL_CERT_FILE: '', FLTS_KAFKA_SSL_KEY_FILE: '' });
    for (const env of [untrusted, anonymous]) {
      // Every attempt goes through the relay: counted, not timed, so a slow machine changes nothing.
      const relay = await countingRelay(env.KAFKA_BOOTSTRAP_SERVERS);
      try {
        // A daemon that waits instead of ending is stopped by the timeout (SIGTERM: it then exits 0).
        const run = await runCli(['daemon', '--json', '--home', dir], { env: { ...env, KAFKA_BOOTSTRAP_SERVERS: relay.address, FLTS_DAEMON_PORT: '0', FLTS_DAEMON_ROLES: 'promoter' }, timeoutMs: 60_000 });
        expect(run.exitCode, run.stdout + run.stderr).toBe(2);
        expect(run.json.error).toMatchObject({ code: 'FLTS_BUS_TLS_FAILED', kind: 'usage' });
        // kafkajs' retries (26 by default, about 25 s) each connect again; a refused certificate ends at the first.
        expect(relay.connections()).toBeLessThanOrEqual(2);
      } finally {
        await relay.close();
      }
    }
  }, 130_000);

  it('fails a one-shot command with exit code 2 and FLTS_BUS_AUTH_FAILED, never printing the password', async () => {
    const env = listenerEnv('SASL_PLAINTEXT', { FLTS_KAFKA_SASL_PASSWORD: 'wrong-password-42' });
    const run = await runCli(['replay-offsets', '--group', 'it-secure-group', '--topic', 'it-secure-topic', '--to-earliest', '--json', '--home', dir], { env });
    expect(run.exitCode).toBe(2);
    expect(run.json.error).toMatchObject({ code: 'FLTS_BUS_AUTH_FAILED', kind: 'usage' });
    expect(run.stdout + run.stderr).not.toContain('wrong-password-42');
  });

  it('says a refused login once, coded with its hint, without kafkajs\' own lines of it: flts preprocess and flts daemon', async () => {
    const env = listenerEnv('SASL_PLAINTEXT', { FLTS_KAFKA_SASL_PASSWORD: 'wrong-password-42' });
    const data = ['--train', path.join(DATASETS, 'PobleSec.csv'), '--test', path.join(DATASETS, 'PobleSec_test.csv'), '--sample-train-rows', '200', '--sample-test-rows', '50'];
    const preprocess = await runCli(['preprocess', ...data, '--home', dir], { env });
    // A daemon that waits instead of ending is stopped by the timeout (SIGTERM: it then exits 0).
    const daemon = await runCli(['daemon', '--home', dir], { env: { ...env, FLTS_DAEMON_PORT: '0', FLTS_DAEMON_ROLES: 'promoter' }, timeoutMs: 60_000 });
    for (const run of [preprocess, daemon]) {
      expect(run.exitCode, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain('Error FLTS_BUS_AUTH_FAILED');
      expect(run.stderr).toContain('Hint: Check FLTS_KAFKA_SASL_USERNAME');
      // Before, a warning (the broker's answer) and two errors (the authenticator's, the seed loop's) said it again raw.
      expect(run.stderr).not.toContain('"logger":"kafkajs"');
    }
  });
});

describe.skipIf(secure.skip)(`integration > kafka-secure > a user's pipeline and its mistakes${skipNote(secure)}`, () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'flts-kafka-pipeline-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('runs flts preprocess, train -m NAIVE and promote over SASL_SSL with PLAIN and a private CA, each publishing, the password in no output', async () => {
    const id = randomUUID().slice(0, 8);
    // Topics of this test's own, so what it reads back is what these commands published.
    const topics = { PRODUCER_TOPIC_0: `it-pipe-training-${id}`, PRODUCER_TOPIC_1: `it-pipe-inference-${id}`, MODEL_TRAINING_TOPIC: `it-pipe-status-${id}`, MODEL_SELECTED_TOPIC: `it-pipe-selected-${id}` };
    const env = listenerEnv('SASL_SSL', { FLTS_KAFKA_SASL_MECHANISM: 'PLAIN', ...topics });
    for (const step of [['preprocess', '--dataset', 'example'], ['train', '-m', 'NAIVE'], ['promote', '--best']]) {
      const run = await runCli([...step, '--json', '--home', home], { env });
      expect(run.exitCode, `${step[0]}: ${run.stdout}${run.stderr}`).toBe(0);
      expect(run.stdout + run.stderr).not.toContain(vars.KAFKA_SECURE_SCRAM_PASSWORD);
      if (step[0] === 'promote') expect(run.json.result.published).toEqual({ topic: topics.MODEL_SELECTED_TOPIC, ok: true });
    }
    const bus = createMessageBus(settingsFor(env))!;
    try {
      const ends = await bus.lag(`it-pipe-${id}`, Object.values(topics));
      expect(Object.fromEntries(ends.map((end) => [end.topic, end.endOffset > 0]))).toEqual(Object.fromEntries(Object.values(topics).map((topic) => [topic, true])));
    } finally {
      await bus.close();
    }
  }, 120_000);

  it('names a SASL mechanism the listener does not enable, once and coded, without kafkajs\' own line of it', async () => {
    // The SASL_PLAINTEXT listener enables SCRAM only; PLAIN is enabled on SASL_SSL alone.
    const run = await runCli(['preprocess', '--dataset', 'example', '--home', home], { env: listenerEnv('SASL_PLAINTEXT', { FLTS_KAFKA_SASL_MECHANISM: 'PLAIN' }) });
    expect(run.exitCode, run.stdout + run.stderr).toBe(2);
    // Before: "the broker refused the SASL login: The broker does not support the requested SASL mechanism", beside
    // kafkajs' seed loop saying it raw at error.
    expect(run.stderr).toContain("Error FLTS_BUS_AUTH_FAILED: processed data");
    expect(run.stderr).toContain("the broker's listener does not enable the SASL mechanism PLAIN (UNSUPPORTED_SASL_MECHANISM): set FLTS_KAFKA_SASL_MECHANISM");
    expect(run.stderr).not.toContain('"logger":"kafkajs"');
  });

  it('says a broker certificate from another CA once, coded, without a raw line of the connection\'s failure', async () => {
    const run = await runCli(['preprocess', '--dataset', 'example', '--home', home], { env: listenerEnv('SASL_SSL', { FLTS_KAFKA_SSL_CA_FILE: vars.KAFKA_SECURE_OTHER_CA_FILE }) });
    expect(run.exitCode, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain(`Error FLTS_BUS_TLS_FAILED: processed data`);
    expect(run.stderr).toContain(`: the broker's certificate does not chain to the CA certificates of FLTS_KAFKA_SSL_CA_FILE (${vars.KAFKA_SECURE_OTHER_CA_FILE})`);
    expect(run.stderr).not.toContain('--use-system-ca');
    // Before, bus_kafka_connection_lost at error with kafkajs' words of the same refusal came first.
    expect(run.stderr).not.toContain('bus_kafka_connection_lost');
    expect(run.stderr).not.toContain('"logger":"kafkajs"');
  });

  it('fails a one-shot command within bus.kafka.commandConnectTimeoutMs when the broker advertises an address nobody answers at, naming it', async () => {
    const env = { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: vars.KAFKA_SECURE_ADVERTISING_ELSEWHERE_SERVERS, FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '2000' };
    // Before, the bound covered the connect to the bootstrap broker only: the topic creation at the advertised address
    // was retried by kafkajs and the bus for about 160 s, past this timeout (a killed run has no exit code 6).
    const run = await runCli(['preprocess', '--dataset', 'example', '--json', '--home', home], { env, timeoutMs: 60_000 });
    expect(run.exitCode, run.stdout + run.stderr).toBe(6);
    const advertised = vars.KAFKA_SECURE_UNREACHABLE_ADVERTISED;
    expect(run.json.error).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', details: { advertised: [advertised], setting: 'bus.kafka.commandConnectTimeoutMs', waited_ms: 2000 } });
    expect(run.json.error.message).toContain('no answer within 2000 ms, the wait FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS');
    // The outage's line on stderr marks the address as advertised: what to check is advertised.listeners.
    const lost = run.stderr.split('\n').filter((line) => line.includes('bus_kafka_connection_lost'));
    expect(lost, run.stderr).toHaveLength(1);
    expect(JSON.parse(lost[0])).toMatchObject({ broker: advertised, advertised: true });
    expect(run.json.error.message).toContain(`the brokers answered at their bootstrap address, but not at the address they advertise for the cluster (${advertised}): their advertised.listeners must name addresses this host can reach`);
  }, 90_000);

  it('has a daemon facing a broker that advertises an address nobody answers at say so within bus.kafka.commandConnectTimeoutMs, and retry', async () => {
    const daemonHome = await mkdtemp(path.join(os.tmpdir(), 'flts-kafka-elsewhere-daemon-'));
    const port = await freePort();
    const settings = settingsFor({ FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: vars.KAFKA_SECURE_ADVERTISING_ELSEWHERE_SERVERS, FLTS_KAFKA_COMMAND_CONNECT_TIMEOUT_MS: '2000', FLTS_HOME: daemonHome, FLTS_DAEMON_PORT: String(port), FLTS_DAEMON_ROLES: 'promoter' });
    const advertised = vars.KAFKA_SECURE_UNREACHABLE_ADVERTISED;
    const retries: Array<Record<string, unknown>> = [];
    let secondRetry: (fields: Record<string, unknown>) => void = () => {};
    const twice = new Promise<Record<string, unknown>>((resolve) => (secondRetry = resolve));
    let firstRetry: (fields: Record<string, unknown>) => void = () => {};
    const once = new Promise<Record<string, unknown>>((resolve) => (firstRetry = resolve));
    const logger: Logger = {
      ...silentLogger,
      warn: (fields: Record<string, unknown>, msg?: string) => {
        if (msg !== 'daemon_startup_retrying') return;
        retries.push(fields);
        if (retries.length === 1) firstRetry(fields);
        if (retries.length === 2) secondRetry(fields);
      },
      child: () => logger,
    };
    const aborter = new AbortController();
    // The bus a daemon gets (a service's: no command bound, kafkajs' retries as configured).
    const bus = createMessageBus(settings, { logger })!;
    const starting = startDaemon(settings, { store: createFsStore(path.join(daemonHome, 'store')), bus, logger, signal: aborter.signal, startupRetry: { retries: 1000, baseDelayMs: 100, maxDelayMs: 200, jitter: false } });
    try {
      // Before, the first attempt's topic creation waited at the advertised address for about 160 s (kafkajs' retries
      // and the bus's) before the daemon said anything: past this test's timeout.
      const first = await once;
      expect(first).toMatchObject({ attempt: 1, code: 'FLTS_BUS_UNAVAILABLE', advertised: [advertised] });
      expect(first.err).toContain(`no answer yet after 2000 ms (still waiting)`);
      expect(first.err).toContain(`but not at the address they advertise for the cluster (${advertised})`);
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      const body = (await response.json()) as { startup?: { code: string; message: string } };
      expect(response.status).toBe(503);
      // The addresses are the operator's, in the log: /readyz answers anyone who reaches the port, by code.
      expect(body.startup).toMatchObject({ waiting: 'bus', code: 'FLTS_BUS_UNAVAILABLE' });
      expect(JSON.stringify(body)).not.toContain(advertised);
      // It goes on trying, and says so again.
      expect(await twice).toMatchObject({ attempt: 2, code: 'FLTS_BUS_UNAVAILABLE', advertised: [advertised] });
    } finally {
      aborter.abort();
      await starting.catch(() => undefined);
      await rm(daemonHome, { recursive: true, force: true });
    }
  }, 60_000);

  it('names the advertised address nobody answers at when flts replay-offsets fails', async () => {
    const env = { KAFKA_BOOTSTRAP_SERVERS: vars.KAFKA_SECURE_ADVERTISING_ELSEWHERE_SERVERS };
    const run = await runCli(['replay-offsets', '--group', 'it-elsewhere-group', '--topic', 'it-elsewhere-topic', '--to-earliest', '--json', '--home', home], { env });
    expect(run.exitCode, run.stdout + run.stderr).toBe(6);
    expect(run.json.error).toMatchObject({ code: 'FLTS_BUS_UNAVAILABLE', details: { advertised: [vars.KAFKA_SECURE_UNREACHABLE_ADVERTISED] } });
    expect(run.json.error.message).toContain(`but not at the address they advertise for the cluster (${vars.KAFKA_SECURE_UNREACHABLE_ADVERTISED})`);
  });
});

describe.skipIf(secure.skip)(`integration > kafka-secure > S3 over https with a private CA${skipNote(secure)}`, () => {
  let server: https.Server;
  let endpoint: string;
  beforeAll(async () => {
    // The broker's test certificate (127.0.0.1, signed by the test CA) on an https server that says yes to everything.
    const tls = path.dirname(vars.KAFKA_SECURE_CA_FILE);
    server = https.createServer({ cert: await readFile(path.join(tls, 'server.pem')), key: await readFile(path.join(tls, 'server.key')) }, (_request, response) => response.writeHead(200).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('trusts FLTS_S3_CA_FILE, and without it refuses the certificate with FLTS_STORE_TLS_FAILED', async () => {
    const { s3 } = resolveSettings({ env: { MINIO_ENDPOINT: endpoint, FLTS_S3_CA_FILE: vars.KAFKA_SECURE_CA_FILE } }).settings.store;
    await createS3Store(s3).ensureBucket('it-tls');
    const untrusting = createS3Store({ ...s3, caFile: '' });
    await expect(untrusting.ensureBucket('it-tls')).rejects.toMatchObject({ code: 'FLTS_STORE_TLS_FAILED', retriable: false });
  });
});

describe.skipIf(secure.skip)(`integration > kafka-secure > a listener of another protocol${skipNote(secure)}`, () => {
  const plain = (servers: string, protocol: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' = 'PLAINTEXT'): Record<string, string> => {
    const login: Record<string, string> = protocol === 'SASL_PLAINTEXT' ? { FLTS_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', FLTS_KAFKA_SASL_USERNAME: vars.KAFKA_SECURE_SCRAM_USER, FLTS_KAFKA_SASL_PASSWORD: vars.KAFKA_SECURE_SCRAM_PASSWORD } : {};
    const ca: Record<string, string> = protocol === 'SSL' ? { FLTS_KAFKA_SSL_CA_FILE: vars.KAFKA_SECURE_CA_FILE } : {};
    return { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: servers, FLTS_KAFKA_SECURITY_PROTOCOL: protocol, FLTS_BUS_RETRY_BACKOFF_MS: '10', ...login, ...ca };
  };

  it('answers PLAINTEXT or SASL_PLAINTEXT at a TLS listener with FLTS_BUS_PROTOCOL_MISMATCH, from the alert it writes back', async () => {
    for (const env of [plain(vars.KAFKA_SECURE_SSL_SERVERS), plain(vars.KAFKA_SECURE_SASL_SSL_SERVERS, 'SASL_PLAINTEXT')]) {
      const error = await ensureTopicsError(env);
      expect(error).toMatchObject({ code: 'FLTS_BUS_PROTOCOL_MISMATCH', kind: 'usage', retriable: false, details: { listener: 'tls-listener' } });
      expect(error.message).toMatch(/answered with a TLS record \(15030300020250\): its listener expects TLS \(SSL or SASL_SSL\), but FLTS_KAFKA_SECURITY_PROTOCOL is (SASL_)?PLAINTEXT/);
    }
  });

  it('answers SSL or SASL_SSL at a plain listener with FLTS_BUS_PROTOCOL_MISMATCH, once the listener answers without TLS', async () => {
    for (const env of [plain(vars.KAFKA_SECURE_PLAINTEXT_SERVERS, 'SSL'), plain(vars.KAFKA_SECURE_SASL_PLAINTEXT_SERVERS, 'SSL')]) {
      const error = await ensureTopicsError(env);
      expect(error).toMatchObject({ code: 'FLTS_BUS_PROTOCOL_MISMATCH', retriable: false, details: { listener: 'plain-listener' } });
      expect(error.message).toMatch(/closed the TLS handshake without a byte and answers a Kafka request without TLS: its listener expects no TLS/);
    }
  });

  it('answers no SASL at a SASL listener, and SASL at a plain one, with FLTS_BUS_PROTOCOL_MISMATCH', async () => {
    const noLogin = await ensureTopicsError(plain(vars.KAFKA_SECURE_SASL_PLAINTEXT_SERVERS));
    expect(noLogin).toMatchObject({ code: 'FLTS_BUS_PROTOCOL_MISMATCH', retriable: false, details: { listener: 'sasl-listener' } });
    expect(noLogin.message).toMatch(/answered ApiVersions and closed the connection at the next request.*expects a SASL login/);
    const login = await ensureTopicsError(plain(vars.KAFKA_SECURE_PLAINTEXT_SERVERS, 'SASL_PLAINTEXT'));
    expect(login).toMatchObject({ code: 'FLTS_BUS_PROTOCOL_MISMATCH', retriable: false, details: { kafkaErrorType: 'ILLEGAL_SASL_STATE' } });
  });

  it('ends flts daemon at once with exit code 2 when it speaks PLAINTEXT to a TLS listener', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-kafka-protocol-'));
    try {
      // A daemon that waits instead of ending is stopped by the timeout (SIGTERM: it then exits 0).
      const run = await runCli(['daemon', '--json', '--home', home], { env: { ...plain(vars.KAFKA_SECURE_SSL_SERVERS), FLTS_DAEMON_PORT: '0', FLTS_DAEMON_ROLES: 'promoter' }, timeoutMs: 45_000 });
      expect(run.exitCode, run.stdout + run.stderr).toBe(2);
      expect(run.json.error).toMatchObject({ code: 'FLTS_BUS_PROTOCOL_MISMATCH', kind: 'usage' });
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('keeps a daemon waiting for an address that closes every connection at once, its log saying the listener\'s protocol may not match and /readyz its code', async () => {
    // As a proxy with no broker behind it, and as a plain Kafka listener to a TLS handshake until it answers without TLS.
    const proxy = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-kafka-protocol-'));
    const port = await freePort();
    const settings = settingsFor({ ...plain(address, 'SSL'), FLTS_HOME: home, FLTS_DAEMON_PORT: String(port), FLTS_DAEMON_ROLES: 'promoter' });
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (fields: { err?: unknown }, msg?: string) => void warnings.push(`${msg} ${String(fields.err)}`), child: () => logger };
    const aborter = new AbortController();
    // kafkajs' own retries kept at none, so the first attempt fails (and says why) at once.
    const bus = createKafkaBus({ ...settings.bus.kafka, brokerRetries: 0 });
    const starting = startDaemon(settings, { store: createFsStore(path.join(home, 'store')), bus, logger, signal: aborter.signal, startupRetry: { retries: 1000, baseDelayMs: 100, maxDelayMs: 200, jitter: false } });
    const suspicion = "right after connect (during the TLS handshake): check the listener's protocol (TLS/SASL) matches the settings (FLTS_KAFKA_SECURITY_PROTOCOL is SSL)";
    try {
      const readyz = await waitUntil(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        const body = (await response.json()) as { startup?: { code: string; message: string } };
        return body.startup ? { status: response.status, startup: body.startup } : undefined;
      }, 'a startup reason on /readyz', 60_000);
      expect(readyz.status).toBe(503);
      expect(readyz.startup.code).toBe('FLTS_BUS_UNAVAILABLE');
      expect(readyz.startup).toMatchObject({ waiting: 'bus' });
      expect(readyz.startup.message).not.toContain(address);
      expect(warnings.find((line) => line.startsWith('daemon_startup_retrying'))).toContain(`connection closed by broker ${address} ${suspicion}`);
    } finally {
      aborter.abort();
      await starting.catch(() => undefined);
      await new Promise((resolve) => proxy.close(resolve));
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe.skipIf(secure.skip)(`integration > kafka-secure > several bootstrap brokers, one of them wrong${skipNote(secure)}`, () => {
  const servers: net.Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });
  /** Connections each listener of `answering` took, by its address. */
  const connectionsTo = new Map<string, number>();
  /** A listener of its own on 127.0.0.1 that answers the first bytes of every connection with `answer` and closes. */
  async function answering(answer: Buffer): Promise<string> {
    let address = '';
    const server = net.createServer((socket) => {
      connectionsTo.set(address, (connectionsTo.get(address) ?? 0) + 1);
      socket.on('error', () => {}).once('data', () => socket.end(answer));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    return address;
  }
  /** What a broker refusing the client's certificate answers a ClientHello with: a fatal handshake_failure alert. */
  const refusesTls = (): Promise<string> => answering(Buffer.from('15030300020228', 'hex'));

  /** A round trip through a bus on `env`, with its warnings kept. */
  async function roundTripLogged(env: Record<string, string>): Promise<{ received: string[]; warnings: string[] }> {
    const { logger, lines } = recordingLogger();
    const bus = createKafkaBus({ ...settingsFor(env).bus.kafka, logger });
    const topic = `it-brokers-${randomUUID().slice(0, 8)}`;
    const received: string[] = [];
    try {
      await bus.publish(topic, { key: 'k', value: '{"hello":"brokers"}' });
      const subscription = await bus.subscribe({ group: `${topic}-group`, topics: [topic] }, async (message) => void received.push(message.value));
      await waitFor(() => received.length > 0, `the message on ${topic}`);
      await subscription.stop();
      return { received, warnings: lines.filter((line) => line.startsWith('warn bus_kafka_broker_set_aside')) };
    } finally {
      await bus.close();
    }
  }

  it('goes on through the working broker when another listed one is a TLS listener, warning with its address', async () => {
    const bad = vars.KAFKA_SECURE_SSL_SERVERS;
    const env = { FLTS_BUS: 'kafka', KAFKA_BOOTSTRAP_SERVERS: `${bad},${vars.KAFKA_SECURE_PLAINTEXT_SERVERS}`, FLTS_BUS_RETRY_BACKOFF_MS: '10' };
    const { received, warnings } = await roundTripLogged(env);
    expect(received).toEqual(['{"hello":"brokers"}']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`"broker":"${bad}"`);
    expect(warnings[0]).toContain('answered with a TLS record');
  });

  it('goes on through the working broker when another listed one refuses the certificate, warning with its address', async () => {
    const bad = await refusesTls();
    const { received, warnings } = await roundTripLogged(listenerEnv('SSL', { KAFKA_BOOTSTRAP_SERVERS: `${bad},${vars.KAFKA_SECURE_SSL_SERVERS}` }));
    expect(received).toEqual(['{"hello":"brokers"}']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`"broker":"${bad}".*refused TLS \\(ERR_SSL_`));
  });

  it('lets a one-shot command reach the cluster through the working broker of the list, warning on stderr with the other one\'s address', async () => {
    const bad = vars.KAFKA_SECURE_SSL_SERVERS;
    const env = { KAFKA_BOOTSTRAP_SERVERS: `${bad},${vars.KAFKA_SECURE_PLAINTEXT_SERVERS}`, FLTS_KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT' };
    const home = await mkdtemp(path.join(os.tmpdir(), 'flts-kafka-brokers-'));
    try {
      const run = await runCli(['replay-offsets', '--group', 'it-brokers-group', '--topic', `it-brokers-missing-${randomUUID().slice(0, 8)}`, '--to-earliest', '--json', '--home', home], { env });
      // Asked of the cluster, not refused before: the topic does not exist.
      expect(run.json.error, run.stdout + run.stderr).toMatchObject({ code: 'FLTS_OFFSETS_TOPIC_NOT_FOUND' });
      // The command's logger hears the broker set aside, on stderr: stdout stays the --json result alone.
      const warnings = run.stderr.split('\n').filter((line) => line.includes('bus_kafka_broker_set_aside'));
      expect(warnings, run.stderr).toHaveLength(1);
      expect(warnings[0]).toContain(`"broker":"${bad}"`);
      expect(run.stdout).not.toContain('bus_kafka_broker_set_aside');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('still stops within seconds when every listed broker is wrong, naming each', async () => {
    const refusing = await refusesTls();
    // The plain listener is known as one once it answers a request without TLS; the other refuses the certificate.
    const error = await ensureTopicsError(listenerEnv('SSL', { KAFKA_BOOTSTRAP_SERVERS: `${refusing},${vars.KAFKA_SECURE_PLAINTEXT_SERVERS}` }));
    // Counted, not timed: kafkajs' retries (about 25 s) would each try the refusing address again.
    expect(connectionsTo.get(refusing)).toBeLessThanOrEqual(2);
    expect(error).toMatchObject({ code: 'FLTS_BUS_PROTOCOL_MISMATCH', kind: 'usage', retriable: false, details: { listener: 'plain-listener', broker: vars.KAFKA_SECURE_PLAINTEXT_SERVERS } });
    expect(error.message).toContain(`set aside: broker ${refusing} refused TLS (ERR_SSL_`);
  });
});
