import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageBus } from '../../src/core/bus/index.js';
import { createKafkaBus } from '../../src/core/bus/kafka-bus.js';
import { waitFor } from '../../src/core/bus/message-bus.contract.js';
import { resolveSettings, type Settings } from '../../src/core/config/settings.js';
import { startDaemon } from '../../src/core/daemon/start-daemon.js';
import { FltsError } from '../../src/core/errors.js';
import { createFsStore } from '../../src/core/storage/fs-store.js';
import { createS3Store } from '../../src/core/storage/s3-store.js';
import { runCli } from '../helpers/run-cli.js';
import { skipNote, useServers } from '../helpers/servers.js';

/**
 * A broker of its own (scripts/infra/infra.sh start kafka-secure, started once by the suite's setup): SASL_PLAINTEXT
 * and SASL_SSL listeners with SCRAM users, and an SSL listener that requires a client certificate. The shared broker
 * of the other tests stays PLAINTEXT.
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

  it('fails a one-shot command with exit code 2 and FLTS_BUS_AUTH_FAILED, never printing the password', async () => {
    const env = listenerEnv('SASL_PLAINTEXT', { FLTS_KAFKA_SASL_PASSWORD: 'wrong-password-42' });
    const run = await runCli(['replay-offsets', '--group', 'it-secure-group', '--topic', 'it-secure-topic', '--to-earliest', '--json', '--home', dir], { env });
    expect(run.exitCode).toBe(2);
    expect(run.json.error).toMatchObject({ code: 'FLTS_BUS_AUTH_FAILED', kind: 'usage' });
    expect(run.stdout + run.stderr).not.toContain('wrong-password-42');
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
